#!/bin/sh
# Runs every libFuzzer target in turn, each on a fresh copy of its
# committed corpus, sharing SECONDS between them (default 150: the same
# total whatever the number of targets, at least 10 s each); fails if any
# target finds a crash, printing the reproducer's path.
#
#   fuzz/smoke.sh [SECONDS]
#
# Builds the fuzz preset first (SKIP_BUILD=1 to use build-fuzz/ as it is).
# A target is every fuzz/*.c except the drivers, so a new target is picked
# up once fuzz/CMakeLists.txt builds it.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
total=${1:-150}
cd "$root" || exit 2
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake --preset fuzz >/dev/null || exit 2
  cmake --build --preset fuzz -j "$(nproc 2>/dev/null || echo 2)" >/dev/null || {
    echo "smoke: the fuzz build failed" >&2; exit 2; }
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ratchet-fuzz-smoke.XXXXXX")
failed=0 ran=0 targets=""
for src in fuzz/*.c; do
  t=$(basename "$src" .c)
  case "$t" in main_*) continue ;; esac
  if [ ! -x "build-fuzz/fuzz_$t" ]; then
    echo "smoke: $t: no build-fuzz/fuzz_$t (not in fuzz/CMakeLists.txt?), skipped" >&2
    continue
  fi
  targets="$targets $t"
done
n=$(echo $targets | wc -w)
[ "$n" -gt 0 ] || { echo "smoke: no target built" >&2; exit 2; }
secs=$((total / n))
[ $secs -ge 10 ] || secs=10
echo "smoke: $n targets, ${secs}s each" >&2
for t in $targets; do
  ran=$((ran + 1))
  if repro=$(RATCHET_FUZZ_WORK=$work fuzz/run.sh "$t" "$secs"); then
    :
  else
    failed=$((failed + 1))
    echo "smoke: $t FAILED; reproducer: ${repro:-none (see $work/$t/fuzz.log)}"
  fi
done
echo "smoke: work dir $work" >&2
echo "smoke: $((ran - failed)) passed, $failed failed"
[ $failed -eq 0 ] && [ $ran -gt 0 ]
