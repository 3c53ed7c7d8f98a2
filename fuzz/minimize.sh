#!/bin/sh
# Corpus minimization with libFuzzer's -merge=1: keeps the smallest set of
# inputs that covers everything the committed corpus and the working corpus
# of fuzz/run.sh (plus any DIR given) cover.
#
#   fuzz/minimize.sh TARGET [--write] [DIR...]
#
# The result goes to build-fuzz/fuzz-work/TARGET/minimized/; with --write it
# replaces fuzz/corpus/TARGET/ (then commit it, after checking that
# `ctest -R fuzz_corpus_TARGET` still passes: the corpus test runs it).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: fuzz/minimize.sh TARGET [--write] [DIR...]" >&2; exit 2; }
t=$1
shift
write=0
if [ "${1:-}" = --write ]; then
  write=1
  shift
fi
build=${RATCHET_FUZZ_BUILD:-$root/build-fuzz}
bin=$build/fuzz_$t
[ -x "$bin" ] || { echo "minimize: $bin missing: cmake --preset fuzz && cmake --build --preset fuzz" >&2; exit 2; }
work=${RATCHET_FUZZ_WORK:-$build/fuzz-work}/$t
out=$work/minimized
rm -rf "$out"
mkdir -p "$out" "$work/corpus"
maxlen=$(sed -n 's/^max_len *= *//p' "$root/fuzz/$t.options" 2>/dev/null | head -1)
before=$(cat "$root/fuzz/corpus/$t"/* "$work/corpus"/* "$@" 2>/dev/null | wc -c)
"$bin" -merge=1 ${maxlen:+-max_len=$maxlen} -timeout=30 "$out" \
  "$root/fuzz/corpus/$t" "$work/corpus" "$@" >"$work/merge.log" 2>&1 || {
  echo "minimize: merge failed, see $work/merge.log" >&2; exit 1; }
n=$(ls "$out" | wc -l)
echo "minimize: $t: $n inputs, $(cat "$out"/* 2>/dev/null | wc -c) bytes (from $before bytes) in $out"
if [ $write = 1 ]; then
  rm -f "$root/fuzz/corpus/$t"/*
  cp "$out"/* "$root/fuzz/corpus/$t/"
  echo "minimize: replaced fuzz/corpus/$t/"
fi
