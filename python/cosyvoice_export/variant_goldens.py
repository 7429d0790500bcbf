"""``variant-goldens``: reference logits of a bundle's quantized LLM variants for the C++ parity tests.

    /usr/bin/python3 -m cosyvoice_export variant-goldens --bundle BUNDLE --goldens GOLDENS --out DIR

For every int8/int4 LLM variant in BUNDLE's config.json (docs/bundle.md §7) and every LLM segment
of GOLDENS (docs/goldens.md): the teacher-forced logits the variant's graph should give on the
reference's LLM input and tokens, from its own reference (export/llm_qref.py: the quantized
weights read from the graph file, MatMulNBits written out in numpy, float64), and the tolerances
derived there. Layout::

    DIR/manifest.json                       {"variants": {name: {file, precision, cases: {case: [
                                              {segment, steps, tol, flip, max_abs_ref}]}}}}
    DIR/<variant>/<case>/seg<i>_logits.npy  float32 [steps, speech_vocab_size]

The inputs are the goldens' ``seg<i>_lm_input.npy`` followed by the base bundle's speech embedding
of ``seg<i>_tokens.npy`` (the int variants keep the float32 speech table), so the graph alone is
judged; the variants' float16 text table is the A/B gate's business (docs/quantization.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from .export import llm_qref as Q

HELP = "reference logits of a bundle's quantized LLM variants (C++ parity tests)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bundle", required=True, type=Path, help="bundle with LLM variants (quantize --llm int8,int4)")
    p.add_argument("--goldens", required=True, type=Path, help="goldens of the same model (the goldens command)")
    p.add_argument("--out", required=True, type=Path, help="output directory (replaced)")
    p.add_argument("--quiet", action="store_true")


def segment_inputs(case_dir: Path, seg: int, speech_table: np.ndarray):
    """(teacher-forced inputs [n, hidden], index of the first checked position, steps)."""
    lm_input = np.load(case_dir / f"seg{seg}_lm_input.npy").astype(np.float32)
    tokens = np.load(case_dir / f"seg{seg}_tokens.npy").astype(np.int64)
    steps = int(np.load(case_dir / f"seg{seg}_logits.npy", mmap_mode="r").shape[0])
    fed = speech_table[tokens[:steps - 1]]
    return np.concatenate([lm_input, fed], 0), lm_input.shape[0] - 1, steps


def main(args: argparse.Namespace) -> int:
    log = (lambda m: None) if args.quiet else (lambda m: print(f"[variant-goldens] {m}", file=sys.stderr))
    config = json.loads((args.bundle / "config.json").read_text())
    llm = config["llm"]
    variants = [v for v in config.get("variants", {}).get("llm", []) if v["precision"] in ("int8", "int4")]
    if not variants:
        print(f"error: {args.bundle}/config.json: no int8/int4 llm variant (make one with `quantize --llm int4`)",
              file=sys.stderr)
        return 2
    manifest = json.loads((args.goldens / "manifest.json").read_text())
    speech_table = np.load(args.bundle / llm["speech_embedding"])
    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    out = {"format": "cosyvoice-ort-variant-goldens", "bundle": str(args.bundle), "variants": {}}
    t0 = time.perf_counter()
    for v in variants:
        rel = v["files"]["file"]
        model = Q.load_fused_graph(args.bundle / rel, float(llm["rope_theta"]))
        entry = {"file": rel, "precision": v["precision"], "cases": {}}
        for c in manifest["cases"]:
            # vc samples nothing; text-in streaming (bistream) has no per-segment LLM inputs (its
            # interleaved loop is checked on the base graph: TextStreamEqualsTheReference)
            if c["mode"] == "vc" or c.get("bistream", False):
                continue
            case_dir = args.goldens / c["dir"]
            segs = json.loads((case_dir / "case.json").read_text())["segments"]
            rows = []
            for s in range(len(segs)):
                x, first, steps = segment_inputs(case_dir, s, speech_table)
                r64 = Q.forward(model, x, np.float64)[first:]
                r32 = Q.forward(model, x, np.float32)[first:]
                rf = Q.forward(model, x, np.float64, int8_activations=False)[first:]
                assert r64.shape[0] == steps
                d = tmp / v["name"] / c["name"]
                d.mkdir(parents=True, exist_ok=True)
                np.save(d / f"seg{s}_logits.npy", r64.astype(np.float32))
                rows.append({"segment": s, "steps": steps, "tol": Q.tolerance(r64, r32),
                             "flip": Q.flip_bound(r64, rf), "max_abs_ref": float(np.max(np.abs(r64)))})
            entry["cases"][c["name"]] = rows
            log(f"{v['name']} {c['name']}: {len(rows)} segment(s)")
        out["variants"][v["name"]] = entry
    (tmp / "manifest.json").write_text(json.dumps(out, indent=1) + "\n")
    shutil.rmtree(args.out, ignore_errors=True)
    tmp.rename(args.out)
    log(f"{len(variants)} variant(s) in {args.out} ({time.perf_counter() - t0:.1f} s)")
    return 0
