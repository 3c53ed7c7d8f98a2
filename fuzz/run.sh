#!/bin/sh
# Runs one libFuzzer target on a copy of its committed seed corpus.
#
#   fuzz/run.sh TARGET [SECONDS] [libFuzzer flags...]
#
# The binary comes from build-fuzz/ (cmake --preset fuzz; override with
# RATCHET_FUZZ_BUILD=dir). The working corpus and any crash land in
# build-fuzz/fuzz-work/TARGET/ (RATCHET_FUZZ_WORK=dir to move it), so the
# committed corpus is never touched: fuzz/minimize.sh folds new inputs back.
# Flags from fuzz/TARGET.options (dict, max_len) are passed on.
# Exit status: 0 clean, 1 the fuzzer found a crash (the reproducer's path is
# printed), 2 set-up error.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: fuzz/run.sh TARGET [SECONDS] [libFuzzer flags...]" >&2; exit 2; }
t=$1
shift
secs=60
if [ $# -ge 1 ]; then
  secs=$1
  shift
fi
build=${RATCHET_FUZZ_BUILD:-$root/build-fuzz}
bin=$build/fuzz_$t
if [ ! -x "$bin" ]; then
  echo "fuzz: $bin is missing: cmake --preset fuzz && cmake --build --preset fuzz" >&2
  exit 2
fi
work=${RATCHET_FUZZ_WORK:-$build/fuzz-work}/$t
mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "$root/fuzz/corpus/$t" ]; then
  cp -n "$root/fuzz/corpus/$t"/* "$work/corpus/" 2>/dev/null || true
fi

# [libfuzzer] key = value lines of the options file become -key=value.

opts=""
if [ -f "$root/fuzz/$t.options" ]; then
  while IFS= read -r line; do
    case "$line" in
      \[*|\#*|'') continue ;;
    esac
    key=$(printf '%s' "$line" | sed 's/[[:space:]]*=.*//')
    val=$(printf '%s' "$line" | sed 's/^[^=]*=[[:space:]]*//')
    [ "$key" = dict ] && val=$root/fuzz/$val
    opts="$opts -$key=$val"
  done < "$root/fuzz/$t.options"
fi

log=$work/fuzz.log
echo "fuzz: $t for ${secs}s (corpus $work/corpus, log $log)" >&2
# shellcheck disable=SC2086
"$bin" -max_total_time="$secs" -timeout=30 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" $opts "$@" "$work/corpus" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
if [ $rc -eq 0 ]; then
  echo "fuzz: $t clean: ${execs:-?} execs, ${rate:-?} exec/s" >&2
  exit 0
fi
repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
why=$(grep -m1 -E '^ratchet: |^==[0-9]+==ERROR|runtime error:|^SUMMARY:' "$log" || true)
echo "fuzz: $t FAILED after ${execs:-?} execs: ${why:-exit $rc (see $log)}" >&2
if [ -n "$repro" ]; then
  echo "fuzz: reproducer: $repro" >&2
  echo "fuzz: re-run it:  $bin $repro   (or build/fuzz_${t}_corpus $repro)" >&2
  [ "$t" = ops ] && echo "fuzz: as a replay file: RATCHET_FUZZ_EXPORT=case.replay $build/fuzz_ops_corpus $repro; ratchet replay case.replay (with the same RATCHET_FUZZ_MUTANT)" >&2
fi
echo "$repro"
exit 1
