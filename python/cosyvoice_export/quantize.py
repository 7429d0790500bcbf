"""``quantize``: add variants (docs/bundle.md §7) to an existing bundle.

    /usr/bin/python3 -m cosyvoice_export quantize BUNDLE --llm int4,int8,fp32            # in place
    /usr/bin/python3 -m cosyvoice_export quantize BUNDLE --out NEW --llm int4             # a new bundle
    /usr/bin/python3 -m cosyvoice_export quantize BUNDLE --flow int8,fp16 --hift fp16     # flow / vocoder
    /usr/bin/python3 -m cosyvoice_export quantize BUNDLE --hift winograd                  # needs the ops library
    /usr/bin/python3 -m cosyvoice_export quantize BUNDLE --llm panel --flow panel         # needs the ops library

``--llm fp16``, ``--flow int8|fp16`` and ``--hift fp16|winograd`` are made by :mod:`cosyvoice_export.quant`
(docs/quantization.md); without any of --llm/--flow/--hift the LLM's fp32, int8 and int4 are made.
As ``--llm fp32`` names the variant ``fp32-fused``, ``--hift winograd`` names ``fp32-winograd``: the
generator's convolutions and Snake activations as the custom operators ``WinogradConv1d`` and ``Snake``,
float32, checked against the base
generator graph with the ops library (``$COSYVOICE_OPS_LIBRARY``, else ``build/lib/libcosyvoice_ops.so``
of ``make build``); without the library nothing is made. ``--llm panel`` names ``fp32-panel``: the fused
float32 graph with its products as the custom operator ``PanelMatMul`` (quant/panels.py), whose weights ONNX
Runtime need not pack when it loads the graph; it also needs the library, and is checked like ``fp32-fused``;
``--flow panel`` names ``fp32-panel`` of the flow: the DiT's weight products (both DiT graphs) the same way,
checked against the base graphs.

In place, the new files are made in a temporary directory inside BUNDLE and moved into place only
when every one is written and checked; ``config.json`` is replaced last (atomically). With
``--out`` the new bundle holds hard links (or copies, across file systems) of BUNDLE's files plus
the variants, and BUNDLE is not touched. Existing variants of the same name are refused unless
``--force``.

The LLM graphs are built from BUNDLE's ``llm/llm.onnx`` weights, or from the PyTorch checkpoint with
``--checkpoint`` (then the checks compare with PyTorch instead of the bundle's fp32 graph).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

HELP = "add quantized / fused variants (LLM int4, int8, fused fp32) to an existing bundle (docs/bundle.md §7)"


def parse_spec(text: str, families: Dict[str, tuple]) -> Dict[str, List[str]]:
    """``int4,int8`` (every family that has the precision) or ``llm=int4+int8,flow=int8``
    -> {family: [precision, ...]}."""
    out: Dict[str, List[str]] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "=" in item:
            fam, precs = item.split("=", 1)
            if fam not in families:
                raise ValueError(f"--quantize: unknown family {fam!r} (this exporter makes: {', '.join(families)})")
            for p in precs.split("+"):
                if p not in families[fam]:
                    raise ValueError(f"--quantize: {fam} has no {p!r} variant (available: {', '.join(families[fam])})")
                out.setdefault(fam, []).append(p)
        else:
            hit = [f for f, precs in families.items() if item in precs]
            if not hit:
                raise ValueError(f"--quantize: no family has a {item!r} variant")
            for f in hit:
                out.setdefault(f, []).append(item)
    return {f: sorted(set(p), key=p.index) for f, p in out.items()}


def add_llm_variant_arguments(p: argparse.ArgumentParser) -> None:
    """How the int8/int4 LLM variants are made; shared by `quantize` and `export --quantize`."""
    p.add_argument("--block-size", type=int, default=32,
                   help="MatMulNBits block size of the LLM variants (default 32; docs/quantization.md)")
    p.add_argument("--accuracy-level", type=int, default=4,
                   help="MatMulNBits accuracy_level of the LLM variants (default 4: int8 activations; "
                        "docs/quantization.md)")
    p.add_argument("--llm-head", choices=("fp32", "int8"), default="fp32",
                   help="llm_decoder in the int8/int4 LLM graphs (default fp32)")
    p.add_argument("--text-embedding", choices=("fp16", "fp32"), default="fp16",
                   help="text embedding table of the int8/int4 LLM variants (default fp16)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", type=Path, help="bundle directory (docs/bundle.md)")
    p.add_argument("--out", type=Path, default=None,
                   help="write a new bundle here (hard links of BUNDLE's files + the variants) instead of adding "
                        "the variants to BUNDLE")
    p.add_argument("--llm", default=None,
                   help="LLM variants to make, comma-separated: fp32 (variant fp32-fused: the fused graph, "
                        "fp32-equivalent), panel (variant fp32-panel: the fused float32 graph with its products as "
                        "the custom operator PanelMatMul, which ONNX Runtime need not pack when it loads the graph; "
                        "CPU; needs the ops library like --hift winograd), int8, int4, fp16 (GPU providers) "
                        "(default: fp32,int8,int4 when no family is named)")
    p.add_argument("--flow", default="",
                   help="flow variants: int8 (DiT int8 weights, CPU), fp16 (GPU providers), panel (variant fp32-panel: the "
                        "DiT's weight products as the custom operator PanelMatMul, float32, CPU, checked against the base "
                        "graph; needs the ops library); docs/quantization.md")
    p.add_argument("--hift", default="",
                   help="vocoder variants, comma-separated: fp16 (GPU providers), winograd (variant fp32-winograd: "
                        "the generator's convolutions and Snake activations as the custom operators WinogradConv1d "
                        "and Snake, float32, CPU; checked "
                        "against the base graph, so it needs the ops library: $COSYVOICE_OPS_LIBRARY, else "
                        "build/lib/libcosyvoice_ops.so from `make build`)")
    add_llm_variant_arguments(p)
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="the checkpoint BUNDLE was exported from: weights and checks from PyTorch")
    p.add_argument("--threads", type=int, default=2, help="threads for ONNX Runtime (default 2)")
    p.add_argument("--force", action="store_true", help="replace variants of the same name; with --out, "
                                                         "replace an existing --out")
    p.add_argument("--quiet", action="store_true", help="print only errors and the final line")


def main(args: argparse.Namespace) -> int:
    from .export.llm_variants import LlmVariantOptions
    from .export.onnx_io import ExportError
    from .export.parity import ParityError
    from .export.variants import VariantError

    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    try:
        llm = args.llm if args.llm is not None else ("" if args.flow or args.hift else "fp32,int8,int4")
        llm_precisions = [p.strip() for p in llm.split(",") if p.strip()]
        graph_variants = graph_variant_list({"llm": [p for p in llm_precisions if p in GRAPH_ONLY["llm"]],
                                             "flow": [p.strip() for p in args.flow.split(",") if p.strip()],
                                             "hift": [p.strip() for p in args.hift.split(",") if p.strip()]})
        opts = LlmVariantOptions(precisions=[p for p in llm_precisions if p not in GRAPH_ONLY["llm"]],
                                 block_size=args.block_size, accuracy_level=args.accuracy_level, head=args.llm_head,
                                 text_embedding=args.text_embedding)
        if opts.precisions:
            opts.validate()
        config = quantize_bundle(args.bundle, args.out, opts, checkpoint_dir=args.checkpoint, threads=args.threads,
                                 force=args.force, log=log, graph_variants=graph_variants)
    except (ExportError, ParityError, VariantError, ValueError, FileNotFoundError) as e:
        print(f"error: quantize failed: {e}", file=sys.stderr)
        print(f"error: nothing was changed in {args.out or args.bundle}", file=sys.stderr)
        return 1
    names = ", ".join(f"{fam}/{v['name']} ({v['gate']['status']})" for fam, vs in config["variants"].items()
                      for v in vs)
    print(f"{args.out or args.bundle}: variants {names}")
    return 0


# variants written by cosyvoice_export.quant (a graph rewrite of the bundle's fp32 graph), per family,
# as the command line names them
GRAPH_ONLY = {"llm": ("fp16",), "flow": ("int8", "fp16", "panel"), "hift": ("fp16", "winograd")}
# command-line name -> the variant's name in config.json, where they differ (as --llm fp32 -> fp32-fused)
CLI_NAMES = {("hift", "winograd"): "fp32-winograd", ("flow", "panel"): "fp32-panel"}


def graph_variant_list(spec: Dict[str, List[str]]) -> List[tuple]:
    """{family: [name, ...]} -> [(family, config name)] of the quant.variants makers. Unknown names
    raise ValueError, and so does a variant whose requirements are missing (the ops library: a
    FileNotFoundError), here, before anything is made."""
    from .quant import variants as QV

    out = []
    for family, names in spec.items():
        for name in names:
            name = CLI_NAMES.get((family, name), name)
            if (family, name) not in QV.SPECS:
                raise ValueError(f"--{family}: no {name!r} variant (available: {', '.join(GRAPH_ONLY[family])})")
            QV.require(family, name)
            out.append((family, name))
    return out


def _load_config(bundle: Path) -> dict:
    from .export import variants as V
    from .export.onnx_io import ExportError

    path = bundle / "config.json"
    if not path.is_file():
        raise ExportError(f"{path}: not found (expected a bundle directory made by `export`)")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    if config.get("format") != "cosyvoice-ort-bundle" or config.get("format_version") not in (
            V.FORMAT_WITHOUT_VARIANTS, V.FORMAT_WITH_VARIANTS):
        raise ExportError(f"{path}: not a cosyvoice-ort bundle of format 1.0/1.1 (format "
                          f"{config.get('format')!r}, version {config.get('format_version')!r})")
    V.validate(config)
    for rel, entry in config["files"].items():
        p = bundle / rel
        if not p.is_file() or p.stat().st_size != entry["bytes"]:
            raise ExportError(f"{p}: missing or not {entry['bytes']} bytes as config.json records")
    return config


def _link_tree(src: Path, dst: Path, rels: List[str]) -> None:
    for rel in rels + ["config.json"]:
        d = dst / rel
        d.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src / rel, d)
        except OSError:
            shutil.copy2(src / rel, d)


def quantize_bundle(bundle: Path, out: Optional[Path], opts, checkpoint_dir: Optional[Path] = None,
                    threads: int = 2, force: bool = False, log: Callable[[str], None] = print,
                    graph_variants: Optional[List[tuple]] = None) -> dict:
    """Adds the LLM variants ``opts`` and the ``graph_variants`` [(family, name)] of
    :mod:`cosyvoice_export.quant` to ``bundle`` (or a new bundle ``out``); returns the new config."""
    from .export import variants as V
    from .quant import variants as QV
    from .export.bundle import _file_entry
    from .export.onnx_io import ExportError

    bundle = Path(bundle)
    config = _load_config(bundle)
    graph_variants = list(graph_variants or [])
    from .export.llm_variants import VARIANT_NAMES

    names = [("llm", VARIANT_NAMES.get(p, p)) for p in opts.precisions] + graph_variants
    clash = [f"{f}/{n}" for f, n in names if V.find(config, f, n)]
    if clash and not force:
        raise ExportError(f"{bundle}: already has variant(s) {', '.join(clash)} (pass --force to replace)")
    if not names:
        raise ExportError("nothing to make: name variants with --llm, --flow or --hift")
    if out is not None:
        out = Path(out)
        if out.exists() and not force:
            raise ExportError(f"{out}: already exists (remove it or pass --force)")
        target_tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
        if target_tmp.exists():
            shutil.rmtree(target_tmp)
        target_tmp.mkdir(parents=True)
        work = target_tmp
    else:
        work = bundle / f".quantize-{os.getpid()}"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir()
    try:
        entries, checks, written = (_llm_variants(bundle, work, config, opts, checkpoint_dir, threads, log)
                                    if opts.precisions else ([], {}, []))
        graph_entries = []
        for family, name in graph_variants:
            entry, files = QV.make_variant(bundle, config, family, name, out_root=work, log=log, threads=threads)
            graph_entries.append((family, entry))
            written += [work / rel for rel in files]
        new_files = {p.relative_to(work).as_posix(): _file_entry(p) for p in written}
        new_config = json.loads(json.dumps(config))
        new_config["files"].update(new_files)
        new_config["files"] = dict(sorted(new_config["files"].items()))
        new_config.setdefault("checks", {}).update(checks)
        for e in entries:
            V.add(new_config, "llm", e)
        if entries:
            _llm_fastest_first(new_config)
        for family, e in graph_entries:
            V.add(new_config, family, e)
        if out is not None:
            _link_tree(bundle, work, list(config["files"]))
            _write_config(work / "config.json", new_config)
            if out.exists():
                shutil.rmtree(out)
            os.replace(work, out)
        else:
            for rel in new_files:                      # every file is checked: move them into place
                (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(work / rel, bundle / rel)
            _write_config(bundle / "config.json", new_config)
            shutil.rmtree(work, ignore_errors=True)
        return new_config
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _llm_variants(bundle: Path, work: Path, config: dict, opts, checkpoint_dir, threads, log):
    """The LLM family's variants (export/llm_variants.py): (entries, checks, written paths)."""
    import numpy as np

    from .export import llm_fused as F
    from .export import llm_variants as LV

    llm = config["llm"]
    kv = (int(llm["num_kv_heads"]), int(llm["head_dim"]))
    text = np.load(str(bundle / llm["text_embedding"]), mmap_mode="r")
    speech = np.load(str(bundle / llm["speech_embedding"]), mmap_mode="r")
    gen = np.random.default_rng(20261204)

    def embeds(n: int) -> np.ndarray:
        t = gen.integers(0, text.shape[0], n // 2)
        s = gen.integers(0, speech.shape[0], n - n // 2)
        return np.concatenate([text[np.sort(t)], speech[s]], 0)[None].astype(np.float32)

    if checkpoint_dir is not None:
        from . import checkpoint, hparams

        cfg = hparams.load_model_dir(Path(checkpoint_dir))
        lm = checkpoint.load_llm(Path(checkpoint_dir) / "llm.pt", cfg.llm)
        weights = F.weights_from_lm(lm)
        ref = LV.torch_reference(lm)
        log(f"weights and reference: PyTorch from {checkpoint_dir}")
    else:
        weights = F.weights_from_bundle_graph(bundle / llm["file"], llm)
        ref = LV.graph_reference(bundle / llm["file"], int(llm["num_layers"]), kv, threads)
        log(f"weights and reference: {bundle / llm['file']}")
    entries, checks, written = LV.make_variants(work, weights, text, opts, ref, embeds, threads, log)
    del weights
    return entries, checks, list(written)


def _llm_fastest_first(config: dict) -> None:
    """The LLM family's entries in the exporter's order (export/llm_variants.py ``LLM_VARIANTS``:
    int4, int8, fp32-panel, fp32-fused; any other name after them, in its place among them):
    ``--precision fp32`` takes the first float32 variant the provider can run, so a variant added to
    a bundle later must not end up behind a slower one of its precision."""
    from .export.llm_variants import LLM_VARIANTS, VARIANT_NAMES

    rank = {VARIANT_NAMES.get(p, p): i for i, p in enumerate(LLM_VARIANTS)}
    family = config["variants"]["llm"]
    family[:] = sorted(family, key=lambda v: rank.get(v["name"], len(rank)))


def _write_config(path: Path, config: dict) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, path)
