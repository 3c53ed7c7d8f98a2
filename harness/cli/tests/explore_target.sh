#!/bin/sh
# `ratchet explore --target` end to end against ratchet-imapd on loopback
# (also under the sanitizers, which the pytest runs of Dovecot do not
# use): the catalogue's every command order against the correct store is
# clean (exit 0); with the flags-last-writer mutant flags-add-vs-remove
# fails an order (exit 1) and the replay file's order fails again.
#
#   explore_target.sh RATCHET IMAPD SCENARIOS WORKDIR
#
# Exit 0 when all of that holds; 1 otherwise (said on stderr).
set -u
ratchet=$1 imapd=$2 scenarios=$3 work=$4
fail() { echo "explore_target: $*" >&2; [ -n "${pid:-}" ] && kill $pid 2>/dev/null; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work" || fail "cannot make $work"

# ratchet-imapd on a free port, which it prints first; $1: its options.
start() {
  "$imapd" --root "$work/mail-$1" --port 0 $2 >"$work/imapd-$1.out" 2>"$work/imapd-$1.err" &
  pid=$!
  port=
  for i in $(seq 100); do
    port=$(sed -n 's/^ratchet-imapd: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/imapd-$1.out")
    [ -n "$port" ] && return 0
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  fail "ratchet-imapd did not start: $(cat "$work/imapd-$1.err")"
}
stop() { kill $pid; wait $pid; pid=; }

start correct ""
"$ratchet" explore --quiet --target "imap://ratchet:ratchet@127.0.0.1:$port" "$scenarios" \
  >"$work/correct.log" 2>&1
rc=$?
stop
[ $rc -eq 0 ] || fail "the correct store gave $rc: $(tail -5 "$work/correct.log")"
# A replicated scenario ("replicas:") is not run against one server; it
# says so in one line. Every other one is covered.
replicated=$(grep -l '^replicas:' "$scenarios"/*.scn | wc -l)
[ "$(grep -c 'not run: it is replicated' "$work/correct.log")" -eq "$replicated" ] ||
  fail "a replicated scenario was not named as not run"
[ "$(grep -c 'every command order covered: none' "$work/correct.log")" -eq \
  "$(( $(ls "$scenarios"/*.scn | wc -l) - replicated ))" ] || fail "not every scenario was covered"

start mutant "--mutant flags-last-writer"
url="imap://ratchet:ratchet@127.0.0.1:$port"
"$ratchet" explore --quiet --target "$url" "$scenarios/flags-add-vs-remove.scn" \
  >"$work/mutant.log" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "the mutant gave $rc, not 1: $(tail -5 "$work/mutant.log")"
"$ratchet" replay ratchet-explore-flags-add-vs-remove.replay.json --target "$url" \
  >"$work/replay.log" 2>&1
rc=$?
stop
[ $rc -eq 1 ] || fail "the replay gave $rc, not 1: $(tail -5 "$work/replay.log")"
exit 0
