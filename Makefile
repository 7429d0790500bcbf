# cosyvoice-ort - the two commands a newcomer needs:
#   make demo   set up everything, build, prepare a model bundle, synthesize speech to a WAV
#   make test   set up everything, build, run every test tier, print the summaries
# Both are idempotent and quick when nothing is missing. `make help` lists the rest.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS  ?= 2
FUZZ_TARGETS ?=
BUILD_TSAN ?= build-tsan
BUILD_ARM64 ?= build-arm64
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
export ONNXRUNTIME_ROOT
PY         := /usr/bin/python3
# Debian's torch uses reference BLAS (~4 GFLOP/s) unless OpenBLAS comes first.
PYENV      := PYTHONPATH=$(CURDIR)/python LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH} PYTHONDONTWRITEBYTECODE=1
CLI        := $(BUILD)/bin/cosyvoice
TINY       := models/tiny
MODEL      ?=
PY_SOURCES := $(shell find python/cosyvoice_export -name '*.py' 2>/dev/null)

.PHONY: help deps build build-only test test-cpp test-python test-sanitize build-asan test-asan \
        build-cli-only test-tsan build-tsan test-tsan-only fuzz build-fuzz fuzz-only tiny-model tiny-model-only demo serve \
        format format-check clean cross-arm64 deps-arm64 build-arm64 test-arm64 test-arm64-only \
        test-avx2 test-avx2-only

help:
	@echo "make demo            synthesize a sentence in a cloned voice (tiny random model unless MODEL=bundle dir)"
	@echo "make test            build and run every test tier (unit, golden, e2e, python)"
	@echo "                     COSYVOICE_TEST_THREADS=N: every tier with N threads (docs/parity.md)"
	@echo "make test-sanitize   unit and golden tiers under ASan+UBSan (CI runs this too)"
	@echo "make test-tsan       concurrent sessions on one model under ThreadSanitizer (CI runs this too)"
	@echo "make fuzz            libFuzzer targets, FUZZ_SECONDS (60) each, FUZZ_JOBS (2) at a time (docs/fuzzing.md)"
	@echo "make deps            install/fetch dependencies only   make build   dependencies + build"
	@echo "make tiny-model      random-weight checkpoint -> bundle -> goldens under $(TINY)/"
	@echo "make serve           HTTP API + web page on http://127.0.0.1:7860/ (tiny model unless MODEL=bundle dir)"
	@echo "make cross-arm64     cross-build library, CLI and C++ tests for Linux aarch64 into $(BUILD_ARM64)/"
	@echo "make test-arm64      unit + golden tiers and a tiny-model tts under qemu, compared with x86-64 (docs/platforms.md)"
	@echo "make test-avx2       unit + golden tiers and a tiny-model tts on an emulated AVX2-only CPU (docs/platforms.md)"
	@echo "make format          clang-format the C++ sources      make clean  remove build trees"
	@echo "scripts/check-fresh-machine.sh [REF]   make demo + make test in a new Debian 12 root (root only)"

# Every public target is a sequence of phases run in order by scripts/phases.sh, which prints the
# time of each. No decision below depends on what is installed when make parses this file: each
# phase checks what it needs when it runs and fails naming what is missing (never "skipped").
PHASES := scripts/phases.sh
SUBMAKE := $(MAKE) --no-print-directory
MODEL_DIR = $(if $(MODEL),$(MODEL),$(TINY)/bundle)

# ---- dependencies: Debian packages, ONNX Runtime, npm assets (all idempotent) ------------------
deps:
	@scripts/setup/install-debian-deps.sh
	@if [ -n "$${ONNXRUNTIME_ROOT:-}" ]; then echo "[onnxruntime] using ONNXRUNTIME_ROOT=$$ONNXRUNTIME_ROOT"; \
	 else scripts/setup/fetch-onnxruntime.sh third_party/onnxruntime; fi
	@scripts/setup/fetch-npm-assets.sh third_party

# ---- build ---------------------------------------------------------------------------------------
# ninja-build is one of the Debian packages `deps` installs; configuring happens after `deps`.
# The rules' target is build.ninja, which CMake writes only when configuring succeeded: after a
# failed configure (a missing library) the next make configures again instead of building nothing.
$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOSYVOICE_WERROR=ON $(CMAKE_ARGS)

build:
	@$(PHASES) build dependencies "$(SUBMAKE) deps" build "$(SUBMAKE) build-only"
