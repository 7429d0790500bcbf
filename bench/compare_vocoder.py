#!/usr/bin/env python3
"""Side by side: the engine's vocoder (build/bin/bench_vocoder) and the PyTorch reference's HiFT
(``CausalHiFTGenerator.inference``: F0, NSF source, STFT, decode, ISTFT) on the same mel, alternating
rounds so that the shared machine's load hits both alike.

    PYTHONPATH=python LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \\
      /usr/bin/python3 bench/compare_vocoder.py CHECKPOINT BUNDLE [--frames 250] [--threads 2] [--rounds 5]

The mel is log-mel-like noise (clamp(2 N(0,1) - 5, -11.5, 2)), T frames = T / 50 s of audio. Each
round runs the reference once and bench_vocoder once (--runs 1 after one warm-up run in its own
process; the warm-up absorbs ONNX Runtime's first-run allocations). Prints the medians and the ratio.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from cosyvoice_export import checkpoint, noise  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("bundle", type=Path)
    p.add_argument("--frames", type=int, default=250)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--generator", default="", help="another generator graph for the C++ side")
    p.add_argument("--bench", type=Path, default=ROOT / "build" / "bin" / "bench_vocoder")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    hift = checkpoint.load_model_dir(a.checkpoint, components=("hift",)).hift
    gen = torch.Generator().manual_seed(0)
    mel = torch.clamp(torch.randn(1, 80, a.frames, generator=gen) * 2 - 5, -11.5, 2)
    src = torch.from_numpy(noise.hift_source_noise(a.frames * hift.cfg.samples_per_frame))
    with tempfile.TemporaryDirectory() as tmp:
        mel_path = Path(tmp) / "mel.npy"
        np.save(mel_path, mel[0].numpy())
        cmd = [str(a.bench), str(a.bundle), str(mel_path), "--threads", str(a.threads), "--runs", "1",
               "--warmup", "1", "--json"] + (["--generator", a.generator] if a.generator else [])
        hift.inference(mel, src, True)  # warm-up
        ref, cpp, parts = [], [], []
        for r in range(a.rounds):
            t0 = time.perf_counter()
            hift.inference(mel, src, True)
            ref.append(time.perf_counter() - t0)
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            j = json.loads(out.stdout)
            cpp.append(j["seconds"])
            parts.append(j)
            print(f"round {r + 1}: PyTorch {ref[-1]:.3f} s, C++ {cpp[-1]:.3f} s", flush=True)
    med = lambda v: float(np.median(v))  # noqa: E731
    audio = a.frames / 50.0
    print(f"{a.frames} frames ({audio:.1f} s of audio), {a.threads} threads, {a.rounds} rounds, medians:")
    print(f"  PyTorch HiFT (torch {torch.__version__})  {med(ref):.3f} s")
    print(f"  C++ vocoder                       {med(cpp):.3f} s  (F0 {med([x['f0_seconds'] for x in parts]):.3f}, "
          f"source {med([x['source_seconds'] for x in parts]):.3f}, generator "
          f"{med([x['generator_seconds'] for x in parts]):.3f}, ISTFT {med([x['istft_seconds'] for x in parts]):.3f})")
    print(f"  C++ speed vs PyTorch              {med(ref) / med(cpp):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
