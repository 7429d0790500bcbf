#!/usr/bin/env python3
"""Variant bundles of the tiny model for the `cosyvoice ab` end-to-end tests (files symlinked).

usage: make_ab_variants.py BUNDLE OUT_DIR
  same_math/   flow/flow_estimator.onnx re-saved with another doc string: a different file computing
               exactly the same (every figure of the gate is 0 or 1: must pass)
  quantized/   BUNDLE plus its flow/int8 variant (`quantize --out quantized --flow int8`, format 1.1)
  flow_int8/   `variant view quantized flow/int8`: that variant's estimator as the base estimator
  broken/      the estimator's output projection scaled by 1.5: the velocity, hence the mel, is far
               off (must fail the gate: mel L1 and log-spectral distance over their thresholds)
"""
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

from cosyvoice_export import variant  # noqa: E402
from cosyvoice_export.quantize import quantize_bundle  # noqa: E402
from cosyvoice_export.export.llm_variants import LlmVariantOptions  # noqa: E402

EST = "flow/flow_estimator.onnx"


def clone(bundle: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    for root, _, files in os.walk(bundle):
        rel = Path(root).relative_to(bundle)
        (out / rel).mkdir(parents=True, exist_ok=True)
        for f in files:
            if f != "config.json":
                os.symlink((Path(root) / f).resolve(), out / rel / f)
    return json.loads((bundle / "config.json").read_text(encoding="utf-8"))


def replace(out: Path, config: dict, rel: str, model: onnx.ModelProto) -> None:
    dst = out / rel
    dst.unlink()
    onnx.save(model, str(dst))
    data = dst.read_bytes()
    config["files"][rel] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (out / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False), encoding="utf-8")


def main() -> int:
    bundle, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)

    out = out_dir / "same_math"
    cfg = clone(bundle, out)
    m = onnx.load(str(bundle / EST))
    m.doc_string = "re-saved for the A/B end-to-end test"
    replace(out, cfg, EST, m)

    shutil.rmtree(out_dir / "quantized", ignore_errors=True)
    quantize_bundle(bundle, out_dir / "quantized", LlmVariantOptions(precisions=[]), force=True,
                    log=lambda s: None, graph_variants=[("flow", "int8")])
    variant.view(out_dir / "quantized", "flow/int8", out_dir / "flow_int8", force=True)

    out = out_dir / "broken"
    cfg = clone(bundle, out)
    m = onnx.load(str(bundle / EST))
    proj = next(n for n in m.graph.node if n.op_type == "MatMul" and "proj_out" in n.name)
    init = next(i for i in m.graph.initializer if i.name == proj.input[1])
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(1.5), init.name))
    replace(out, cfg, EST, m)
    print(f"wrote {out_dir}/{{same_math,quantized,flow_int8,broken}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
