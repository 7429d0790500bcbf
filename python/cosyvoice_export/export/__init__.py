"""``export``: write the model bundle (docs/bundle.md) from a CosyVoice3 checkpoint directory.

    /usr/bin/python3 -m cosyvoice_export export --checkpoint Fun-CosyVoice3-0.5B-2512 --out bundle

Every graph is checked against its PyTorch module with ONNX Runtime at export time (the
differences are printed and recorded in ``config.json`` under ``checks``); the bundle is written
to a temporary directory and renamed into place only when everything passed.

Modules: :mod:`.bundle` (the orchestration and ``config.json``), :mod:`.llm_graph`,
:mod:`.flow_graphs`, :mod:`.hift_graphs` (the traced wrappers), :mod:`.parity`, :mod:`.onnx_io`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "export a CosyVoice3 checkpoint to the ONNX model bundle the C++ engine reads (docs/bundle.md)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, type=Path,
                   help="model directory in the released layout (cosyvoice3.yaml, llm.pt, flow.pt, hift.pt, "
                        "campplus.onnx, speech_tokenizer_v3.onnx, CosyVoice-BlankEN/)")
    p.add_argument("--out", required=True, type=Path, help="bundle directory to create")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (only after a successful export)")
    p.add_argument("--name", default=None, help="model name recorded in config.json (default: the checkpoint "
                                                "directory's name)")
    p.add_argument("--threads", type=int, default=2, help="threads for PyTorch and ONNX Runtime (default 2)")
    p.add_argument("--ort-report", action="store_true",
                   help="also print each graph's operator counts before/after ONNX Runtime's CPU optimizations")
    p.add_argument("--quiet", action="store_true", help="print only errors and the final line")
    p.add_argument("--no-streaming-graph", dest="streaming_graph", action="store_false",
                   help="leave out flow/flow_estimator_chunk.onnx (the DiT again, 1.3 GB at full size): the engine "
                        "then streams by recomputation only (docs/streaming.md)")
    p.add_argument("--quantize", default=None, metavar="SPEC",
                   help="also write variants (docs/bundle.md §7): precisions for every family that has them "
                        "('int4,int8') or per family ('llm=fp32+int8+int4,flow=int8'); LLM: fp32 (fused graph), "
                        "panel (fp32-panel: the fused float32 graph with the custom operator PanelMatMul, needs the ops "
                        "library), int8, int4, fp16; flow: int8, fp16, panel (fp32-panel: the DiT's products as PanelMatMul, needs the ops "
                        "library); hift: fp16, winograd (fp32-winograd: the custom operators "
                        "WinogradConv1d and Snake, needs the ops library of `make build`; see quantize --help) "
                        "(docs/quantization.md)")
    from ..quantize import add_llm_variant_arguments  # the same options as the quantize command

    add_llm_variant_arguments(p)

# families this exporter can make variants of, and their precisions (quantize.parse_spec)
VARIANT_FAMILIES = {"llm": ("fp32", "panel", "int8", "int4", "fp16"), "flow": ("int8", "fp16", "panel"),
                    "hift": ("fp16", "winograd")}


def quantize_options(args: argparse.Namespace):
    """--quantize and its options -> {family: options} (None when --quantize is absent)."""
    if not args.quantize:
        return None
    from ..quantize import parse_spec
    from .llm_variants import LlmVariantOptions

    from ..quantize import GRAPH_ONLY, graph_variant_list

    spec = parse_spec(args.quantize, VARIANT_FAMILIES)
    out = {}
    llm = [p for p in spec.get("llm", []) if p not in GRAPH_ONLY["llm"]]
    if llm:
        out["llm"] = LlmVariantOptions(precisions=llm, block_size=args.block_size,
                                       accuracy_level=args.accuracy_level, head=args.llm_head,
                                       text_embedding=args.text_embedding)
        out["llm"].validate()
    graph = graph_variant_list({f: [p for p in spec.get(f, []) if p in GRAPH_ONLY[f]] for f in GRAPH_ONLY})
    if graph:
        out["graphs"] = graph      # [(family, name)] made by cosyvoice_export.quant
    return out


def main(args: argparse.Namespace) -> int:
    from ..checkpoint import CheckpointError
    from ..hparams import ConfigError
    from .bundle import export_bundle
    from .onnx_io import ExportError
    from .parity import ParityError

    if args.threads < 1:
        print("error: --threads must be >= 1", file=sys.stderr)
        return 2
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    try:
        quantize = quantize_options(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:             # a variant's requirement (the ops library), before exporting
        print(f"error: export failed: {e}", file=sys.stderr)
        print(f"error: nothing was written to {args.out}", file=sys.stderr)
        return 1
    try:
        config = export_bundle(args.checkpoint, args.out, threads=args.threads, force=args.force, name=args.name,
                               ort_report=args.ort_report, log=log, quantize=quantize,
                               streaming_graph=args.streaming_graph)
    except (ExportError, ConfigError, CheckpointError, ParityError, FileNotFoundError) as e:
        print(f"error: export failed: {e}", file=sys.stderr)
        print(f"error: nothing was written to {args.out}", file=sys.stderr)
        return 1
    total = sum(f["bytes"] for f in config["files"].values())
    print(f"exported {config['model']['name']} to {args.out} ({len(config['files']) + 1} files, "
          f"{total / 1e6:.1f} MB); parity: " + ", ".join(
              f"{Path(k).stem} {v['max_rel_diff']:.1e}" for k, v in config["checks"].items()))
    return 0
