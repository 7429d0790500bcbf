#!/usr/bin/env bash
# tts-compare.sh OUT TINY REF_NAME TEST_NAME -- REF_CMD... -- TEST_CMD...
# The same `cosyvoice tts --float` on the tiny model (TINY/bundle) by two CLIs, e.g. the x86-64 build
# natively and the aarch64 build under qemu (scripts/test-arm64.sh), or the x86-64 build natively and
# under an emulated AVX2-only CPU (scripts/test-avx2.sh). REF_CMD/TEST_CMD: the command that runs each
# CLI, emulator first if any. Writes OUT/REF_NAME.wav, OUT/TEST_NAME.wav, their logs, compare.log and
# result.txt (the "max ..." line CI shows), prints the times and the comparison; exits 1 on a difference.
# Tolerance 2e-4 absolute: both runs must produce the same speech tokens (integers; the sampler is
# the same seeded generator, docs/determinism.md), and the golden tier bounds each build's waveform by
# 1e-4 absolute from the PyTorch reference on this model (docs/parity.md, "waveform"), so two runs
# that both pass it differ by at most 1e-4 + 1e-4 (triangle inequality). `--float` writes the float32
# samples, so no 16-bit rounding enters. Equal lengths are required (a different token would change them).
set -euo pipefail
usage() { echo "usage: tts-compare.sh OUT TINY REF_NAME TEST_NAME -- REF_CMD... -- TEST_CMD..." >&2; exit 2; }
(( $# >= 8 )) || usage
out=$1 tiny=$2 ref=$3 test=$4
shift 4
[[ ${1:-} == -- ]] || usage
shift
ref_cmd=()
while (( $# )) && [[ $1 != -- ]]; do ref_cmd+=("$1"); shift; done
[[ ${1:-} == -- ]] || usage
shift
test_cmd=("$@")
(( ${#ref_cmd[@]} && ${#test_cmd[@]} )) || usage
tag=$(basename "$0" .sh)
die() { printf '[%s] FAIL: %s\n' "$tag" "$*" >&2; exit 1; }

prompt=/usr/share/sounds/alsa/Front_Center.wav
[[ -f $prompt ]] || die "$prompt missing (alsa-utils)"
[[ -f $tiny/bundle/config.json ]] || die "$tiny/bundle/config.json missing: run 'make tiny-model'"
rm -rf "$out"; mkdir -p "$out"
args=(tts --model "$tiny/bundle" --prompt-wav "$prompt" --prompt-text "Front center."
      --text "One build, checked against another." --seed 7 --float)
t0=$(date +%s)
"${ref_cmd[@]}" "${args[@]}" -o "$out/$ref.wav" > "$out/$ref.log" 2>&1 || { cat "$out/$ref.log"; die "$ref tts"; }
t_ref=$(( $(date +%s) - t0 )); t0=$(date +%s)
"${test_cmd[@]}" "${args[@]}" -o "$out/$test.wav" > "$out/$test.log" 2>&1 || { cat "$out/$test.log"; die "$test tts"; }
t_test=$(( $(date +%s) - t0 ))
echo "tts: $ref ${t_ref} s, $test ${t_test} s"
status=0
/usr/bin/python3 "$(dirname "$0")/../tests/tools/compare_wavs.py" "$out/$ref.wav" "$out/$test.wav" 2e-4 \
  > "$out/compare.log" 2>&1 || status=$?
sed 's/^/tts: /' "$out/compare.log"
grep -E '^max ' "$out/compare.log" > "$out/result.txt" || true
[[ $status -eq 0 ]] || die "$test tts differs from $ref"
