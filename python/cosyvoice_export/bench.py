"""``bench``: per-stage wall time of the PyTorch reference pipeline.

    /usr/bin/python3 -m cosyvoice_export bench --checkpoint DIR [--threads 2] [--text ...]
        [--prompt-wav ...] [--prompt-text ...] [--tokens 125] [--json]

A random-weight LLM does not stop in a natural way, so the number of generated speech tokens is
fixed (``--min-tokens = --max-tokens = --tokens``, default 125 = 5 s of audio; the text must have at
least tokens / 20 BPE tokens, since the cap only lowers the text-derived maximum); pass ``--tokens 0``
to use the text-derived limits instead.  Stages: model load, voice preparation (frontend DSP + the two ONNX
frontend graphs), LLM prefill, LLM decode (tokens/s), flow (total and per Euler step, measured
around the DiT calls), HiFT, total; audio seconds, RTF (synthesis time / audio time, voice
preparation included, model load excluded), peak RSS, the torch version and the BLAS library torch
actually loaded (read from /proc/self/maps: Debian's torch links the generic libblas.so.3, which is
OpenBLAS only when its directory comes first in LD_LIBRARY_PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import torch

from . import reference as R

HELP = "time each stage of the PyTorch reference pipeline (voice prep, LLM, flow, HiFT)"

DEFAULT_PROMPT = Path("/usr/share/sounds/alsa/Front_Center.wav")
DEFAULT_PROMPT_TEXT = "Front center."
DEFAULT_TEXT = "The quick brown fox jumps over the lazy dog while the sun rises above the hills."


def blas_info() -> Dict[str, Any]:
    """Which BLAS shared library this process has mapped (after torch ran a matmul)."""
    torch.matmul(torch.ones(64, 64), torch.ones(64, 64))
    libs: List[str] = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and ("blas" in parts[5].lower() or "mkl" in parts[5].lower()):
                    if parts[5] not in libs:
                        libs.append(parts[5])
    except OSError:
        pass
    real = [os.path.realpath(p) for p in libs]
    joined = " ".join(real).lower()
    if "openblas" in joined:
        kind = "OpenBLAS"
    elif "mkl" in joined:
        kind = "MKL"
    elif "libblas" in joined:
        kind = "reference BLAS (netlib libblas, unoptimised)"
    else:
        kind = "unknown (no BLAS library mapped)"
    cfg = torch.__config__.show()
    blas_cfg = next((t.split("=", 1)[1].rstrip(",") for t in cfg.replace(",", " ").split() if t.startswith("BLAS_INFO=")),
                    None)
    return {"kind": kind, "libraries": real, "torch_blas_info": blas_cfg,
            "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH", "")}


def run_bench(checkpoint: Path, threads: int, text: str, prompt_wav: Path, prompt_text: str, tokens: int,
              seed: int = 0, mode: str = "zero_shot", log=R._stderr_log) -> Dict[str, Any]:
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    ref = R.ReferencePipeline(checkpoint, threads=threads, log=log)
    load_s = time.perf_counter() - t0

    # time the DiT calls exactly (the Euler loop calls estimator.forward_chunked once per step)
    est = ref.flow.decoder.estimator
    orig = est.forward_chunked
    dit = {"seconds": 0.0, "calls": 0}

    def timed(*a, **k):
        s = time.perf_counter()
        out = orig(*a, **k)
        dit["seconds"] += time.perf_counter() - s
        dit["calls"] += 1
        return out

    est.forward_chunked = timed
    try:
        t0 = time.perf_counter()
        voice = ref.prepare_voice(prompt_wav, prompt_text)
        voice_s = time.perf_counter() - t0
        tm: Dict[str, float] = {}
        kw = {"min_tokens": tokens, "max_tokens": tokens} if tokens > 0 else {}
        t0 = time.perf_counter()
        wav = ref.synthesize(mode, text, voice, seed=seed, timings=tm, **kw)
        synth_s = time.perf_counter() - t0
    finally:
        est.forward_chunked = orig
        ref.close()
    audio_s = wav.shape[0] / ref.cfg.sample_rate
    plans = ref.plan_segments(mode, text, voice) if mode != "vc" else []
    decode_steps = max(int(tm.get("llm_steps", 0)) - len(plans), 0)  # forward passes after each prefill
    prefill_positions = [int(ref.lm_input(p, voice).shape[1]) for p in plans]
    total_s = voice_s + synth_s
    res = {
        "checkpoint": str(checkpoint),
        "threads": threads,
        "torch": torch.__version__,
        "blas": blas_info(),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "text": text, "prompt_wav": str(prompt_wav), "mode": mode, "seed": seed,
        "tokens_fixed": tokens if tokens > 0 else None,
        "segments": len(plans) if plans else 1,
        "stages": {
            "load_s": load_s,
            "voice_prep_s": voice_s,
            "llm_prefill_s": tm.get("llm_prefill", 0.0),
            "llm_prefill_positions": prefill_positions,
            "llm_decode_s": tm.get("llm_decode", 0.0),
            "llm_tokens": int(tm.get("llm_tokens", 0)),
            "llm_decode_tokens_per_s": decode_steps / tm["llm_decode"] if tm.get("llm_decode") else None,
            "flow_s": tm.get("flow", 0.0),
            "flow_steps": dit["calls"],
            "flow_per_step_s": dit["seconds"] / dit["calls"] if dit["calls"] else None,
            "flow_encoder_and_glue_s": tm.get("flow", 0.0) - dit["seconds"],
            "hift_s": tm.get("hift", 0.0),
            "total_s": total_s,
        },
        "audio_s": audio_s,
        "rtf": total_s / audio_s if audio_s > 0 else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    return res


def format_table(r: Dict[str, Any]) -> str:
    s = r["stages"]
    rows = [
        ("model load (not in total)", f"{s['load_s']:.2f} s"),
        ("voice preparation", f"{s['voice_prep_s']:.3f} s"),
        ("LLM prefill", f"{s['llm_prefill_s']:.3f} s ({'+'.join(map(str, s['llm_prefill_positions']))} positions)"),
        ("LLM decode", f"{s['llm_decode_s']:.2f} s, {s['llm_tokens']} tokens, "
                       f"{s['llm_decode_tokens_per_s'] or 0:.1f} tokens/s"),
        ("flow total", f"{s['flow_s']:.2f} s ({s['flow_steps']} DiT calls)"),
        ("flow per Euler step", f"{s['flow_per_step_s'] or 0:.3f} s (batch 2, CFG)"),
        ("HiFT", f"{s['hift_s']:.2f} s"),
        ("total (voice prep + synthesis)", f"{s['total_s']:.2f} s"),
        ("audio", f"{r['audio_s']:.2f} s"),
        ("RTF", f"{r['rtf']:.2f}" if r["rtf"] is not None else "-"),
        ("peak RSS", f"{r['peak_rss_mb']:.0f} MB"),
        ("torch", f"{r['torch']}, {r['threads']} thread(s)"),
        ("BLAS", f"{r['blas']['kind']} ({', '.join(r['blas']['libraries']) or 'none mapped'}; "
                 f"torch BLAS_INFO={r['blas']['torch_blas_info']})"),
    ]
    w = max(len(a) for a, _ in rows)
    lines = [f"| {'stage'.ljust(w)} | value |", f"|{'-' * (w + 2)}|-------|"]
    lines += [f"| {a.ljust(w)} | {b} |" for a, b in rows]
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, type=Path, help="model directory")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    p.add_argument("--text", default=DEFAULT_TEXT, help="text to synthesize (default: a 16-word sentence)")
    p.add_argument("--prompt-wav", type=Path, default=DEFAULT_PROMPT, help=f"prompt (default {DEFAULT_PROMPT})")
    p.add_argument("--prompt-text", default=DEFAULT_PROMPT_TEXT, help="prompt transcript")
    p.add_argument("--tokens", type=int, default=125,
                   help="generate exactly this many speech tokens (min = max; 125 = 5 s); 0: text limits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")


def main(args: argparse.Namespace) -> int:
    try:
        r = run_bench(args.checkpoint, args.threads, args.text, args.prompt_wav, args.prompt_text, args.tokens,
                      args.seed)
    except (R.ReferenceError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(r, indent=1) if args.json else format_table(r))
    return 0
