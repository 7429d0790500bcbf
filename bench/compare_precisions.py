#!/usr/bin/env python3
"""Side-by-side `cosyvoice bench` of precisions (bundle variants, docs/bundle.md §7), alternating.

    flock /work/full/.lock python3 bench/compare_precisions.py --cli build/bin/cosyvoice \
        --config fp32=/work/full/bundle:fp32 --config int4=BUNDLE_Q:llm=int4 ... [--rounds 2] [--tokens 60]

Each round runs every configuration once, in order, each in its own process (so load time and peak
RSS are that configuration's own); the machine's other load then disturbs all of them alike. Prints
the medians per configuration and their ratios to the first one, and with --json the raw runs.
Standard library only.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

FIELDS = (("load_seconds", "load s"), ("tokens_per_second", "decode tok/s"), ("llm_prefill_seconds", "prefill s"),
          ("flow_seconds", "flow s"), ("vocoder_seconds", "vocoder s"), ("rtf", "RTF"), ("peak_rss_mb", "peak RSS MB"))


def parse_config(text):
    name, _, rest = text.partition("=")
    bundle, _, precision = rest.rpartition(":")
    if not name or not bundle or not precision:
        raise argparse.ArgumentTypeError(f"--config {text!r}: expected NAME=BUNDLE:PRECISION")
    return name, bundle, precision


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", default="build/bin/cosyvoice")
    ap.add_argument("--config", action="append", type=parse_config, required=True,
                    help="NAME=BUNDLE:PRECISION (the first is the baseline of the ratios)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-wav", default="/usr/share/sounds/alsa/Front_Center.wav")
    ap.add_argument("--prompt-text", default="Front center.")
    ap.add_argument("--json", help="write every run here")
    a = ap.parse_args()
    runs = {name: [] for name, _, _ in a.config}
    for r in range(a.rounds):
        for name, bundle, precision in a.config:
            cmd = [a.cli, "-q", "bench", "-m", bundle, "--precision", precision, "--threads", str(a.threads),
                   "--prompt-wav", a.prompt_wav, "--prompt-text", a.prompt_text, "--tokens", str(a.tokens),
                   "--runs", "1", "--warmup", "1", "--json"]
            t0 = time.time()
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"{' '.join(cmd)}: exit {out.returncode}\n{out.stderr}")
            j = json.loads(out.stdout)
            runs[name].append(j)
            print(f"round {r + 1} {name}: {time.time() - t0:.0f} s wall, load {j['load_seconds']:.1f} s, "
                  f"{j['tokens_per_second']:.1f} tok/s, RSS {j['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    base = a.config[0][0]
    med = {n: {f: statistics.median(x[f] for x in runs[n]) for f, _ in FIELDS} for n in runs}
    print("| configuration | precision | " + " | ".join(label for _, label in FIELDS) + " |")
    print("|---|---|" + "---|" * len(FIELDS))
    for name, bundle, precision in a.config:
        cells = []
        for f, _ in FIELDS:
            v, b = med[name][f], med[base][f]
            cells.append(f"{v:.3g}" + (f" ({v / b:.2f}×)" if name != base and b else ""))
        print(f"| {name} | {precision} | " + " | ".join(cells) + " |")
    print(f"\nmedians of {a.rounds} round(s), {a.tokens} tokens, {a.threads} threads; ratios vs {base}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"configs": [list(c) for c in a.config], "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
