#!/usr/bin/env bash
# test-avx2.sh BUILD TINY - the x86-64 build on a CPU without AVX-512: this project's machine floor
# (x86-64 with AVX2 and FMA, no AVX-512, no VNNI), emulated by qemu-user as an Intel Haswell.
# Called by `make test-avx2` (which builds the tree and the tiny model first).
#   1. the unit and golden CTest tiers, each test program under qemu-x86_64 -cpu Haswell-noTSX
#      (tests/tools/run_tiers_emulated.py; fixtures run natively). ONNX Runtime's kernels (MLAS:
#      SGEMM, the int4/int8 MatMulNBits and the int8 DynamicQuantizeMatMul paths) and this project's
#      operators (src/kernels/) choose their instruction set with CPUID, which qemu answers for the
#      emulated CPU, so the same binaries take their AVX2 paths instead of the AVX-512/VNNI ones the
#      build machine runs. The golden tier then compares every stage, and the int8 and int4 LLM
#      variants, with the PyTorch reference under the tolerances of docs/parity.md;
#   2. the Python tests of the quantized and custom kernels (python/tests/test_quant.py, test_nbits.py,
#      test_llm_qref.py, test_winograd.py, test_panels.py: ONNX Runtime in process through ctypes)
#      with the Python interpreter itself under the emulated CPU. They hold the checks whose outcome
#      depends on the ISA: test_quant.py's worst case for VPMADDUBSW's int16 saturation (the reason
#      the int8 DiT's weights are 7-bit: with 8-bit weights that product is off by 81 % on this
#      emulated CPU and exact on a VNNI one), test_nbits.py's bounds for MatMulNBits at each accuracy
#      level, and test_panels.py's PanelMatMul check (its AVX2 kernel);
#   3. `cosyvoice tts` on the tiny model natively and under the emulated CPU, the two float WAVs
#      compared sample for sample (scripts/tts-compare.sh, which derives the tolerance).
# The emulated CPU's instruction sets are checked first (`cosyvoice version`: no avx512f, kernels
# avx2). Emulated times say nothing about speed on a real AVX2 CPU.
# env: JOBS (test processes at once, default nproc), AVX2_CTEST_EXCLUDE (a regex of tests to leave
# out, default below), QEMU_X86_64 (the emulator, default qemu-x86_64-static or qemu-x86_64); and
# the Python tests' environment, which the Makefile sets as for `make test` (PYENV, COSYVOICE_TINY,
# COSYVOICE_OPS_LIBRARY).
set -euo pipefail
build=${1:?usage: test-avx2.sh BUILD TINY} tiny=${2:?usage: test-avx2.sh BUILD TINY}
log() { printf '[test-avx2] %s\n' "$*"; }
die() { printf '[test-avx2] FAIL: %s\n' "$*" >&2; exit 1; }
t_all=$(date +%s)

[[ $(uname -m) == x86_64 ]] || die "this check emulates an x86-64 CPU for an x86-64 build; this machine is $(uname -m)"
[[ -x $build/bin/cosyvoice ]] || die "$build/bin/cosyvoice missing: run 'make build'"
[[ -n ${PYTHONPATH:-} && -f ${COSYVOICE_OPS_LIBRARY:-} ]] \
  || die "the Python tests' environment (PYTHONPATH, COSYVOICE_OPS_LIBRARY) is not set: run 'make test-avx2'"
qemu=${QEMU_X86_64:-$(command -v qemu-x86_64-static || command -v qemu-x86_64 || true)}
[[ -n $qemu && -x $qemu ]] || die "no qemu-x86_64: install Debian's qemu-user-static (make test-avx2 does)"
# Haswell without TSX: AVX2, FMA, F16C; no AVX-512, no VNNI. qemu 7.2 warns once per start about
# the features its translator lacks (pcid, x2apic, ...), none of which a user program sees.
emulator=("$qemu" -cpu Haswell-noTSX)
log "emulator: $("$qemu" --version | head -1), -cpu Haswell-noTSX"
version=$("${emulator[@]}" "$build/bin/cosyvoice" version 2>/dev/null)
grep -E '^(cpu|kernels) ' <<<"$version" | sed 's/^/[test-avx2] emulated /'
grep -qE '^cpu .* avx2( |$)' <<<"$version" || die "the emulated CPU lacks AVX2 (qemu older than 7.2?)"
! grep -qE '^cpu .*avx512' <<<"$version" || die "the emulated CPU has AVX-512: not the AVX2 floor"
grep -qE '^kernels avx2 ' <<<"$version" || die "this project's kernels do not run their AVX2 form under emulation"

# ---- 1. unit and golden tiers ----------------------------------------------------------------
# Left out by default, as on aarch64 (.ci/run stage 2, docs/platforms.md §2): the concurrency and
# cancellation tests, the two optimized-graph tests and the stream cache limit's fallback: they check
# threads, files and when a segment switches to recomputation, not arithmetic, and take most of the
# emulated time. Unlike on aarch64 the int4 LLM variant's parity runs: its reference models x86-64's
# MatMulNBits, which takes its AVX2 kernel here (ONNX Runtime issue #29853 is about that kernel).
exclude=${AVX2_CTEST_EXCLUDE-'^SessionTest\.|OptimizedGraphsAreBitIdentical|OptimizeSavesNoPrePacked|StreamCacheLimitFinishes'}
t0=$(date +%s)
/usr/bin/python3 "$(dirname "$0")/../tests/tools/run_tiers_emulated.py" "$build" --emulator "$(printf '%q ' "${emulator[@]}")" \
  --labels 'unit|golden' --exclude "$exclude" --jobs "${JOBS:-$(nproc)}" > "$build/ctest-avx2.log" 2>&1 \
  || { tail -60 "$build/ctest-avx2.log"; die "tests under the emulated AVX2 CPU (see $build/ctest-avx2.log)"; }
t_tests=$(( $(date +%s) - t0 ))
grep -vE '^fixture' "$build/ctest-avx2.log" | sed 's/^/[test-avx2] /'
log "unit + golden tiers under the emulated AVX2 CPU: ${t_tests} s"

# ---- 2. the Python tests of the ISA-dependent kernels ------------------------------------------
tests=(test_quant.py test_nbits.py test_llm_qref.py test_winograd.py test_panels.py)
t0=$(date +%s)
( cd "$(dirname "$0")/../python" && "${emulator[@]}" /usr/bin/python3 -m pytest -q -p no:cacheprovider "${tests[@]/#/tests/}" ) \
  > "$build/pytest-avx2.log" 2>&1 \
  || { grep -v "TCG doesn't support" "$build/pytest-avx2.log" | tail -60; die "Python kernel tests under the emulated AVX2 CPU (see $build/pytest-avx2.log)"; }
t_py=$(( $(date +%s) - t0 ))
log "pytest ${tests[*]}: $(grep -E '[0-9]+ passed' "$build/pytest-avx2.log" | tail -1) (${t_py} s)"

# ---- 3. tiny-model tts: native (this CPU) vs the emulated AVX2 CPU ----------------------------
t0=$(date +%s)
"$(dirname "$0")/tts-compare.sh" "$build/tts-compare-avx2" "$tiny" native avx2 -- "$build/bin/cosyvoice" \
  -- "${emulator[@]}" "$build/bin/cosyvoice" 2>&1 | sed 's/^/[test-avx2] /'
t_tts=$(( $(date +%s) - t0 ))

log "all passed in $(( $(date +%s) - t_all )) s (ctest tiers ${t_tests} s, pytest ${t_py} s, tts ${t_tts} s)"
