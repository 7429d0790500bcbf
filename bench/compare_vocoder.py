#!/usr/bin/env python3
"""Side by side: the engine's vocoder (build/bin/bench_vocoder) and the PyTorch reference's HiFT
(``CausalHiFTGenerator.inference``: F0, NSF source, STFT, decode, ISTFT) on the same mel, alternating
rounds so that the shared machine's load hits both alike.

    PYTHONPATH=python LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \\
      /usr/bin/python3 bench/compare_vocoder.py CHECKPOINT BUNDLE [--frames 250] [--threads 2] [--rounds 5] \\
      [--generator FILE ...] [--write-generator] [--isa native|avx2]

The mel is log-mel-like noise (clamp(2 N(0,1) - 5, -11.5, 2)), T frames = T / 50 s of audio. Each
round runs the reference once and bench_vocoder once (--runs 1 after one warm-up run in its own
process; the warm-up absorbs ONNX Runtime's first-run allocations). Prints the medians and the ratio.

``--isa avx2`` estimates an AVX2-only CPU on a wider one: PyTorch's convolutions (oneDNN) are capped
at AVX2 (``ONEDNN_MAX_CPU_ISA``, read at oneDNN's first use) and the project's operators run their AVX2
kernels (``COSYVOICE_KERNEL_ISA``). ONNX Runtime's own kernels have no such switch and keep the CPU's
widest: that is most of the bundle's plain generator, so only the ``hift/fp32-winograd`` graph's row
(whose ONNX Runtime nodes are ~5 % of its time, docs/quantization.md §4.2) is such an estimate.

Every ``--generator`` graph (and, with ``--write-generator``, the generator this checkout's exporter
writes from CHECKPOINT: export/hift_builder.py, so that a bundle exported before it can be compared
with it) is timed in each round next to the bundle's own one.
"""
import argparse
import json
import os
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


def write_generator(hift, tmp: Path) -> Path:
    """The generator graph export/hift_builder.py writes (as the exporter post-processes it)."""
    import onnx

    from cosyvoice_export import __version__
    from cosyvoice_export.export import hift_builder, hift_graphs, onnx_io

    path = tmp / "hift_generator.written.onnx"
    onnx.save(hift_builder.build_generator(hift), str(path))
    onnx_io.postprocess(path, "hift_generator", __version__, hift_graphs.generator_io(hift)[2])
    return path


def convolution_gflop(hift, mel, src) -> float:
    """Multiply-adds x 2 of every Conv1d/ConvTranspose1d call in one inference (F0 predictor included):
    the arithmetic both sides must do, so seconds / this = each side's achieved rate. Counted with forward
    hooks, removed afterwards."""
    total = [0.0]

    def count(module, inputs, output):
        per_output = module.in_channels // module.groups * module.kernel_size[0]
        if isinstance(module, torch.nn.ConvTranspose1d):  # every input sample scatters into k outputs
            total[0] += 2.0 * inputs[0].shape[-1] * module.in_channels * module.out_channels // module.groups \
                * module.kernel_size[0]
        else:
            total[0] += 2.0 * output.shape[0] * output.shape[-1] * module.out_channels * per_output

    hooks = [m.register_forward_hook(count) for m in hift.modules()
             if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d))]
    try:
        with torch.no_grad():
            hift.inference(mel, src, True)
    finally:
        for h in hooks:
            h.remove()
    return total[0] / 1e9


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("bundle", type=Path)
    p.add_argument("--frames", type=int, default=250)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--generator", action="append", default=[],
                   help="another generator graph for the C++ side (repeatable), timed next to the bundle's")
    p.add_argument("--write-generator", action="store_true",
                   help="also time the generator written by export/hift_builder.py from CHECKPOINT")
    p.add_argument("--bench", type=Path, default=ROOT / "build" / "bin" / "bench_vocoder")
    p.add_argument("--isa", choices=("native", "avx2"), default="native",
                   help="avx2: PyTorch's oneDNN and the project's kernels capped at AVX2 (see above)")
    a = p.parse_args()
    if a.isa == "avx2":  # before oneDNN's first primitive; the engine's processes inherit the environment
        os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX2"
        os.environ["COSYVOICE_KERNEL_ISA"] = "avx2"
    torch.set_num_threads(a.threads)
    hift = checkpoint.load_model_dir(a.checkpoint, components=("hift",)).hift
    gen = torch.Generator().manual_seed(0)
    mel = torch.clamp(torch.randn(1, 80, a.frames, generator=gen) * 2 - 5, -11.5, 2)
    src = torch.from_numpy(noise.hift_source_noise(a.frames * hift.cfg.samples_per_frame))
    with tempfile.TemporaryDirectory() as tmp:
        mel_path = Path(tmp) / "mel.npy"
        np.save(mel_path, mel[0].numpy())
        graphs = [("bundle", "")] + [(Path(g).name, g) for g in a.generator]
        if a.write_generator:
            graphs.append(("written", str(write_generator(hift, Path(tmp)))))
        base = [str(a.bench), str(a.bundle), str(mel_path), "--threads", str(a.threads), "--runs", "1",
                "--warmup", "1", "--json"]
        gflop = convolution_gflop(hift, mel, src)  # also the warm-up
        ref, cpp = [], {name: [] for name, _ in graphs}
        for r in range(a.rounds):
            t0 = time.perf_counter()
            hift.inference(mel, src, True)
            ref.append(time.perf_counter() - t0)
            line = [f"PyTorch {ref[-1]:.3f} s"]
            for name, g in graphs:
                out = subprocess.run(base + (["--generator", g] if g else []), capture_output=True, text=True,
                                     check=True)
                cpp[name].append(json.loads(out.stdout))
                line.append(f"C++ [{name}] {cpp[name][-1]['seconds']:.3f} s")
            print(f"round {r + 1}: " + ", ".join(line), flush=True)
    med = lambda v: float(np.median(v))  # noqa: E731
    audio = a.frames / 50.0
    isa = "" if a.isa == "native" else ", oneDNN and the project's kernels capped at AVX2"
    print(f"{a.frames} frames ({audio:.1f} s of audio), {a.threads} threads, {a.rounds} rounds{isa}, medians:")
    print(f"  convolutions: {gflop:.1f} GFLOP per inference (the machine's fp32 FMA peak bounds the rate:"
          f" docs/quantization.md §4)")
    print(f"  PyTorch HiFT (torch {torch.__version__})  {med(ref):.3f} s (min {min(ref):.3f} s)"
          f"  {gflop / med(ref):.0f} GFLOP/s")
    for name, parts in cpp.items():
        m = {k: med([x[k] for x in parts]) for k in ("seconds", "f0_seconds", "source_seconds",
                                                        "generator_seconds", "istft_seconds")}
        print(f"  C++ vocoder [{name}]  {m['seconds']:.3f} s  (F0 {m['f0_seconds']:.3f}, source "
              f"{m['source_seconds']:.3f}, generator {m['generator_seconds']:.3f}, ISTFT {m['istft_seconds']:.3f})"
              f"  speed vs PyTorch {med(ref) / m['seconds']:.2f}x; min {min(x['seconds'] for x in parts):.3f} s "
              f"({min(ref) / min(x['seconds'] for x in parts):.2f}x); {gflop / m['seconds']:.0f} GFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
