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

# The same starts interleaved (bwrap, interlock, bwrap, interlock, ...), so load from other tenants
# of a shared machine hits both alike; p10/p25/median and the ratio to bwrap. Back-to-back runs
# (hyperfine) also hide one cost that a user pays: as root on a cgroup-v1 host, joining the
# sandbox's cgroup waits for an RCU grace period unless another start did so moments before.
echo "== sandbox start, interleaved with bwrap ($(id -un))"
python3 - "$PWD/$bin" "$ws" <<'PY'
import os, sys, time
interlock, ws = sys.argv[1], sys.argv[2]
cmds = [["/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "/bin/true"],
        [interlock, "sandbox", "--workspace", ws, "--", "/bin/true"]]
null = os.open(os.devnull, os.O_RDWR)
fa = [(os.POSIX_SPAWN_DUP2, null, fd) for fd in (0, 1, 2)]
times = [[], []]
for r in range(320):
    for i, c in enumerate(cmds):
        t0 = time.perf_counter_ns()
        _, st = os.waitpid(os.posix_spawn(c[0], c, os.environ, file_actions=fa), 0)
        if st != 0:
            sys.exit(f"{c} failed: {st}")
        if r >= 20:
            times[i].append((time.perf_counter_ns() - t0) / 1e6)
q = lambda v, p: sorted(v)[int(p * (len(v) - 1))]
for name, v in zip(["bwrap", "interlock sandbox"], times):
    print(f"{name:18} p10 {q(v, .1):6.2f}  p25 {q(v, .25):6.2f}  median {q(v, .5):6.2f} ms"
          f"  (x{q(v, .1) / q(times[0], .1):.2f} bwrap at p10)")
PY
