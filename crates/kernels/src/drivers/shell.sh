# interlock shell driver (run with `bash --noprofile --norc -c`).
# Protocol: requests arrive on fd 3 as "<nonce>\n<code>\0"; after a block finishes the
# reply "\n<nonce> <status> <exit code>\n" goes to fd 4. The block runs with fds 3 and 4
# closed (`3<&- 4>&-`), so neither it nor anything it starts can touch the channel.
# SIGINT (timeout / Ctrl-C) kills the foreground command; the trap keeps the shell alive.
trap '__interlock_intr=1' INT
while :; do
  IFS= read -r -d '' __interlock_req <&3
  __interlock_st=$?
  if [ "$__interlock_st" -gt 128 ]; then continue; fi # interrupted while idle
  if [ "$__interlock_st" -ne 0 ]; then exit 0; fi     # EOF: the parent went away
  __interlock_nonce=${__interlock_req%%$'\n'*}
  __interlock_intr=
  { eval "${__interlock_req#*$'\n'}"; } 3<&- 4>&-
  __interlock_rc=$?
  __interlock_status=done
  if [ -n "$__interlock_intr" ]; then __interlock_status=interrupted; fi
  printf '\n%s %s %d\n' "$__interlock_nonce" "$__interlock_status" "$__interlock_rc" >&4
done
