# cosyvoice-ort - the two commands a newcomer needs:
#   make demo   set up everything, build, prepare a model bundle, synthesize speech to a WAV
#   make test   set up everything, build, run every test tier, print the summaries
# Both are idempotent and quick when nothing is missing. `make help` lists the rest.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
export ONNXRUNTIME_ROOT
PY         := /usr/bin/python3
# Debian's torch uses reference BLAS (~4 GFLOP/s) unless OpenBLAS comes first.
PYENV      := PYTHONPATH=$(CURDIR)/python LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH} PYTHONDONTWRITEBYTECODE=1
CLI        := $(BUILD)/bin/cosyvoice
TINY       := models/tiny
MODEL      ?=
GENERATOR  := $(if $(shell command -v ninja 2>/dev/null),-G Ninja,)
PY_SOURCES := $(shell find python/cosyvoice_export -name '*.py' 2>/dev/null)

.PHONY: serve help deps build test test-cpp test-python test-sanitize tiny-model demo format format-check clean

help:
	@echo "make demo            synthesize a sentence in a cloned voice (tiny random model unless MODEL=bundle dir)"
	@echo "make test            build and run every test tier (unit, golden, e2e, python)"
	@echo "make test-sanitize   unit tier under ASan+UBSan (CI runs this too)"
	@echo "make test-tsan       concurrent sessions on one model under ThreadSanitizer (CI runs this too)"
	@echo "make deps            install/fetch dependencies only   make build   configure + build only"
	@echo "make tiny-model      random-weight checkpoint -> bundle -> goldens under $(TINY)/"
	@echo "make serve           HTTP API + web page on http://127.0.0.1:7860/ (tiny model unless MODEL=bundle dir)"
	@echo "make format          clang-format the C++ sources      make clean  remove build trees"

# ---- dependencies: Debian packages, ONNX Runtime, npm assets (all idempotent) ------------------
deps:
	@scripts/setup/install-debian-deps.sh
	@if [ -n "$${ONNXRUNTIME_ROOT:-}" ]; then echo "[onnxruntime] using ONNXRUNTIME_ROOT=$$ONNXRUNTIME_ROOT"; \
	 else scripts/setup/fetch-onnxruntime.sh third_party/onnxruntime; fi
	@scripts/setup/fetch-npm-assets.sh third_party

# ---- build ---------------------------------------------------------------------------------------
$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOSYVOICE_WERROR=ON $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	@start=$$(date +%s); cmake --build $(BUILD) -j $(JOBS); \
	  echo "[build] $(CLI) ready ($$(( $$(date +%s) - start )) s)"

# ---- the tiny random-weight model in the released layout, its bundle and its goldens -----------
# Each step runs only when its command exists in this checkout and its inputs changed.
PY_COMMANDS := $(shell $(PYENV) $(PY) -m cosyvoice_export --help 2>/dev/null | sed -n 's/^    \([a-z_]*\) .*/\1/p')
has_cmd = $(filter $(1),$(PY_COMMANDS))
TINY_STAMPS := $(if $(call has_cmd,tiny),$(TINY)/checkpoint/.done) \
               $(if $(call has_cmd,export),$(TINY)/bundle/.done) \
               $(if $(call has_cmd,goldens),$(TINY)/goldens/.done)

$(TINY)/checkpoint/.done: $(PY_SOURCES)
	@echo "[tiny] writing a random-weight checkpoint in the released layout"
	rm -rf $(TINY)/checkpoint && $(PYENV) $(PY) -m cosyvoice_export tiny --out $(TINY)/checkpoint
	@touch $@
$(TINY)/bundle/.done: $(TINY)/checkpoint/.done
	@echo "[tiny] exporting the ONNX bundle"
	rm -rf $(TINY)/bundle && $(PYENV) $(PY) -m cosyvoice_export export --checkpoint $(TINY)/checkpoint --out $(TINY)/bundle --name cosyvoice3-tiny-random
	@touch $@
