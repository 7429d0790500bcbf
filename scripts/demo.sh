#!/usr/bin/env bash
# demo.sh CLI BUNDLE KIND - the main job: synthesize a sentence in a cloned voice to a WAV.
# Called by `make demo`; KIND is "tiny" (random weights) or "real".
set -euo pipefail
cli=$1 bundle=$2 kind=$3
out_dir=out
mkdir -p "$out_dir"

"$cli" version
if ! "$cli" --help | grep -qE '^\s+tts\b'; then
  cat <<MSG

[demo] What works today: dependency setup, the build, the ONNX Runtime layer ('cosyvoice inspect'),
       and the test tiers.
[demo] Not there yet: the synthesis engine ('cosyvoice tts', issue #5), so no WAV can be written.
       When it lands, this command writes $out_dir/demo.wav from the bundle in $bundle.
MSG
  exit 0
fi
if [[ ! -f "$bundle/config.json" ]]; then
  echo "[demo] no bundle at $bundle (expected $bundle/config.json)"; exit 1
fi
prompt_wav=${PROMPT_WAV:-/usr/share/sounds/alsa/Front_Center.wav}
prompt_text=${PROMPT_TEXT:-"Front center."}
text=${TEXT:-"Hello! This sentence is spoken in a voice cloned from a three second prompt."}
"$cli" tts --model "$bundle" --prompt-wav "$prompt_wav" --prompt-text "$prompt_text" \
  --text "$text" -o "$out_dir/demo.wav"
echo "[demo] wrote $(realpath "$out_dir/demo.wav")"
if [[ "$kind" == tiny ]]; then
  echo "[demo] note: the tiny model has random weights, so the WAV is noise-like by design."
  echo "[demo]       For real speech: export the released model and run 'make demo MODEL=path/to/bundle'."
fi
