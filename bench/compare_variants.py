#!/usr/bin/env python3
"""Side by side: `cosyvoice bench` on a float32 bundle and on variant bundles (e.g. made by
``python -m cosyvoice_export variant view BUNDLE flow/int8 DIR``), alternating in every round so that
the shared machine's load hits each alike. Prints per bundle the medians of each stage and the
ratios to the first bundle.

    /usr/bin/python3 bench/compare_variants.py BUNDLE VARIANT_DIR... [--rounds 3] [--tokens 75] \\
        [--threads 2] [--cli build/bin/cosyvoice] [--prompt-wav WAV --prompt-text TEXT] [--json OUT]

Each round runs `cosyvoice bench --runs 1 --warmup 1 --json` once per bundle (own process: load
time included in its figures, the warm-up absorbs ONNX Runtime's first-run allocations).
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("load_seconds", "llm_decode_seconds", "flow_seconds", "vocoder_seconds", "total_seconds", "rtf",
          "peak_rss_mb")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bundles", nargs="+", type=Path, help="the float32 bundle first, then the variant bundles")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tokens", type=int, default=75, help="speech tokens per sentence (25 = 1 s of audio)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cli", type=Path, default=ROOT / "build" / "bin" / "cosyvoice")
    p.add_argument("--prompt-wav", default="/usr/share/sounds/alsa/Front_Center.wav")
    p.add_argument("--prompt-text", default="Front center.")
    p.add_argument("--text", default="Hello! This sentence is spoken in a voice cloned from a three second prompt.")
    p.add_argument("--json", type=Path, default=None, help="also write every run's figures here")
    a = p.parse_args()
    runs = {str(b): [] for b in a.bundles}
    for r in range(a.rounds):
        line = []
        for b in a.bundles:
            cmd = [str(a.cli), "bench", "-m", str(b), "--prompt-wav", a.prompt_wav, "--prompt-text", a.prompt_text,
                   "-t", a.text, "--tokens", str(a.tokens), "--runs", "1", "--warmup", "1",
                   "--threads", str(a.threads), "--json"]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"error: {' '.join(cmd)} exited {out.returncode}:\n{out.stderr}", file=sys.stderr)
                return 1
            j = json.loads(out.stdout)
            runs[str(b)].append(j)
            line.append(f"{b.name}: flow {j['flow_seconds']:.2f} s, total {j['total_seconds']:.2f} s")
        print(f"round {r + 1}: " + "; ".join(line), flush=True)
    med = {b: {k: statistics.median(x[k] for x in v) for k in STAGES if all(k in x for x in v)}
           for b, v in runs.items()}
    base = med[str(a.bundles[0])]
    print(f"{a.rounds} rounds, {a.tokens} tokens, {a.threads} threads; medians (ratio: first bundle / this one, "
          f"> 1 is faster; RSS: this / first)")
    for b, m in med.items():
        parts = []
        for k, v in m.items():
            ratio = (v / base[k]) if k == "peak_rss_mb" else (base[k] / v if v else float("nan"))
            parts.append(f"{k} {v:.3f} ({ratio:.2f}x)")
        print(f"  {b}\n    " + ", ".join(parts))
    if a.json:
        a.json.write_text(json.dumps({"runs": runs, "medians": med}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
