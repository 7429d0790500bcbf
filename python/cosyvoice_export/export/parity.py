"""Export-time parity: every graph is run through ONNX Runtime and compared with its PyTorch module.

Metrics, per output tensor and case:

* ``max_abs_diff`` = max |ort - torch|;
* ``max_rel_diff`` = max_abs_diff / max |torch|, i.e. the error relative to the tensor's
  scale (an element-wise relative error is meaningless near zero).

Each output has a :class:`Tolerance` on one of the two (docs/bundle.md §3.7); a case that
exceeds it makes the export fail with :class:`ParityError`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional

import numpy as np


class ParityError(RuntimeError):
    """An exported graph differs from its PyTorch module by more than the stated tolerance."""


@dataclass(frozen=True)
class Tolerance:
    kind: str        # "abs" (max_abs_diff) or "rel" (max_abs_diff / max|ref|)
    value: float

    def describe(self) -> str:
        return f"{'max_abs_diff' if self.kind == 'abs' else 'max_rel_diff'} <= {self.value:g}"


@dataclass
class GraphCheck:
    """Accumulates the worst differences of one graph over its cases."""
    graph: str
    dtype: str
    tolerances: Mapping[str, Tolerance]
    log: Callable[[str], None] = print
    cases: List[str] = field(default_factory=list)
    max_abs: float = 0.0
    max_rel: float = 0.0
    per_output: Dict[str, Dict[str, float]] = field(default_factory=dict)
    failures: List[str] = field(default_factory=list)
    seconds: float = 0.0

    def compare(self, case: str, got: Mapping[str, np.ndarray], ref: Mapping[str, np.ndarray],
                seconds: Optional[float] = None) -> None:
        worst_abs, worst_rel = 0.0, 0.0
        for name, r in ref.items():
            g = np.asarray(got[name])
            r = np.asarray(r)
            if g.shape != r.shape:
                self.failures.append(f"{case}: output {name} has shape {list(g.shape)}, PyTorch gives {list(r.shape)}")
                continue
            if not np.all(np.isfinite(g)):
                self.failures.append(f"{case}: output {name} has non-finite values")
                continue
            if r.size == 0:
                continue
            diff = np.abs(g.astype(np.float64) - r.astype(np.float64))
            a = float(diff.max())
            scale = float(np.abs(r.astype(np.float64)).max())
            rel = a / scale if scale > 0 else (0.0 if a == 0 else float("inf"))
            po = self.per_output.setdefault(name, {"max_abs_diff": 0.0, "max_rel_diff": 0.0})
            po["max_abs_diff"] = max(po["max_abs_diff"], a)
            po["max_rel_diff"] = max(po["max_rel_diff"], rel)
            worst_abs, worst_rel = max(worst_abs, a), max(worst_rel, rel)
            tol = self.tolerances.get(name) or self.tolerances.get("*")
            if tol is not None:
                value = a if tol.kind == "abs" else rel
                if not value <= tol.value:
                    self.failures.append(f"{case}: output {name}: max_abs_diff {a:.3g}, max_rel_diff {rel:.3g} "
                                         f"(max|ref| {scale:.3g}); tolerance {tol.describe()}")
        self.cases.append(case)
        self.max_abs = max(self.max_abs, worst_abs)
        self.max_rel = max(self.max_rel, worst_rel)
        t = f", ORT {seconds:.2f} s" if seconds is not None else ""
        self.log(f"    {self.graph:<26} {case:<28} max_abs {worst_abs:.2e}  max_rel {worst_rel:.2e}{t}")

    def finish(self) -> dict:
        if self.failures:
            raise ParityError(f"{self.graph}: ONNX Runtime output differs from PyTorch beyond tolerance:\n  "
                              + "\n  ".join(self.failures))
        return self.to_json()

    def to_json(self) -> dict:
        return {
            "dtype": self.dtype,
            "max_abs_diff": float(f"{self.max_abs:.3g}"),
            "max_rel_diff": float(f"{self.max_rel:.3g}"),
            "cases": list(self.cases),
            "tolerance": {k: t.describe() for k, t in self.tolerances.items()},
            "outputs": {k: {m: float(f"{v:.3g}") for m, v in d.items()} for k, d in self.per_output.items()},
        }


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0
