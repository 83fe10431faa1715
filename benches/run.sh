#!/usr/bin/env bash
# Benchmarks for BENCHMARKS.md: startup (`interlock --version`) wall time and
# peak memory, and warm kernel round trips. Needs hyperfine (apt install
# hyperfine) and GNU time (apt install time) for the memory figure.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin interlock >/dev/null
bin=target/release/interlock

echo "== interlock --version (wall time)"
hyperfine --warmup 20 --runs 300 -N "$bin --version"

echo "== interlock --version (peak RSS, KiB; median of 20)"
for _ in $(seq 20); do /usr/bin/time -f '%M' "$bin" --version 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 10p

echo "== warm kernel round trips"
cargo bench -p interlock-kernels --bench roundtrip

# Sandbox start, side by side in one hyperfine run: a plain process, the
# kernel's namespaces alone (util-linux unshare, no mounts/Landlock/seccomp),
# bubblewrap, and `interlock sandbox`. Needs bubblewrap (apt install
# bubblewrap). Run it as the user who will use interlock: as root on a
# cgroup-v1 host, joining the sandbox's cgroup adds an RCU grace period.
echo "== sandbox start: interlock sandbox -- /bin/true vs bwrap ($(id -un))"
ws=$(mktemp -d /var/tmp/interlock-bench-ws.XXXXXX)
trap 'rm -rf "$ws"' EXIT
hyperfine --warmup 20 --runs 300 -N \
  "/bin/true" \
  "unshare -Urmpfiun /bin/true" \
  "bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc /bin/true" \
  "$PWD/$bin sandbox --workspace $ws -- /bin/true"
