"""The flow, HiFT and float16 variants of a bundle (config.json ``variants``, docs/bundle.md §7).

:func:`make_variant` writes one variant's graph beside the base graph of an existing bundle and
returns its ``variants`` entry with ``gate.status = "untested"`` (``cosyvoice ab`` judges it), or
``"parity"`` for a float32 rewrite checked against the base graph (a spec with a ``check``).

====== ============= ======================================= ==========================================
family name          file                                    what
====== ============= ======================================= ==========================================
flow   int8          ``flow/flow_estimator.int8.onnx``       DiT products int8 (:mod:`.int8`, dynamic
                                                             route; time embedding and output
                                                             projection stay float32), CPU
flow   fp16          ``flow/flow_estimator.fp16.onnx``       DiT in float16 (:mod:`.fp16`), GPU providers
flow   fp32-panel    ``flow/flow_estimator.panel.onnx``      DiT weight products as the custom operator
                                                             ``PanelMatMul`` (:mod:`.panels`: nothing for
                                                             ONNX Runtime to pack at load), CPU; float32,
                                                             checked against the base graph (gate
                                                             ``parity``); needs the ops library
hift   fp16          ``hift/hift_generator.fp16.onnx``       generator in float16, GPU providers
hift   fp32-winograd ``hift/hift_generator.winograd.onnx``   generator convolutions and Snake activations
                                                             as the custom operators ``WinogradConv1d``
                                                             and ``Snake`` (:mod:`.winograd`), CPU;
                                                             float32, checked against the base graph
                                                             (gate ``parity``); needs the ops library
llm    fp16          ``llm/llm.fp16.onnx``                   LLM graph in float16, GPU providers
====== ============= ======================================= ==========================================

The float16 variants are made for GPU execution providers; ONNX Runtime's CPU provider runs them by
casting to float32 around every node without a float16 kernel (slower than float32), which is
enough to check them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import onnx

from . import fp16 as Q16
from . import int8 as Q8
from . import panels as QP
from . import winograd as QW
from .weights import find_weight_products

GPU_PROVIDERS = ["cuda", "webgpu"]


@dataclass
class VariantSpec:
    family: str
    name: str
    precision: str
    field: str                       # the family's config field the file replaces
    suffix: str                      # inserted before ".onnx"
    providers: List[str]
    make: Callable[[onnx.ModelProto], Dict[str, object]]   # rewrites in place, returns the description
    exclude: Tuple[str, ...] = ()
    notes: Dict[str, object] = field(default_factory=dict)
    # float32 rewrites: (base graph, written graph, family config, bundle-relative path, threads, log) ->
    # the parity record; raises ParityError. A variant with a check gets gate status "parity".
    check: Optional[Callable[..., Dict[str, object]]] = None
    custom_ops: bool = False         # uses org.cosyvoice_ort operators: needs the ops library to be checked


def _int8_dit(model: onnx.ModelProto) -> Dict[str, object]:
    opts = Q8.Int8Options(route="dynamic", weight_bits=7)
    products = find_weight_products(model, opts.min_size)
    keep = [p.node.name for p in products if any(s in p.node.name for s in DIT_FLOAT_PRODUCTS)]
    done = Q8.quantize_int8(model, opts, only=[p.node.name for p in products if p.node.name not in keep])
    desc = opts.describe()
    desc.update({"products": len(done), "kept_float": keep})
    return desc


def _fp16(model: onnx.ModelProto) -> Dict[str, object]:
    opts = Q16.Fp16Options()
    stats = Q16.convert_fp16(model, opts)
    desc = opts.describe()
    desc.update(stats)
    return desc


def _winograd_check(base: Path, written: Path, family: dict, rel: str, threads: int,
                    log: Callable[[str], None]) -> Dict[str, object]:
    hop = family.get("hop_length")
    if not hop:
        raise ValueError("hift/fp32-winograd: the config's hift.hop_length (samples per frame) is needed to "
                         "build the generator's harmonics input")
    return QW.check_generator(base, written, int(hop), rel, threads, log)


def _panel_check(base: Path, written: Path, family: dict, rel: str, threads: int,
                 log: Callable[[str], None]) -> Dict[str, object]:
    return QP.check_graph(base, written, rel, threads, log)


# the DiT products left in float32: the time embedding (2 rows per call, its error reaches every
# block's modulation) and the output projection (80 columns, the velocity itself)
DIT_FLOAT_PRODUCTS = ("/time_embed/", "/proj_out/")

SPECS: Dict[Tuple[str, str], VariantSpec] = {(s.family, s.name): s for s in [
    VariantSpec("flow", "int8", "int8", "estimator", "int8", ["cpu"], _int8_dit),
    VariantSpec("flow", "fp16", "fp16", "estimator", "fp16", GPU_PROVIDERS, _fp16),
    VariantSpec("flow", "fp32-panel", "fp32", "estimator", "panel", ["cpu"], QP.rewrite_products,
                check=_panel_check, custom_ops=True),
    VariantSpec("hift", "fp16", "fp16", "generator", "fp16", GPU_PROVIDERS, _fp16),
    VariantSpec("hift", "fp32-winograd", "fp32", "generator", "winograd", ["cpu"], QW.rewrite_generator,
                check=_winograd_check, custom_ops=True),
    VariantSpec("llm", "fp16", "fp16", "file", "fp16", GPU_PROVIDERS, _fp16),
]}


def available() -> List[str]:
    return [f"{f}/{n}" for f, n in SPECS]


def variant_path(base_rel: str, suffix: str) -> str:
    stem, ext = os.path.splitext(base_rel)
    return f"{stem}.{suffix}{ext}"


def _family_graphs(config: dict, family: str, spec: VariantSpec) -> List[Tuple[str, str]]:
    """(field, bundle-relative file) of every graph the variant rewrites: the family's field, and for
    the flow the streaming chunk graph of the same DiT when the bundle has one (docs/streaming.md),
    so that exact/fast streaming runs in the variant's precision too."""
    graphs = [(spec.field, config[family][spec.field])]
    chunk = (config.get("flow", {}).get("estimator_chunk") or {}).get("file")
    if family == "flow" and spec.field == "estimator" and chunk:
        graphs.append(("estimator_chunk.file", chunk))
    return graphs