build-only: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
build-cli-only: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target cosyvoice_cli

# ---- the tiny random-weight model in the released layout, its bundle and its goldens -----------
# Each step reruns when its inputs changed. check-python names any Python module that is missing.
$(TINY)/checkpoint/.done: $(PY_SOURCES)
	@scripts/setup/check-python.sh
	@echo "[tiny] writing a random-weight checkpoint in the released layout"
	rm -rf $(TINY)/checkpoint && $(PYENV) $(PY) -m cosyvoice_export tiny --out $(TINY)/checkpoint
	@touch $@
$(TINY)/bundle/.done: $(TINY)/checkpoint/.done
	@echo "[tiny] exporting the ONNX bundle"
	rm -rf $(TINY)/bundle && $(PYENV) $(PY) -m cosyvoice_export export --checkpoint $(TINY)/checkpoint --out $(TINY)/bundle --name cosyvoice3-tiny-random
	@touch $@
# The goldens are the reference's outputs: they are dumped again when its sources change (~45 s), so
# a checkout never tests the engine against goldens of an older reference.
$(TINY)/goldens/.done: $(TINY)/bundle/.done $(wildcard python/cosyvoice_export/*.py)
	@echo "[tiny] dumping goldens from the PyTorch reference"
	rm -rf $(TINY)/goldens && $(PYENV) $(PY) -m cosyvoice_export goldens --checkpoint $(TINY)/checkpoint --bundle $(TINY)/bundle --out $(TINY)/goldens
	@touch $@

# The custom operator library (WinogradConv1d, Snake, PanelMatMul) that the vocoder's fp32-winograd and
# the LLM's fp32-panel variants are checked with.
# Built here only when missing (`make build` keeps it current); order-only below, so relinking it does
# not remake the quantized bundle (the variant's graph does not depend on it).
OPS_LIBRARY := $(BUILD)/lib/libcosyvoice_ops.so
$(OPS_LIBRARY): | $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target cosyvoice_ops

$(TINY)/bundle-q/.done: $(TINY)/bundle/.done | $(OPS_LIBRARY)
	@echo "[tiny] the bundle with variants (LLM fp32-panel, fused fp32, int8, int4; flow fp32-panel; vocoder fp32-winograd; docs/bundle.md §7)"
	rm -rf $(TINY)/bundle-q && COSYVOICE_OPS_LIBRARY=$(abspath $(OPS_LIBRARY)) $(PYENV) $(PY) -m cosyvoice_export quantize \
	  $(TINY)/bundle --out $(TINY)/bundle-q --llm panel,fp32,int8,int4 --flow panel --hift winograd --quiet
	@touch $@

$(TINY)/goldens-q/.done: $(TINY)/bundle-q/.done $(TINY)/goldens/.done
	@echo "[tiny] reference logits of the int8/int4 LLM variants (docs/parity.md, quantized LLM variants)"
	$(PYENV) $(PY) -m cosyvoice_export variant-goldens --bundle $(TINY)/bundle-q --goldens $(TINY)/goldens --out $(TINY)/goldens-q --quiet
	@touch $@

tiny-model:
	@$(PHASES) tiny-model dependencies "$(SUBMAKE) deps" model "$(SUBMAKE) tiny-model-only"
tiny-model-only: $(TINY)/goldens/.done $(TINY)/goldens-q/.done
	@echo "[tiny] checkpoint, bundle, goldens and the LLM variants ready under $(TINY)/"

# ---- tests ---------------------------------------------------------------------------------------
# COSYVOICE_TEST_THREADS=N runs every tier with N threads: ONNX Runtime intra-op threads in the C++
# tests and the Python fixtures, OpenBLAS/OpenMP and torch threads in Python (docs/parity.md).
THREAD_ENV = $(if $(COSYVOICE_TEST_THREADS),OPENBLAS_NUM_THREADS=$(COSYVOICE_TEST_THREADS) OMP_NUM_THREADS=$(COSYVOICE_TEST_THREADS))
test:
	@$(PHASES) test dependencies "$(SUBMAKE) deps" build "$(SUBMAKE) build-only" \
	  model "$(SUBMAKE) tiny-model-only" tests "$(SUBMAKE) -k test-cpp test-python"

test-cpp:
	@echo "== C++ tests (ctest: unit, golden, e2e; COSYVOICE_TEST_THREADS=$${COSYVOICE_TEST_THREADS:-default}) =="
	cd $(BUILD) && env $(THREAD_ENV) ctest --output-on-failure -j $(JOBS) 2>&1 | tee ctest.log | grep -Ev '^ *Start |^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed'
	@echo "== summary =="; grep -E 'tests passed|^(unit|golden|e2e) +=' $(BUILD)/ctest.log

test-python:
	@echo "== Python tests (pytest, /usr/bin/python3; COSYVOICE_TEST_THREADS=$${COSYVOICE_TEST_THREADS:-default}) =="
	cd python && $(PYENV) $(THREAD_ENV) COSYVOICE_TINY=$(CURDIR)/$(TINY) COSYVOICE_LIBRARY=$(CURDIR)/$(BUILD)/lib/libcosyvoice.so \
	  COSYVOICE_OPS_LIBRARY=$(abspath $(OPS_LIBRARY)) COSYVOICE_CLI=$(CURDIR)/$(CLI) $(PY) -m pytest -q -p no:cacheprovider tests 2>&1 | tee ../$(BUILD)/pytest.log | tail -n 25

test-sanitize:
	@$(PHASES) test-sanitize dependencies "$(SUBMAKE) deps" model "$(SUBMAKE) tiny-model-only" \
	  build "$(SUBMAKE) build-asan" tests "$(SUBMAKE) test-asan"
build-asan:
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCOSYVOICE_WERROR=ON \
	  -DCOSYVOICE_SANITIZE="address;undefined" -DCOSYVOICE_BUILD_BENCH=OFF $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD_ASAN) -j $(JOBS)
test-asan:
	@echo "== unit and golden tiers under ASan+UBSan =="
	cd $(BUILD_ASAN) && ctest -L 'unit|golden' --output-on-failure -j $(JOBS) 2>&1 | tee ctest-asan.log | grep -E 'tests passed|Failed|ERROR'

# One Model shared by concurrent Sessions (tests/golden/test_session.cc, in one process; and through
# the C API, tests/capi/test_c_api.c: concurrent sessions, cancel from another thread) and the
# tokenizer's concurrent encoding, under ThreadSanitizer. Only those test programs are built (-g1: line
# tables are enough for the reports). COSYVOICE_TEST_THREADS=1 and COSYVOICE_TEST_QUICK_EXIT=1: see
# tests/tsan.supp (ONNX Runtime is uninstrumented).
TSAN_TESTS := cosyvoice_session_tests cosyvoice_c_api_test cosyvoice_tokenizer_tests cosyvoice_tokenizer_assets \
  cosyvoice_server_tests cosyvoice_token_channel_tests
test-tsan:
	@$(PHASES) test-tsan dependencies "$(SUBMAKE) deps" model "$(SUBMAKE) tiny-model-only" \
	  build "$(SUBMAKE) build-tsan" tests "$(SUBMAKE) test-tsan-only"
build-tsan:
	cmake -S . -B $(BUILD_TSAN) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOSYVOICE_WERROR=ON \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCOSYVOICE_SANITIZE=thread \
	  -DCOSYVOICE_BUILD_BENCH=OFF -DCOSYVOICE_BUILD_EXAMPLES=OFF $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target $(TSAN_TESTS)
test-tsan-only:
	@echo "== concurrent sessions (C++ and C API), tokenizer and the server's text sessions under ThreadSanitizer =="
	cd $(BUILD_TSAN) && COSYVOICE_TEST_QUICK_EXIT=1 COSYVOICE_TEST_THREADS=1 TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
	  ctest -R '^(tsan_|TokenizerCorpus\.Concurrent|TextSessions?\.)' --output-on-failure -j 1 2>&1 | tee ctest-tsan.log | grep -E 'tests passed|Failed|ThreadSanitizer|Total Test time'

# ---- fuzzing: a separate clang build of the input parsers with libFuzzer + ASan + UBSan ---------
fuzz:
	@$(PHASES) fuzz dependencies "$(SUBMAKE) deps" build "$(SUBMAKE) build-fuzz" run "$(SUBMAKE) fuzz-only"
build-fuzz:
	@command -v clang++-14 >/dev/null || { echo "make fuzz needs clang++-14 (scripts/setup/install-debian-deps.sh)"; exit 1; }
	cmake -S . -B $(BUILD_FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DCOSYVOICE_BUILD_FUZZERS=ON -DCOSYVOICE_BUILD_TESTS=OFF -DCOSYVOICE_BUILD_CLI=OFF -DCOSYVOICE_BUILD_BENCH=OFF \
	  -DCOSYVOICE_BUILD_EXAMPLES=OFF $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_targets
fuzz-only:
	@scripts/fuzz.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

# ---- Linux aarch64: cross build with Debian's cross compiler, tests under qemu-user (docs/platforms.md)
# ONNX Runtime: the arm64 library of the same npm onnxruntime-node package as the x86-64 build.
ORT_ARM64 := third_party/onnxruntime-arm64
cross-arm64:
	@$(PHASES) cross-arm64 dependencies "$(SUBMAKE) deps-arm64" build "$(SUBMAKE) build-arm64"
deps-arm64:
	@scripts/setup/install-arm64-deps.sh
	@ORT_ARCH=arm64 scripts/setup/fetch-onnxruntime.sh $(ORT_ARM64)
	@scripts/setup/fetch-npm-assets.sh third_party
$(BUILD_ARM64)/build.ninja:
	cmake -S . -B $(BUILD_ARM64) -G Ninja -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/toolchains/aarch64-linux-gnu.cmake \
	  -DONNXRUNTIME_ROOT=$(CURDIR)/$(ORT_ARM64) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOSYVOICE_WERROR=ON \
	  -DCOSYVOICE_BUILD_BENCH=OFF -DCOSYVOICE_BUILD_EXAMPLES=OFF $(CMAKE_ARGS)
build-arm64: $(BUILD_ARM64)/build.ninja
	cmake --build $(BUILD_ARM64) -j $(JOBS)
	@echo "[cross-arm64] $(BUILD_ARM64)/bin/cosyvoice: $$(aarch64-linux-gnu-readelf -h $(BUILD_ARM64)/bin/cosyvoice | sed -n 's/^ *Machine: *//p')"

# The x86-64 CLI is needed too (not the whole tree: the CLI is ~60 % of a full build's compile time
# from nothing): its `tts` output is what the aarch64 one is compared with.
test-arm64:
	@$(PHASES) test-arm64 dependencies "$(SUBMAKE) deps deps-arm64" build "$(SUBMAKE) build-cli-only" \
	  model "$(SUBMAKE) tiny-model-only" cross-build "$(SUBMAKE) build-arm64" tests "$(SUBMAKE) test-arm64-only"
test-arm64-only:
	@scripts/test-arm64.sh $(BUILD_ARM64) $(BUILD) $(TINY)

# ---- the x86-64 build on an emulated CPU without AVX-512 (qemu-user's Haswell; docs/platforms.md §2.1)
test-avx2:
	@$(PHASES) test-avx2 dependencies "EXTRA_DEBIAN_PKGS=qemu-user-static $(SUBMAKE) deps" build "$(SUBMAKE) build-only" \
	  model "$(SUBMAKE) tiny-model-only" tests "$(SUBMAKE) test-avx2-only"
test-avx2-only:
	@$(PYENV) COSYVOICE_TINY=$(CURDIR)/$(TINY) COSYVOICE_OPS_LIBRARY=$(abspath $(OPS_LIBRARY)) \
	  scripts/test-avx2.sh $(BUILD) $(TINY)

# ---- demo ----------------------------------------------------------------------------------------
demo:
	@$(PHASES) demo dependencies "$(SUBMAKE) deps" build "$(SUBMAKE) build-cli-only" \
	  model "$(if $(MODEL),echo '[demo] using the bundle in $(MODEL)',$(SUBMAKE) tiny-model-only)" \
	  synthesis "scripts/demo.sh '$(CLI)' '$(MODEL_DIR)' '$(if $(MODEL),real,tiny)'"

# ---- the HTTP server (docs/server.md) ---------------------------------------------------------------
serve:
	@$(PHASES) serve dependencies "$(SUBMAKE) deps" build "$(SUBMAKE) build-only" \
	  model "$(if $(MODEL),echo '[serve] using the bundle in $(MODEL)',$(SUBMAKE) tiny-model-only)"
	$(CLI) serve -m "$(MODEL_DIR)" --data-dir $(BUILD)/serve-data $(SERVE_ARGS)

# ---- housekeeping --------------------------------------------------------------------------------
CXX_FILES = $(shell find src include tests bench examples -name '*.cc' -o -name '*.c' -o -name '*.h' 2>/dev/null)
format:
	clang-format -i $(CXX_FILES)
format-check:
	clang-format --dry-run --Werror $(CXX_FILES)
clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_FUZZ) $(BUILD_ARM64)
