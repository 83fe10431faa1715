# interlock shell driver (run with `bash --noprofile --norc -c`).
# Protocol (crates/kernels/src/session.rs): NUL-terminated records arrive on fd 3 — the
# session key first, then per run "A<id>", then "C<code>" once the probe was answered
# ("I" on interrupt is skipped: SIGINT does the work). Replies go to fd 4, a socket:
# "\nA <id> <key>\n" for the probe and "\nR <id> <status> <exit code> <key>\n" after the
# block. SIGINT (timeout / Ctrl-C) kills the foreground command; the trap keeps the
# shell alive.
#
# No variable names the key or the channel while a block runs: the key sits in a private
# pipe (fds 6 and 7) and is read into a variable only during the driver's own steps. The
# block runs with fds 3, 4, 6 and 7 closed; bash keeps its saved copies close-on-exec, so
# nothing the block starts inherits them.
unset BASH_EXECUTION_STRING # it holds this script
exec 6< <(:)
exec 7>/proc/self/fd/6
IFS= read -r -d '' -u 3 __interlock_k || exit 0
printf '%s\n' "$__interlock_k" >&7
unset __interlock_k
trap '__interlock_intr=1' INT
__interlock_x=
while :; do
  # Before touching the key, undo what a block may have set up to watch the driver: in
  # posix mode special builtins (unset, set, trap) win over functions, so functions
  # named after the builtins used here go first; then xtrace, DEBUG and ERR traps.
  POSIXLY_CORRECT=1
  unset -f enable unset set trap shopt read printf eval exit builtin command
  enable unset set trap shopt read printf eval exit builtin command
  set +o posix
  trap - DEBUG ERR
  shopt -u extdebug
  case $- in *[xv]*) set +xv ;; esac
  IFS= read -r -d '' -u 3 __interlock_req
  __interlock_st=$?
  if [ "$__interlock_st" -gt 128 ]; then continue; fi # interrupted while idle
  if [ "$__interlock_st" -ne 0 ]; then exit 0; fi     # EOF: the parent went away
  case $__interlock_req in
  A*)
    IFS=' ' read -r -u 6 __interlock_k
    printf '\nA %s %s\n' "${__interlock_req#A}" "$__interlock_k" >&4
    printf '%s %s\n' "$__interlock_k" "${__interlock_req#A}" >&7
    unset __interlock_k __interlock_req
    continue
    ;;
  C*) ;;
  *) continue ;;
  esac
  __interlock_intr=
  if [ -n "$__interlock_x" ]; then set "-$__interlock_x"; fi
  { eval "${__interlock_req#C}"; } 3<&- 4>&- 6<&- 7>&-
  __interlock_rc=$?
  # Remember the block's xtrace/verbose settings for the next block.
  __interlock_x=${-//[!xv]/}
  POSIXLY_CORRECT=1
  unset -f enable unset set trap shopt read printf eval exit builtin command
  enable unset set trap shopt read printf eval exit builtin command
  set +o posix
  trap - DEBUG ERR
  shopt -u extdebug
  case $- in *[xv]*) set +xv ;; esac
  __interlock_status=done
  if [ -n "$__interlock_intr" ]; then __interlock_status=interrupted; fi
  IFS=' ' read -r -u 6 __interlock_k __interlock_id
  printf '\nR %s %s %d %s\n' "$__interlock_id" "$__interlock_status" "$__interlock_rc" "$__interlock_k" >&4
  printf '%s\n' "$__interlock_k" >&7
  unset __interlock_k __interlock_id __interlock_req
done
