#!/usr/bin/env bash
# stream_exact_variant.sh CLI BUNDLE PROMPT_WAV OUT_DIR - issue #11: streaming `exact` with a flow
# variant (BUNDLE has flow/int8). The chunked estimator has no variants, so exact streams as
# recompute, says so in one line, and its audio is recompute's with the variant, byte for byte
# (before, its chunks ran the fp32 chunked estimator and only the final pass ran the variant).
set -euo pipefail
cli=$1 bundle=$2 prompt=$3 out=$4
mkdir -p "$out"
args=(tts -m "$bundle" --precision flow=int8 --prompt-wav "$prompt" --prompt-text "Front center."
  -t "Hello there, this is streamed." --stream --seed 3)
log=$("$cli" "${args[@]}" --stream-mode exact -o "$out/exact.wav" 2>&1)
echo "$log"
n=$(grep -c "stream mode exact: the flow runs the int8 (int8) variant.*streaming as recompute" <<<"$log" || true)
[[ "$n" == 1 ]] || { echo "FAIL: expected the fallback line once, found $n"; exit 1; }
"$cli" "${args[@]}" --stream-mode recompute -o "$out/recompute.wav" >/dev/null 2>&1
cmp "$out/exact.wav" "$out/recompute.wav" || { echo "FAIL: exact with a flow variant is not recompute's audio"; exit 1; }
# the base files keep exact's own path: no fallback line
log=$("$cli" tts -m "$bundle" --prompt-wav "$prompt" --prompt-text "Front center." -t "Hello." --stream \
  --stream-mode exact -o "$out/base.wav" 2>&1)
if grep -q "streaming as recompute" <<<"$log"; then echo "FAIL: fallback without a flow variant"; exit 1; fi
echo "ok: exact with flow=int8 streamed as recompute, identical audio"