def require(family: str, name: str) -> None:
    """Raises (before anything is made) when what the variant needs is missing: the ops library of a
    variant with custom operators (FileNotFoundError naming its path and how to build it)."""
    spec = SPECS.get((family, name))
    if spec is not None and spec.custom_ops:
        from ..ort import ops_library_path

        ops_library_path()


def _write_graph(spec: VariantSpec, src: Path, dst: Path, rel: str, family_config: dict, threads: int,
                 log: Callable[[str], None]) -> Dict[str, object]:
    """Rewrites ``src`` into ``dst``; a spec's check runs on the written file before it takes the
    name ``dst``, so a graph that fails it is never left behind. Returns the description."""
    model = onnx.load(str(src))
    made = spec.make(model)
    tmp = dst.with_name(dst.name + ".tmp")
    onnx.save(model, str(tmp))
    del model
    try:
        if spec.check is not None:
            made["parity"] = spec.check(src, tmp, family_config, rel, threads, log)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return made


def make_variant(bundle: Path, config: dict, family: str, name: str, out_root: Optional[Path] = None,
                 log: Callable[[str], None] = print, threads: int = 2) -> Tuple[dict, List[str]]:
    """Writes the variant's graph(s) under ``out_root`` (default: the bundle) at the same relative
    paths the entry names; returns (``variants`` entry, list of files written, bundle-relative).
    ``threads``: ONNX Runtime threads of a float32 variant's parity check."""
    spec = SPECS.get((family, name))
    if spec is None:
        raise ValueError(f"unknown variant {family}/{name}; known: {', '.join(available())}")
    require(family, name)
    files: Dict[str, str] = {}
    desc: Dict[str, object] = {}
    for field_name, base_rel in _family_graphs(config, family, spec):
        rel = variant_path(base_rel, spec.suffix)
        dst = Path(out_root or bundle) / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        log(f"[quantize] {family}/{name}: reading {base_rel}")
        made = _write_graph(spec, Path(bundle) / base_rel, dst, rel, config[family], threads, log)
        if not desc:
            desc = made
        else:  # the chunk graph: same recipe; keep what differs (its counts of rewritten nodes)
            desc[field_name.split(".")[0]] = {k: v for k, v in made.items() if desc.get(k) != v}
        log(f"[quantize] {family}/{name}: wrote {rel} ({dst.stat().st_size / 1e6:.1f} MB, {time.time() - t0:.0f} s)")
        files[field_name] = rel
    gate = {"status": "parity" if spec.check is not None else "untested"}
    entry = {"name": spec.name, "precision": spec.precision, "providers": list(spec.providers),
             "files": files, "quantization": desc, "gate": gate}
    return entry, list(files.values())
