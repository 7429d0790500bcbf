#!/usr/bin/env bash
# Side-by-side benchmark: the C++ engine (`cosyvoice bench`) and the PyTorch reference
# (`python -m cosyvoice_export bench`) on the same weights, prompt, text and thread count.
#
#   bench/compare_reference.sh CHECKPOINT_DIR BUNDLE_DIR [THREADS] [TOKENS]
#
# CHECKPOINT_DIR is a released-layout directory (or `python -m cosyvoice_export tiny --full-size`),
# BUNDLE_DIR its export. TOKENS speech tokens are generated per run (125 = 5 s of audio), because a
# random-weight LLM has no natural stop. Prints both tables and a ratio table; JSON in $OUT_DIR.
set -euo pipefail
ckpt=$1 bundle=$2 threads=${3:-2} tokens=${4:-125}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT_DIR:-$root/out/bench}
mkdir -p "$out"
prompt=/usr/share/sounds/alsa/Front_Center.wav
prompt_text="Front center."
text="Hello! This sentence is spoken in a voice cloned from a three second prompt, for the benchmark."

echo "== C++ engine ($threads threads) =="
"$root/build/bin/cosyvoice" bench -m "$bundle" --prompt-wav "$prompt" --prompt-text "$prompt_text" -t "$text" \
  --tokens "$tokens" --threads "$threads" --runs 2 --warmup 1 --json > "$out/cpp.json"
echo "== PyTorch reference ($threads threads) =="
PYTHONPATH="$root/python" LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
  /usr/bin/python3 -m cosyvoice_export bench --checkpoint "$ckpt" --threads "$threads" --prompt-wav "$prompt" \
  --prompt-text "$prompt_text" --text "$text" --tokens "$tokens" --json > "$out/torch.json"
/usr/bin/python3 - "$out/cpp.json" "$out/torch.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2])); ts = t["stages"]
audio = c["audio_seconds"]
t_synth = ts["total_s"] - ts["voice_prep_s"]          # both sides: synthesis without voice preparation
rows = [
    ("voice preparation (s)", c["voice_seconds"], ts["voice_prep_s"]),
    ("LLM prefill (s)", c["llm_prefill_seconds"], ts["llm_prefill_s"]),
    ("LLM decode (s)", c["llm_decode_seconds"], ts["llm_decode_s"]),
    ("LLM tokens/s", c["tokens_per_second"], ts["llm_decode_tokens_per_s"]),
    ("flow, 10 steps (s)", c["flow_seconds"], ts["flow_s"]),
    ("flow per second of audio (s)", c["flow_seconds"] / audio, ts["flow_s"] / t["audio_s"]),
    ("vocoder (s)", c["vocoder_seconds"], ts["hift_s"]),
    ("synthesis total (s)", c["total_seconds"], t_synth),
    ("RTF (synthesis / audio)", c["total_seconds"] / audio, t_synth / t["audio_s"]),
    ("peak RSS (MB)", c["peak_rss_mb"], t["peak_rss_mb"]),
]
print(f"audio {audio:.2f} s, {c['speech_tokens']:.0f} speech tokens; torch {t['torch']} with {t['blas']['kind']}")
print(f"| {'stage':<30} | {'C++ (ORT)':>10} | {'PyTorch':>10} | {'PyTorch / C++':>13} |")
print(f"|{'-'*32}|{'-'*12}|{'-'*12}|{'-'*15}|")
for name, cv, tv in rows:
    ratio = (cv / tv if "tokens/s" in name else tv / cv) if cv and tv else float("nan")
    print(f"| {name:<30} | {cv:>10.3f} | {tv:>10.3f} | {ratio:>12.2f}x |")
print("(ratio > 1: the C++ engine is faster / smaller)")
PY
