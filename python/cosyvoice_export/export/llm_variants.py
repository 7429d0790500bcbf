"""The LLM family's variants (docs/bundle.md §7, docs/quantization.md): the fused fp32 graph and its
int8/int4 ``MatMulNBits`` forms, an fp16 text-embedding table, their checks and config entries.

Used by ``export --quantize`` (reference: the PyTorch ``CosyVoice3LM`` in memory) and by the
``quantize`` command on an existing bundle (reference: the PyTorch module when ``--checkpoint`` is
given, else the bundle's own ``llm/llm.onnx``, itself checked against PyTorch at export).

Checks (recorded in ``checks[<graph>]``):

* fp32 fused graph: every case within the fp32 logits tolerance of docs/parity.md (rel 1e-4), or
  the export fails; the variant's gate status is then ``parity``.
* int8/int4: the same cases, informational (max_rel of the logits, top-1 agreement); their
  quality is judged by the A/B gate (``cosyvoice ab``), so the status is ``untested``.

Every case runs the graph the way the engine does: one KV buffer per tensor shared by past and
present (``out_buffers`` aliasing the inputs), capacity larger than the sequence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import fp32_bounds as FB
from ..ort import OrtGraph, ops_library_path
from . import llm_fused as F
from . import variants as V
from .parity import GraphCheck, Tolerance

def tol_fused_fp32(w: "F.LlmWeights", cases: List[tuple]) -> Dict[str, Tolerance]:
    """The fp32 fused graph against PyTorch: two float32 evaluations of the LLM's chain over the longest
    case's positions, relative to the logits' scale (fp32_bounds.qwen2_depth; docs/parity.md)."""
    positions = max(c[2].shape[1] for c in cases)
    depth = FB.qwen2_depth(w.hidden, w.intermediate, len(w.layers), positions, w.num_heads * w.head_dim)
    return {"logits": Tolerance("rel", FB.pair(depth))}
# (kind, S, P): prefill at P = 0, decode / chunk on the graph's own cache after a prefill of P
CASES = (("prefill", 1, 0), ("prefill", 7, 0), ("prefill", 37, 0), ("decode", 1, 1), ("decode", 1, 37),
         ("chunk", 5, 10))
DECODE_RUN = 24            # then: prefill 12 and decode this many positions one by one, every step compared
GRAPH_NAMES = {"fp32": "llm/llm_fused_fp32.onnx", "panel": "llm/llm_fused_fp32_panel.onnx",
               "int8": "llm/llm_fused_int8.onnx", "int4": "llm/llm_fused_int4.onnx"}
# what `quantize --llm` takes: the fused graph's precisions and ``panel`` (variant fp32-panel: the
# float32 graph with its products as PanelMatMul, quant/panels.py); the order entries are written in,
# fastest first (``--precision fp32`` takes the first float32 one the provider can run)
LLM_VARIANTS = ("int4", "int8", "panel", "fp32")
VARIANT_NAMES = {"fp32": "fp32-fused", "panel": "fp32-panel"}
TEXT_EMBEDDING_FP16 = "llm/text_embedding_fp16.npy"

# A reference maps inputs_embeds [1, n, H] to the logits of every position [n, V].
Reference = Callable[[np.ndarray], np.ndarray]


def torch_reference(lm) -> Reference:
    import torch

    def ref(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            h, _ = lm(torch.from_numpy(np.ascontiguousarray(x)))
            return lm.logits(h)[0].numpy()
    return ref


def graph_reference(path: Path, num_layers: int, kv: Tuple[int, int], threads: int) -> Reference:
    """The bundle's traced ``llm/llm.onnx`` (BSNH past/new outputs) on its own cache, one position
    at a time (the use its export-time check covers: "prefill 36 + decode 1 = full 37")."""
    g = OrtGraph(path, threads=threads)
    nkv, hd = kv
    outs = ["logits"] + [f"new_{kv}_{i}" for i in range(num_layers) for kv in ("key", "value")]

    def ref(x: np.ndarray) -> np.ndarray:
        past = [[np.zeros((1, 0, nkv, hd), np.float32)] * 2 for _ in range(num_layers)]
        rows = []
        for t in range(x.shape[1]):
            feeds = {"inputs_embeds": np.ascontiguousarray(x[:, t:t + 1])}
            for i in range(num_layers):
                feeds[f"past_key_{i}"], feeds[f"past_value_{i}"] = past[i]
            got = g.run(feeds, outs)
            rows.append(got["logits"][0])
            past = [[np.concatenate([past[i][0], got[f"new_key_{i}"]], 1),
                     np.concatenate([past[i][1], got[f"new_value_{i}"]], 1)] for i in range(num_layers)]
        return np.stack(rows)
    return ref


def reference_cases(ref: Reference, embeds: Callable[[int], np.ndarray]) -> List[tuple]:
    """The inputs and reference logits of :data:`CASES` and the decode run, computed once and
    shared by every variant's check: [(name, kind, x, P, logits of the checked positions)]."""
    cases = []
    for kind, s, p in CASES:
        x = embeds(p + s)
        cases.append((f"{kind} S={s} P={p}", kind, x, p, ref(x)[-1:]))
    x = embeds(12 + DECODE_RUN)
    cases.append((f"prefill 12 + decode {DECODE_RUN}, shared buffer", "run", x, 12, ref(x)[11:]))
    return cases


