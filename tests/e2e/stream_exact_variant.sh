#!/usr/bin/env bash
# stream_exact_variant.sh CLI QUANTIZED_BUNDLE PROMPT_WAV OUT_DIR - issue #11: streaming `exact` with a
# flow variant that has no chunked estimator of its own (a bundle quantized before flow variants
# carried flow_estimator_chunk; made here from QUANTIZED_BUNDLE, which has flow/int8 with one). exact
# would run its chunks on the fp32 chunked estimator and its final pass on the variant; it streams
# as recompute instead, says so in one line, and its audio is recompute's, byte for byte. With the
# variant's own chunk graph, exact keeps its path (no such line).
set -euo pipefail
cli=$1 quantized=$2 prompt=$3 out=$4
rm -rf "$out" && mkdir -p "$out"
old="$out/no_chunk_variant"
mkdir -p "$old"
for f in "$quantized"/*; do [[ "$(basename "$f")" == config.json ]] || ln -s "$(realpath "$f")" "$old/"; done
python3 - "$quantized/config.json" "$old/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for v in c["variants"]["flow"]:
    v["files"].pop("estimator_chunk.file", None)
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
args=(--precision flow=int8 --prompt-wav "$prompt" --prompt-text "Front center." -t "Hello there, this is streamed."
  --stream --seed 3)
log=$("$cli" tts -m "$old" "${args[@]}" --stream-mode exact -o "$out/exact.wav" 2>&1)
echo "$log"
n=$(grep -c "stream mode exact: the flow runs the int8 (int8) variant, which has no chunked estimator.*streaming as recompute" <<<"$log" || true)
[[ "$n" == 1 ]] || { echo "FAIL: expected the fallback line once, found $n"; exit 1; }
"$cli" tts -m "$old" "${args[@]}" --stream-mode recompute -o "$out/recompute.wav" >/dev/null 2>&1
cmp "$out/exact.wav" "$out/recompute.wav" || { echo "FAIL: exact with that variant is not recompute's audio"; exit 1; }
log=$("$cli" tts -m "$quantized" "${args[@]}" --stream-mode exact -o "$out/own_chunk.wav" 2>&1)
if grep -q "streaming as recompute" <<<"$log"; then echo "FAIL: fallback although the variant has a chunk graph"; exit 1; fi
echo "ok: exact with a chunkless flow variant streamed as recompute (identical audio); with its own chunk graph, exact"
