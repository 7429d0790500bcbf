#!/usr/bin/env bash
# test-arm64.sh BUILD_ARM64 BUILD_X86 TINY - the aarch64 build, tested under qemu-user emulation.
# Called by `make test-arm64` (which builds both trees and the tiny model first) and by CI (.ci/run).
#   1. the unit and golden CTest tiers of the aarch64 build (CMAKE_CROSSCOMPILING_EMULATOR puts
#      qemu-aarch64 in front of every test program; fixtures written by Python/Node run natively).
#      The golden tier compares with the x86-64 PyTorch reference's goldens under the same
#      tolerances as the native build (docs/parity.md);
#   2. `cosyvoice tts` on the tiny model with the aarch64 CLI (under qemu) and the x86-64 CLI, the
#      two float WAVs compared sample for sample (scripts/tts-compare.sh, which derives the tolerance).
# Prints the time of each part. env: JOBS (ctest -j, default nproc), ARM64_CTEST_EXCLUDE (a regex of
# tests to leave out, default below).
set -euo pipefail
arm=${1:?usage: test-arm64.sh BUILD_ARM64 BUILD_X86 TINY} x86=${2:?} tiny=${3:?}
log() { printf '[test-arm64] %s\n' "$*"; }
die() { printf '[test-arm64] FAIL: %s\n' "$*" >&2; exit 1; }

# ONNX Runtime's CPU detection (pytorch/cpuinfo, at library load) parses /proc/cpuinfo for the ARM
# "CPU implementer"/"CPU part" lines; qemu-user 7.2 passes the host's x86 /proc/cpuinfo through and
# every aarch64 program that loads ONNX Runtime then dies with SIGSEGV before main. So the tests run
# in a private mount namespace where /proc/cpuinfo describes this machine's CPUs as Cortex-A76
# cores (implementer 0x41, part 0xd0b: a NEON/dotprod CPU of the Raspberry Pi 5 class). Nothing
# outside the namespace changes; native x86-64 programs find their CPU with the CPUID instruction.
if ! grep -q 'CPU implementer' /proc/cpuinfo && [[ -z ${COSYVOICE_ARM64_CPUINFO:-} ]]; then
  cpuinfo=$(mktemp /tmp/cosyvoice-arm64-cpuinfo.XXXXXX)
  trap 'rm -f "$cpuinfo"' EXIT
  for ((i = 0; i < $(nproc); i++)); do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n\n' "$i"
  done > "$cpuinfo"
  status=0
  COSYVOICE_ARM64_CPUINFO=$cpuinfo unshare --mount --propagation private \
    bash -c 'mount --bind "$COSYVOICE_ARM64_CPUINFO" /proc/cpuinfo && exec "$0" "$@"' "$0" "$@" || status=$?
  # 1 with no output from us: unshare itself failed (not root and no user namespaces)
  exit "$status"
fi
t_all=$(date +%s)

[[ -x "$arm/bin/cosyvoice" ]] || die "$arm/bin/cosyvoice missing: run 'make cross-arm64'"
[[ -x "$x86/bin/cosyvoice" ]] || die "$x86/bin/cosyvoice missing: run 'make build'"
[[ -f "$tiny/bundle/config.json" ]] || die "$tiny/bundle/config.json missing: run 'make tiny-model'"
qemu=$(sed -n 's/^CMAKE_CROSSCOMPILING_EMULATOR:[A-Z]*=//p; s/^COSYVOICE_QEMU_AARCH64:[A-Z]*=//p' \
  "$arm/CMakeCache.txt" | grep -v NOTFOUND | head -1)
[[ -n "$qemu" && -x "$qemu" ]] || die "no qemu-aarch64 in $arm/CMakeCache.txt (scripts/setup/install-arm64-deps.sh installs it)"
log "emulator: $("$qemu" --version | head -1)"
log "$("$qemu" "$arm/bin/cosyvoice" version | tr '\n' ' ')"

# ---- 1. unit and golden tiers ----------------------------------------------------------------
# Left out by default: the int4 LLM variant's parity with its reference. That reference
# (python export/llm_qref.py) models x86-64 ONNX Runtime's MatMulNBits, which quantizes activations
# to int8 per block of 32; on aarch64 ONNX Runtime takes another kernel (KleidiAI, activations
# quantized per row), so its logits differ from that reference by more than the rounding-flip bound
# (first run under qemu: max abs 0.08-0.13 vs bounds 0.055-0.074, top-1 agreement 98-100 %;
# docs/platforms.md). The int8 variant, whose activations stay float, is checked. Set
# ARM64_CTEST_EXCLUDE to change the list ('' runs everything).
exclude=${ARM64_CTEST_EXCLUDE-'LlmVariantGolden.*int4'}
t0=$(date +%s)
( cd "$arm" && ctest -L 'unit|golden' ${exclude:+-E "$exclude"} --output-on-failure -j "${JOBS:-$(nproc)}" \
    > ctest-arm64.log 2>&1 ) || { grep -E 'Failed|\*\*\*|tests passed' "$arm/ctest-arm64.log" | tail -40; die "ctest (see $arm/ctest-arm64.log)"; }
t_ctest=$(( $(date +%s) - t0 ))
grep -E 'tests passed|^(unit|golden) +=' "$arm/ctest-arm64.log" | sed 's/^/[test-arm64] ctest: /'
log "unit + golden tiers under qemu: ${t_ctest} s"

# ---- 2. tiny-model tts: aarch64 (qemu) vs x86-64 (native) -------------------------------------
# The two float WAVs within 2e-4 per sample, same length (the tolerance is derived in tts-compare.sh).
t0=$(date +%s)
"$(dirname "$0")/tts-compare.sh" "$arm/tts-compare" "$tiny" x86_64 aarch64 -- "$x86/bin/cosyvoice" \
  -- "$qemu" "$arm/bin/cosyvoice" 2>&1 | sed 's/^/[test-arm64] /'
t_tts=$(( $(date +%s) - t0 ))

log "all passed in $(( $(date +%s) - t_all )) s (ctest ${t_ctest} s, tts ${t_tts} s)"
