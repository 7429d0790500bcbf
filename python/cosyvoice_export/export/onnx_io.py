"""Writing the bundle's ONNX graphs: torch export, post-processing and inspection.

* :func:`export_graph` traces a module with the TorchScript exporter (``dynamo=False`` where
  the flag exists), at opset 17, then post-processes the file: deduplicated initializers,
  only standard ``ai.onnx`` operators, the ``cosyvoice.*`` metadata, and ONNX external data
  only when the graph would exceed protobuf's 2 GB limit.
* :func:`op_counts` / :func:`ort_optimized_op_counts` count the operators before and after
  ONNX Runtime's graph optimizations (what ORT fused).
"""

from __future__ import annotations

import collections
import hashlib
import inspect
import os
import warnings
from pathlib import Path
from typing import Dict, Optional, Sequence

import onnx
import torch

OPSET = 17
FORMAT_VERSION = "1.0"
META_FORMAT = "cosyvoice.format_version"
META_GRAPH = "cosyvoice.graph"
PROTOBUF_LIMIT = 2 ** 31 - 1


class ExportError(RuntimeError):
    """A graph could not be exported or does not meet the bundle contract."""


def _export_kwargs() -> dict:
    extra = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        extra["dynamo"] = False          # torch >= 2.9 defaults to the dynamo exporter
    return extra


def export_graph(module: torch.nn.Module, args: tuple, path: Path, role: str, input_names: Sequence[str],
                 output_names: Sequence[str], shapes: Dict[str, Sequence], producer_version: str = "") -> Path:
    """Trace ``module(*args)`` into ``path`` and post-process it (see the module docstring).

    ``shapes`` maps every input and output name to its declared dims: an int, or a symbol such as
    "S" (a dynamic axis).  They are also written into the graph, since the tracer loses static
    dims through some ops and names unknown ones after itself."""
    missing = [n for n in list(input_names) + list(output_names) if n not in shapes]
    if missing:
        raise ExportError(f"{path}: no declared shape for {missing}")
    dynamic_axes = {n: {i: d for i, d in enumerate(dims) if isinstance(d, str)} for n, dims in shapes.items()}
    dynamic_axes = {n: a for n, a in dynamic_axes.items() if a}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # shape arithmetic in the wrappers is traced on purpose; the tracer's warnings are noise
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), input_names=list(input_names),
                          output_names=list(output_names), dynamic_axes=dynamic_axes,
                          opset_version=OPSET, do_constant_folding=True, **_export_kwargs())
    postprocess(path, role, producer_version, shapes)
    return path


def dedup_initializers(model: onnx.ModelProto) -> int:
    """Merge initializers with identical type, shape and bytes; returns how many were dropped."""
    graph = model.graph
    seen: Dict[tuple, str] = {}
    rename: Dict[str, str] = {}
    keep = []
    for init in graph.initializer:
        if init.raw_data:
            digest = hashlib.sha256(init.raw_data).digest()
        else:
            digest = hashlib.sha256(init.SerializeToString()).digest()
        key = (init.data_type, tuple(init.dims), digest)
        if key in seen:
            rename[init.name] = seen[key]
        else:
            seen[key] = init.name
            keep.append(init)
    if not rename:
        return 0
    graph_inputs = {i.name for i in graph.input}
    for name in rename:
        if name in graph_inputs:          # an initializer that is also a graph input: leave it
            rename.pop(name)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    for out in graph.output:
        if out.name in rename:
            raise ExportError(f"graph output {out.name} is a duplicated initializer")
    kept = [i for i in graph.initializer if i.name not in rename]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # value_info entries of dropped names are stale
    vi = [v for v in graph.value_info if v.name not in rename]
    del graph.value_info[:]
    graph.value_info.extend(vi)
    return len(rename)


def set_metadata(model: onnx.ModelProto, role: str) -> None:
    props = {p.key: p.value for p in model.metadata_props}
    props[META_FORMAT] = FORMAT_VERSION
    props[META_GRAPH] = role
    del model.metadata_props[:]
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)


def check_standard_ops(model: onnx.ModelProto, path: Path) -> None:
    bad = sorted({f"{n.domain}:{n.op_type}" for n in model.graph.node if n.domain not in ("", "ai.onnx")})
    if bad:
        raise ExportError(f"{path}: non-standard operators {bad}; the bundle allows only ai.onnx")
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx") and imp.version != OPSET:
            raise ExportError(f"{path}: opset {imp.version}, expected {OPSET}")


def set_declared_shapes(model: onnx.ModelProto, shapes: Dict[str, Sequence]) -> None:
    found = set()
    for vi in list(model.graph.input) + list(model.graph.output):
        if vi.name not in shapes:
            continue
        found.add(vi.name)
        shape = vi.type.tensor_type.shape
        dims = list(shapes[vi.name])
        del shape.dim[:]
        for d in dims:
            new = shape.dim.add()
            if isinstance(d, int):
                new.dim_value = d
            else:
                new.dim_param = str(d)
    missing = set(shapes) - found
    if missing:
        raise ExportError(f"declared shapes for unknown inputs/outputs {sorted(missing)}")


def postprocess(path: Path, role: str, producer_version: str = "", shapes: Optional[Dict[str, Sequence]] = None) -> None:
    model = onnx.load(str(path))
    if shapes:
        set_declared_shapes(model, shapes)
    dedup_initializers(model)
    check_standard_ops(model, path)
    set_metadata(model, role)
    model.producer_name = "cosyvoice_export"
    if producer_version:
        model.producer_version = producer_version
    for node in model.graph.node:         # stack traces of the tracer, if any
        node.doc_string = ""
    size = model.ByteSize()
    data = path.with_name(path.name + ".data")
    if data.exists():
        data.unlink()
    if size > PROTOBUF_LIMIT:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data.name, size_threshold=1024)
    else:
        onnx.save_model(model, str(path))
    del model
    onnx.checker.check_model(str(path))


def read_metadata(path: Path) -> Dict[str, str]:
    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


def op_counts(path: Path) -> Dict[str, int]:
    """Operator type -> node count ("domain:Op" outside ai.onnx)."""
    model = onnx.load(str(path), load_external_data=False)
    c = collections.Counter((n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}:{n.op_type}")
                            for n in model.graph.node)
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def ort_optimized_op_counts(path: Path, tmp_dir: Path, threads: int = 1) -> Dict[str, int]:
    """Operator counts of the graph after ONNX Runtime's ORT_ENABLE_ALL optimizations (CPU)."""
    from ..ort import OrtGraph

    out = Path(tmp_dir) / (Path(path).stem + ".ort-optimized.onnx")
    g = OrtGraph(path, threads=threads, optimized_model_path=out)
    g.close()
    try:
        return op_counts(out)
    finally:
        for f in (out, out.with_name(out.name + ".data")):
            if f.exists():
                os.unlink(f)


def graph_io(path: Path):
    """[(name, elem_type, dims)] for inputs and outputs; a dim is an int or its symbolic name."""
    model = onnx.load(str(path), load_external_data=False)

    def dims(vi):
        return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                for d in vi.type.tensor_type.shape.dim]

    inits = {i.name for i in model.graph.initializer}
    ins = [(v.name, v.type.tensor_type.elem_type, dims(v)) for v in model.graph.input if v.name not in inits]
    outs = [(v.name, v.type.tensor_type.elem_type, dims(v)) for v in model.graph.output]
    return ins, outs


def file_size_or_none(path: Optional[Path]) -> Optional[int]:
    return Path(path).stat().st_size if path and Path(path).exists() else None
