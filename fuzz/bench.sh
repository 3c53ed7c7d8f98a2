#!/bin/sh
# Executions per second of every fuzz target, as one JSON object:
#   {"results": [{"name": "fuzz.<target>.execs", "unit": "exec/s", "value": N}, ...]}
#
#   fuzz/bench.sh [SECONDS]     (default 10 per figure; run nothing else meanwhile)
#
# fuzz.<target>.execs       the replay driver of an optimized build
#                           (build-fuzzrep: -O2 -g, no sanitizers) running the
#                           committed corpus round-robin for SECONDS
# fuzz.<target>.execs.asan  the libFuzzer binary (build-fuzz: ASan + UBSan +
#                           coverage) fuzzing a fresh copy of the corpus for
#                           SECONDS with its .options: what a fuzzing run gets
# Progress goes to stderr.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
jobs=$(nproc 2>/dev/null || echo 2)
rep=${RATCHET_FUZZ_REPLAY_BUILD:-$root/build-fuzzrep}
fz=${RATCHET_FUZZ_BUILD:-$root/build-fuzz}
cd "$root" || exit 2

targets=""
for src in fuzz/*.c; do
  t=$(basename "$src" .c)
  case "$t" in driver_*) ;; *) targets="$targets $t" ;; esac
done

echo "bench: building $rep (-O2) and $fz (libFuzzer)" >&2
cmake -S "$root" -B "$rep" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g" >/dev/null || exit 2
for t in $targets; do
  # A source not yet in fuzz/CMakeLists.txt has no target: skipped below.
  cmake --build "$rep" -j "$jobs" --target "fuzz_${t}_replay" >/dev/null 2>&1 ||
    echo "bench: $t: no fuzz_${t}_replay target, skipped" >&2
done
cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j "$jobs" >/dev/null || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/ratchet-fuzz-bench.XXXXXX")
results=""
add() {
  [ -n "$3" ] || return 0
  results="$results${results:+, }{\"name\": \"$1\", \"unit\": \"exec/s\", \"value\": $3}"
  echo "bench: $1 = $3 exec/s" >&2
}
for t in $targets; do
  [ -x "$rep/fuzz_${t}_replay" ] || continue
  v=$("$rep/fuzz_${t}_replay" --bench "$secs" "fuzz/corpus/$t" 2>/dev/null |
      sed -n 's/.*"exec_per_sec": \([0-9.]*\).*/\1/p')
  add "fuzz.$t.execs" plain "$v"
done
for t in $targets; do
  [ -x "$fz/fuzz_$t" ] || continue
  RATCHET_FUZZ_BUILD=$fz RATCHET_FUZZ_WORK=$work "$root/fuzz/run.sh" "$t" "$secs" >/dev/null 2>&1
  v=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t/fuzz.log" | tail -1)
  add "fuzz.$t.execs.asan" asan "$v"
done
rm -rf "$work"
echo "{\"results\": [$results]}"
