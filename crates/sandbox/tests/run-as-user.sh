#!/usr/bin/env bash
# Run the sandbox attack suites as an unprivileged user (CI runs them as root too): the
# interlock-sandbox tests (helper level) and crates/cli/tests/sandbox.rs (the `interlock` binary:
# chat kernels and `interlock sandbox`).
#
# Usage (as root, from the workspace root): crates/sandbox/tests/run-as-user.sh [USER]
# Builds the tests, copies the test executables, the helper and the interlock binary to a
# world-readable temp dir, creates the user if missing, and runs every test executable as that user.
# Honors CARGO_TARGET_DIR.
set -euo pipefail
user="${1:-${SANDBOX_TEST_USER:-sbtest}}"
[ "$(id -u)" = 0 ] || { echo "run-as-user.sh must run as root (it switches to $user)" >&2; exit 2; }
id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"

# One workspace-wide --no-run reuses what `cargo test --workspace` built (a per-package build would
# resolve features differently and recompile). Keep the test executables of crates/sandbox and
# crates/cli/tests/sandbox.rs.
mapfile -t exes < <(cargo test --workspace --no-run --message-format=json 2>/dev/null \
  | grep '"profile":{[^}]*"test":true' \
  | grep -E '"src_path":"[^"]*(/crates/sandbox/|/crates/cli/tests/(sandbox|home_and_state|git_tripwire)\.rs)' \
  | grep -o '"executable":"[^"]*"' | cut -d'"' -f4)
target="$(cargo metadata --format-version 1 --no-deps 2>/dev/null | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)"
helper="$target/debug/interlock-sandbox-exec"
[ -x "$helper" ] || { echo "helper not built: $helper" >&2; exit 2; }
interlock="$target/debug/interlock"
[ -x "$interlock" ] || { echo "interlock not built: $interlock" >&2; exit 2; }
[ "${#exes[@]}" -gt 0 ] || { echo "no test executables found" >&2; exit 2; }

dir="$(mktemp -d /var/tmp/interlock-sandbox-tests.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
cp "$helper" "$interlock" "${exes[@]}" "$dir/"
chmod 755 "$dir" "$dir"/*
mkdir -p "$dir/tmp" && chown "$user" "$dir/tmp"

status=0
for exe in "${exes[@]}"; do
  name="$(basename "$exe")"
  echo "== $name as $user"
  su -s /bin/bash "$user" -c "cd '$dir' && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=\$HOME \
    INTERLOCK_SANDBOX_TEST_HELPER='$dir/interlock-sandbox-exec' INTERLOCK_SANDBOX_TEST_TMP='$dir/tmp' \
    INTERLOCK_TEST_BIN='$dir/interlock' \
    './$name' --test-threads=2" || status=1
done
exit $status
