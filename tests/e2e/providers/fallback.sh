#!/usr/bin/env bash
# fallback.sh CLI BUNDLE PROMPT OUTDIR
# Issue #12/#14: a provider that cannot be used - WebGPU without an adapter (forced here by pointing
# the Vulkan loader at no driver), CUDA whose provider library is absent, CoreML not in this build -
# is reported once, in one line, and the synthesis runs on the CPU with a bit-identical result.
set -u
cli=$1 bundle=$2 prompt=$3 out=$4
mkdir -p "$out"
status=0
args=(tts -m "$bundle" --prompt-wav "$prompt" --prompt-text "Front center." -t "Hello world." --seed 7)
"$cli" "${args[@]}" -o "$out/cpu.wav" 2>"$out/cpu.log" || { echo "FAIL: cpu run"; cat "$out/cpu.log"; exit 1; }
for provider in webgpu cuda coreml; do
  VK_DRIVER_FILES=/nonexistent/icd.json VK_ICD_FILENAMES=/nonexistent/icd.json \
    "$cli" "${args[@]}" --provider "$provider,cpu" -o "$out/$provider.wav" 2>"$out/$provider.log"
  code=$?
  lines=$(grep -c "execution provider '$provider' unavailable" "$out/$provider.log")
  if [[ $code != 0 ]]; then echo "FAIL: $provider,cpu exited $code"; status=1; fi
  if [[ $lines != 1 ]]; then echo "FAIL: $provider: $lines 'unavailable' lines, expected exactly 1"; status=1; fi
  if ! cmp -s "$out/cpu.wav" "$out/$provider.wav"; then echo "FAIL: $provider,cpu output differs from cpu"; status=1; fi
  echo "---- $provider,cpu (exit $code):"; cat "$out/$provider.log"
done
exit $status