class FusedRunner:
    """Drives a fused graph like the engine: one [1, nkv, capacity, hd] buffer per K/V tensor."""

    def __init__(self, path: Path, num_layers: int, kv: Tuple[int, int], threads: int = 2,
                 custom_ops: bool = False):
        self.g = OrtGraph(path, threads=threads, custom_ops_library=ops_library_path() if custom_ops else None)
        self.layers, (self.nkv, self.hd) = num_layers, kv
        self.k: List[np.ndarray] = []
        self.v: List[np.ndarray] = []
        self.length = 0

    def reset(self, capacity: int) -> None:
        # NaN, not zeros: a row the graph should not read would poison the output
        self.k = [np.full((1, self.nkv, capacity, self.hd), np.nan, np.float32) for _ in range(self.layers)]
        self.v = [np.full((1, self.nkv, capacity, self.hd), np.nan, np.float32) for _ in range(self.layers)]
        self.length = 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x [1, S, H] after the cached positions -> logits of the last position [V]."""
        s, p = x.shape[1], self.length
        feeds = {"inputs_embeds": np.ascontiguousarray(x, np.float32),
                 "seqlens_k": np.array([p + s - 1], np.int32), "total_sequence_length": np.array(p + s, np.int32)}
        bufs = {}
        for i in range(self.layers):
            feeds[f"past_key_{i}"], feeds[f"past_value_{i}"] = self.k[i], self.v[i]
            bufs[f"present_key_{i}"], bufs[f"present_value_{i}"] = self.k[i], self.v[i]
        out = self.g.run(feeds, ["logits"] + list(bufs), out_buffers=bufs)
        self.length += s
        return out["logits"][0]

    def close(self) -> None:
        self.g.close()


def check_graph(path: Path, rel: str, dtype: str, num_layers: int, kv: Tuple[int, int], cases: List[tuple],
                tol: Optional[Dict[str, Tolerance]], threads: int, log: Callable[[str], None],
                custom_ops: bool = False) -> dict:
    """Runs the fused graph on :func:`reference_cases`' inputs and compares the logits.
    ``tol`` None: informational (never fails); the figures also hold top-1 agreement. ``custom_ops``:
    the graph uses this project's operators (the ops library is registered)."""
    chk = GraphCheck(rel, dtype, tol or {}, log)
    run = FusedRunner(path, num_layers, kv, threads, custom_ops)
    agree = total = 0
    try:
        for name, kind, x, p, want in cases:
            run.reset(x.shape[1] + 3)
            t0 = time.perf_counter()
            if kind == "run":           # prefill p, then one position at a time
                got = np.stack([run.forward(x[:, :p])] + [run.forward(x[:, t:t + 1]) for t in range(p, x.shape[1])])
            else:
                if p:
                    run.forward(x[:, :p])
                got = run.forward(x[:, p:])[None]
            chk.compare(name, {"logits": got}, {"logits": want}, time.perf_counter() - t0)
            agree += int(np.sum(np.argmax(got, -1) == np.argmax(want, -1)))
            total += got.shape[0]
    finally:
        run.close()
    out = chk.finish() if tol else chk.to_json()
    out["top1_agreement"] = round(agree / total, 4)
    if not tol:
        out["tolerance"] = "informational: judged by the A/B gate (docs/quantization.md)"
    return out


