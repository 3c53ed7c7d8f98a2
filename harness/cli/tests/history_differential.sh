#!/bin/sh
# The history reader's fast path against its general parser (jansson) on
# histories ratchet writes: simulator runs of a few seeds, runs with
# mutants (violations, shrinking off), and a wire run against
# ratchet-imapd on loopback. test_model_history_differential reads each
# both ways, event by event, and wants the fast path to have read at least
# 99% of the lines (the rest: each new keyword's first line, headers).
#
#   history_differential.sh RATCHET IMAPD DIFFERENTIAL WORKDIR
#
# Exit 0 when the paths agree everywhere; 1 otherwise, or when a history
# could not be made (said on stderr).
set -u
ratchet=$1 imapd=$2 differential=$3 work=$4
fail() { echo "history_differential: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work" || fail "cannot make $work"

# Exit 0 (clean) or 1 (violations) are both fine here; a history is all
# that is wanted (a failing run's replay file lands in $work too).
run() {
  out=$1; shift
  "$ratchet" run --quiet --history "$work/$out" "$@" >"$work/$out.log" 2>&1
  rc=$?
  [ $rc -le 1 ] && [ -s "$work/$out" ] || fail "ratchet run $* gave $rc: $(tail -3 "$work/$out.log")"
}

for seed in 1 2 3 4; do
  run "sim$seed.jsonl" --seed $seed --ops 2000
done
for m in move-rename modseq-reset flags-last-writer copy-visible-early; do
  run "mutant-$m.jsonl" --seed 7 --ops 2000 --mutant $m --no-shrink
done

# The wire: ratchet-imapd on a free port, which it prints first.
"$imapd" --root "$work/mail" --port 0 >"$work/imapd.out" 2>"$work/imapd.err" &
pid=$!
port=
for i in $(seq 100); do
  port=$(sed -n 's/^ratchet-imapd: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/imapd.out")
  [ -n "$port" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  kill $pid 2>/dev/null
  wait $pid
  fail "ratchet-imapd did not start: $(cat "$work/imapd.err")"
fi
"$ratchet" run --quiet --seed 9 --ops 400 --target "imap://ratchet:ratchet@127.0.0.1:$port" \
  --history "$work/wire.jsonl" >"$work/wire.log" 2>&1
rc=$?
kill $pid
wait $pid
[ $rc -le 1 ] && [ -s "$work/wire.jsonl" ] || fail "the wire run gave $rc: $(tail -3 "$work/wire.log")"

exec "$differential" --fast 99 "$work"
