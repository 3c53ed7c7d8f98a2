# The README's two commands. Everything else is CMake presets.
#   make run    the main job (default campaign on the embedded reference store)
#   make test   every test: default build, then again under ASan+UBSan
#   make install [PREFIX=/usr/local] [DESTDIR=]   the programs, the scenario
#               catalogue and the man pages (README, "Installing")
#   make deb    build/ratchet_VERSION_ARCH.deb (cpack -G DEB)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST = /usr/bin/python3 -m pytest

.PHONY: run test deps deps-test build build-asan bench clean install deb
PREFIX ?= /usr/local

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

build-asan: deps
	@cmake --preset asan-ubsan >/dev/null
	@cmake --build --preset asan-ubsan -j $(JOBS)

run: build
	./build/ratchet run

bench: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@scripts/deps.sh servers
	scripts/bench.sh build-release --json

test: deps-test
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)
	ctest --preset default -j $(JOBS)
	$(PYTEST) -q tests scripts/test_tidy.py
	@cmake --preset asan-ubsan >/dev/null
	@cmake --build --preset asan-ubsan -j $(JOBS)
	ctest --preset asan-ubsan -j $(JOBS)
	@scripts/deps.sh libfuzzer
	fuzz/smoke.sh 150

install: build
	DESTDIR="$(DESTDIR)" cmake --install build --prefix "$(PREFIX)"

deb: build
	cd build && cpack -G DEB

clean:
	rm -rf build build-asan build-release build-fuzz build-afl

# make fuzz TARGET=ops SECONDS=60: libFuzzer (ASan+UBSan) on a copy of
# fuzz/corpus/TARGET for SECONDS; on a crash prints the reproducer's path
# and fails. Targets: the fuzz/*.c sources (see fuzz/README.md).
.PHONY: fuzz
fuzz:
	@scripts/deps.sh build fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS) --target fuzz_$(or $(TARGET),ops)
	@fuzz/run.sh $(or $(TARGET),ops) $(or $(SECONDS),60) >/dev/null