@dataclass
class LlmVariantOptions:
    precisions: Sequence[str] = ("int4",)    # of LLM_VARIANTS
    block_size: int = 32
    accuracy_level: int = 4
    head: str = "fp32"                       # llm_decoder in the int8/int4 graphs: fp32 or int8
    text_embedding: str = "fp16"             # table of the int8/int4 variants: fp16 or fp32 (the base)

    def validate(self) -> None:
        if not self.precisions:
            raise ValueError("no LLM precision requested")
        for p in self.precisions:
            if p not in LLM_VARIANTS:
                raise ValueError(f"LLM precision {p!r}: expected one of {', '.join(LLM_VARIANTS)}")
        if self.text_embedding not in ("fp16", "fp32"):
            raise ValueError(f"text embedding {self.text_embedding!r}: expected fp16 or fp32")
        F.FusedOptions(block_size=self.block_size, accuracy_level=self.accuracy_level, head=self.head).validate()


def write_fp16_table(src: np.ndarray, path: Path) -> None:
    """float16 copy of a float32 [rows, dim] table, written row block by row block."""
    rows, dim = src.shape
    out = np.lib.format.open_memmap(str(path), mode="w+", dtype=np.float16, shape=(rows, dim))
    step = 1 << 14
    for r in range(0, rows, step):
        out[r:r + step] = src[r:r + step].astype(np.float16)
    out.flush()
    del out


def make_variants(root: Path, weights: F.LlmWeights, text_table: np.ndarray, opts: LlmVariantOptions,
                  ref: Reference, embeds: Callable[[int], np.ndarray], threads: int,
                  log: Callable[[str], None]) -> Tuple[List[dict], Dict[str, dict], List[Path]]:
    """Writes the requested LLM variants under ``root`` (a bundle directory being made);
    returns (variant entries, checks by file, files written). Order of the entries: fastest
    first (:data:`LLM_VARIANTS`), which is what ``--precision auto`` falls back to without figures."""
    opts.validate()
    if "panel" in opts.precisions:
        ops_library_path()          # before any work: its check needs the library (FileNotFoundError)
    written: List[Path] = []
    checks: Dict[str, dict] = {}
    entries: List[dict] = []
    kv = (weights.num_kv_heads, weights.head_dim)
    log("reference logits for the checks")
    cases = reference_cases(ref, embeds)
    table_rel = None
    (root / "llm").mkdir(parents=True, exist_ok=True)
    if opts.text_embedding == "fp16" and any(p not in ("fp32", "panel") for p in opts.precisions):
        table_rel = TEXT_EMBEDDING_FP16
        write_fp16_table(text_table, root / table_rel)
        written.append(root / table_rel)
        log(f"wrote {table_rel} (float16 {list(text_table.shape)})")
    for choice in sorted(set(opts.precisions), key=LLM_VARIANTS.index):
        rel = GRAPH_NAMES[choice]
        prec = "fp32" if choice == "panel" else choice
        fo = F.FusedOptions(precision=prec, block_size=opts.block_size, accuracy_level=opts.accuracy_level,
                            head=opts.head if prec != "fp32" else "fp32",
                            fp32_products="PanelMatMul" if choice == "panel" else "MatMul")
        t0 = time.perf_counter()
        files = F.write(weights, root / rel, fo)
        written += files
        log(f"wrote {rel} + .data ({sum(f.stat().st_size for f in files) / 1e6:.1f} MB, "
            f"{time.perf_counter() - t0:.1f} s)")
        # the same float32 inputs for graph and reference: this measures the graph alone (the fp16
        # table's effect is part of what the A/B gate judges)
        # PanelMatMul's products are K-term dot products like MatMul's: the same float32 tolerance
        checks[rel] = check_graph(root / rel, rel, "float32" if prec == "fp32" else prec, weights.num_layers, kv,
                                  cases, tol_fused_fp32(weights, cases) if prec == "fp32" else None, threads, log,
                                  custom_ops=choice == "panel")
        entry = {"name": VARIANT_NAMES.get(choice, choice), "precision": prec, "providers": ["cpu"],
                 "files": {"file": rel}, "quantization": fo.describe(),
                 "gate": {"status": "parity"} if prec == "fp32" else V.untested_gate()}
        if prec != "fp32" and table_rel:
            entry["files"]["text_embedding"] = table_rel
            entry["quantization"]["text_embedding"] = "float16"
        entries.append(entry)
    return entries, checks, written

