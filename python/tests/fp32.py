"""The tests' float32 error model (cosyvoice_export/fp32_bounds.py, docs/parity.md) and their thread count.

Every numeric tolerance in these tests is written as a bound from this model next to its assertion;
none is a value observed on one machine.
"""
from __future__ import annotations

import os

from cosyvoice_export.fp32_bounds import (FN_ULPS, U, U64, attention_depth, chain, dit_depth,  # noqa: F401
                                          euler_cfg_gain, gamma, llm_depth, pair, vs64, weight_depth)


def threads() -> int:
    """COSYVOICE_TEST_THREADS (default 1): intra-op threads of the tests' ONNX Runtime sessions and
    torch (conftest.py sets torch's; it and the Makefile set OPENBLAS/OMP_NUM_THREADS from it)."""
    value = os.environ.get("COSYVOICE_TEST_THREADS", "1")
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"COSYVOICE_TEST_THREADS={value!r}: expected a positive integer")
    return n
