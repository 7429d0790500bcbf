#!/usr/bin/env python3
"""Side by side: one flow ODE step (the DiT estimator, CFG batch 2, T frames, full attention) of the
float32 graph and of variant graphs on the same inputs, alternating in every round.

    PYTHONPATH=python /usr/bin/python3 bench/compare_flow_step.py FP32.onnx VARIANT.onnx... \\
        [--frames 400] [--threads 1] [--rounds 5]

Prints per graph the median and minimum wall time and the median process CPU time per step, the
ratios to the first graph, and the relative RMS difference of its velocity from the first graph's.
With one thread the CPU time is the work itself, which the load of a shared machine does not
change much (its wall time it does); that is the ratio to quote from a busy machine.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from cosyvoice_export.ort import OrtGraph  # noqa: E402


def feeds_for(graph: OrtGraph, frames: int, seed: int = 0) -> dict:
    gen = np.random.default_rng(seed)
    out = {}
    for name, dtype, shape in graph.inputs:
        if name == "attention_chunk":
            out[name] = np.array(frames, np.int64)
        elif name == "t":
            out[name] = np.full(2, 0.5, np.float32)
        elif name == "spks":
            out[name] = gen.standard_normal((2, shape[1]), dtype=np.float32)
        else:  # x, mu, cond: [B, mel, T]
            out[name] = gen.standard_normal((2, shape[1], frames), dtype=np.float32)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("graphs", nargs="+", type=Path, help="the float32 estimator first, then variants")
    p.add_argument("--frames", type=int, default=400)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    sessions = [OrtGraph(g, threads=a.threads) for g in a.graphs]
    feeds = feeds_for(sessions[0], a.frames)
    outs = [s.run(feeds)["velocity"] for s in sessions]  # warm-up, and the velocities compared
    wall = [[] for _ in sessions]
    cpu = [[] for _ in sessions]
    for r in range(a.rounds):
        for i, s in enumerate(sessions):
            c0, t0 = time.process_time(), time.perf_counter()
            s.run(feeds)
            wall[i].append(time.perf_counter() - t0)
            cpu[i].append(time.process_time() - c0)
        print(f"round {r + 1}: " + ", ".join(f"{g.name} {w[-1]:.2f} s" for g, w in zip(a.graphs, wall)), flush=True)
    ref = outs[0].astype(np.float64)
    print(f"one step, batch 2, {a.frames} frames, {a.threads} thread(s), {a.rounds} rounds "
          f"(speed: first graph's time / this one's)")
    for i, g in enumerate(a.graphs):
        w, wm, c = statistics.median(wall[i]), min(wall[i]), statistics.median(cpu[i])
        err = float(np.sqrt(np.mean((outs[i] - ref) ** 2)) / np.sqrt(np.mean(ref ** 2)))
        print(f"  {g}: wall median {w:.3f} s ({statistics.median(wall[0]) / w:.2f}x), min {wm:.3f} s "
              f"({min(wall[0]) / wm:.2f}x), CPU {c:.3f} s ({statistics.median(cpu[0]) / c:.2f}x); "
              f"velocity rel. RMS difference {err:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
