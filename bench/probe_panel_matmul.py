#!/usr/bin/env python3
"""Probe: ONNX Runtime's ``MatMul`` against the project's ``PanelMatMul`` on the full-size LLM's weight
products, and what each costs when the session is created (issue #16's load goal,
docs/quantization.md §7.2).

    PYTHONPATH=python /usr/bin/python3 bench/probe_panel_matmul.py [--layers 8] [--threads 2] [--rounds 2]

Writes two graphs of ``--layers`` decoder layers' four products each (q/k/v [896 x 1152], o [896 x
896], gate/up [896 x 9728], down [4864 x 896]; random weights, external data): one with ``MatMul``,
whose weights ONNX Runtime packs at session creation, one with ``org.cosyvoice_ort.PanelMatMul``,
whose weights are written in the kernel's layout (quant/panels.py; needs
``build/lib/libcosyvoice_ops.so`` or ``$COSYVOICE_OPS_LIBRARY``). Prints, per round and graph, the
session's creation time and the median time of a run for S = 1 (the decode), 64 and 256 rows (a
prefill), and the largest difference between the two graphs' outputs relative to their magnitude.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from cosyvoice_export.ort import OrtGraph, ops_library_path  # noqa: E402
from cosyvoice_export.quant import panels as P  # noqa: E402

SHAPES = ((896, 1152), (896, 896), (896, 9728), (4864, 896))
ROWS = (1, 64, 256)


def build(path: Path, layers: int, panel: bool, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    nodes, inits, outs = [], [], []
    for layer in range(layers):
        for i, (k, n) in enumerate(SHAPES):
            w = (rng.standard_normal((k, n)) * 0.03).astype(np.float32)
            name, x, y = f"w{layer}_{i}", f"x{k}", f"y{layer}_{i}"
            if panel:
                inits.append(numpy_helper.from_array(P.pack(w), name))
                nodes.append(helper.make_node(P.OP_TYPE, [x, name], [y], domain=P.DOMAIN, n=n))
            else:
                inits.append(numpy_helper.from_array(w, name))
                nodes.append(helper.make_node("MatMul", [x, name], [y]))
            outs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, None))
    inputs = [helper.make_tensor_value_info(f"x{k}", TensorProto.FLOAT, [1, "S", k]) for k in (896, 4864)]
    g = helper.make_graph(nodes, "products", inputs, outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(P.DOMAIN, P.OPSET)])
    m.ir_version = 8
    onnx.save(m, str(path), save_as_external_data=True, location=path.name + ".data")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    lib = ops_library_path()
    rng = np.random.default_rng(1)
    feeds = {s: {f"x{k}": rng.standard_normal((1, s, k)).astype(np.float32) for k in (896, 4864)} for s in ROWS}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"MatMul": Path(tmp) / "matmul.onnx", "PanelMatMul": Path(tmp) / "panel.onnx"}
        for name, path in paths.items():
            build(path, args.layers, name == "PanelMatMul")
        for r in range(args.rounds):
            results = {}
            for name, path in paths.items():
                t0 = time.perf_counter()
                g = OrtGraph(path, threads=args.threads, custom_ops_library=lib)
                line = [f"round {r + 1} {name:<11}: session {time.perf_counter() - t0:.2f} s"]
                results[name] = {}
                for s in ROWS:
                    results[name][s] = g.run(feeds[s])
                    times = []
                    for _ in range(20 if s == 1 else 5):
                        t = time.perf_counter()
                        g.run(feeds[s])
                        times.append(time.perf_counter() - t)
                    line.append(f"S={s} {np.median(times) * 1e3:.1f} ms")
                g.close()
                print("  ".join(line), flush=True)
            worst = max(float(np.abs(results["MatMul"][s][k] - results["PanelMatMul"][s][k]).max()
                              / np.abs(results["MatMul"][s][k]).max()) for s in ROWS for k in results["MatMul"][s])
            print(f"round {r + 1}: largest difference of the outputs, relative to their magnitude: {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
