#!/bin/sh
# Executions per second of every fuzz target, as `ratchet bench` gives them
# (harness/bench/bench_fuzz.c): fuzz.<t>.execs from the release build's
# corpus programs, fuzz.<t>.execs.asan from the libFuzzer build, .fast from
# the throughput build (preset fuzz-fast).
#   fuzz/bench.sh [ratchet bench options...]     e.g. --json, --quick
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
cd "$root"
echo "bench: building build-release (-O3) and build-fuzz (libFuzzer)" >&2
cmake --preset release >/dev/null && cmake --build --preset release -j "$jobs" >/dev/null
cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j "$jobs" >/dev/null
cmake --preset fuzz-fast >/dev/null && cmake --build --preset fuzz-fast -j "$jobs" >/dev/null
RATCHET_BENCH_FUZZ_BUILD=$root/build-fuzz RATCHET_BENCH_FUZZ_FAST_BUILD=$root/build-fuzz-fast \
  exec build-release/ratchet bench --only fuzz "$@"
