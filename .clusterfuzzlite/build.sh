#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build of ratchet's fuzz targets (fuzz/*.c).
# Honours $CC, $CFLAGS (sanitizer and coverage flags), $LIB_FUZZING_ENGINE
# (the engine: -fsanitize=fuzzer, or a library for AFL++/honggfuzz) and $OUT.
# Each target lands as $OUT/<name> with <name>.dict, <name>.options and
# <name>_seed_corpus.zip beside it.
src=${SRC:-$(cd "$(dirname "$0")/.." && pwd)/..}/ratchet
[ -d "$src" ] || src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
build=${WORK:-/tmp}/ratchet-build
# jansson is not on the runner image: ship it in $OUT/lib, found via $ORIGIN.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_C_FLAGS_RELEASE="" \
  -DCMAKE_EXE_LINKER_FLAGS="$CFLAGS" -DCMAKE_BUILD_RPATH='$ORIGIN/lib' \
  -DRATCHET_FUZZ_ENGINE="$LIB_FUZZING_ENGINE"
for c in fuzz/*.c; do
  t=$(basename "$c" .c)
  case "$t" in main_*) continue ;; esac
  # A source not yet listed in fuzz/CMakeLists.txt has no target: skip it.
  cmake --build "$build" -j"$(nproc)" --target "fuzz_$t" || { echo "skip $t"; continue; }
  cp "$build/fuzz_$t" "$OUT/$t"
  [ -f "fuzz/$t.dict" ] && cp "fuzz/$t.dict" "$OUT/"
  [ -f "fuzz/$t.options" ] && cp "fuzz/$t.options" "$OUT/"
  if [ -d "fuzz/corpus/$t" ]; then
    rm -f "$OUT/${t}_seed_corpus.zip"
    (cd "fuzz/corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
  fi
done
mkdir -p "$OUT/lib"
# OpenSSL (imapc's TLS) likewise: the runner's may be another version.
for name in libjansson libssl libcrypto; do
  for lib in $(ldconfig -p | sed -n "s/.*=> \(.*$name\.so\.[0-9]*\)\$/\1/p" | head -1); do
    cp -L "$lib" "$OUT/lib/"
  done
done