$(TINY)/goldens/.done: $(TINY)/bundle/.done
	@echo "[tiny] dumping goldens from the PyTorch reference"
	rm -rf $(TINY)/goldens && $(PYENV) $(PY) -m cosyvoice_export goldens --checkpoint $(TINY)/checkpoint --bundle $(TINY)/bundle --out $(TINY)/goldens
	@touch $@

tiny-model: deps $(TINY_STAMPS)
	@for step in tiny export goldens; do \
	  case " $(PY_COMMANDS) " in *" $$step "*) ;; *) echo "[tiny] '$$step' is not in this checkout yet: skipped";; esac; done

# ---- tests ---------------------------------------------------------------------------------------
test: build tiny-model
	@$(MAKE) --no-print-directory test-cpp test-python

test-cpp:
	@echo "== C++ tests (ctest: unit, golden, e2e) =="
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) 2>&1 | tee ctest.log | grep -Ev '^ *Start |^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed'
	@echo "== summary =="; grep -E 'tests passed|^(unit|golden|e2e) +=' $(BUILD)/ctest.log

test-python:
	@if [ -d python/tests ]; then \
	  echo "== Python tests (pytest, /usr/bin/python3) =="; \
	  cd python && $(PYENV) COSYVOICE_TINY=$(CURDIR)/$(TINY) $(PY) -m pytest -q -p no:cacheprovider tests 2>&1 | tee ../$(BUILD)/pytest.log | tail -n 25; \
	else echo "== no Python tests in this checkout =="; fi

test-sanitize: deps tiny-model
	cmake -S . -B $(BUILD_ASAN) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DCOSYVOICE_WERROR=ON \
	  -DCOSYVOICE_SANITIZE="address;undefined" -DCOSYVOICE_BUILD_BENCH=OFF $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	@echo "== unit and golden tiers under ASan+UBSan =="
	cd $(BUILD_ASAN) && ctest -L 'unit|golden' --output-on-failure -j $(JOBS) 2>&1 | tee ctest-asan.log | grep -E 'tests passed|Failed|ERROR'

# One Model shared by concurrent Sessions (tests/golden/test_session.cc) and the tokenizer's concurrent
# encoding, under ThreadSanitizer. Only those test programs are built.
TSAN_TESTS := cosyvoice_session_tests cosyvoice_tokenizer_tests cosyvoice_tokenizer_assets
test-tsan: deps tiny-model
	cmake -S . -B $(BUILD_TSAN) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOSYVOICE_WERROR=ON \
	  -DCOSYVOICE_SANITIZE=thread -DCOSYVOICE_BUILD_BENCH=OFF -DCOSYVOICE_BUILD_EXAMPLES=OFF $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target $(TSAN_TESTS)
	@echo "== concurrent sessions and tokenizer under ThreadSanitizer =="
	cd $(BUILD_TSAN) && TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
	  ctest -R '^(SessionTest\.|TokenizerCorpus\.Concurrent)' --output-on-failure -j 1 2>&1 | tee ctest-tsan.log | grep -E 'tests passed|Failed|ThreadSanitizer|Total Test time'

# ---- demo ----------------------------------------------------------------------------------------
demo: build tiny-model
	@scripts/demo.sh "$(CLI)" "$(if $(MODEL),$(MODEL),$(TINY)/bundle)" "$(if $(MODEL),real,tiny)"

# ---- the HTTP server (docs/server.md) ---------------------------------------------------------------
serve: build tiny-model
	$(CLI) serve -m "$(if $(MODEL),$(MODEL),$(TINY)/bundle)" --data-dir $(BUILD)/serve-data $(SERVE_ARGS)

# ---- housekeeping --------------------------------------------------------------------------------
CXX_FILES = $(shell find src include tests bench examples -name '*.cc' -o -name '*.h' 2>/dev/null)
format:
	clang-format -i $(CXX_FILES)
format-check:
	clang-format --dry-run --Werror $(CXX_FILES)
clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN)
