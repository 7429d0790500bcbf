"""The quantized LLM variants' own reference (export/llm_qref.py), itself checked: on the fused fp32
graph it is the PyTorch model's function, and on an int4 graph without int8 activations
(accuracy level 0, a continuous function) ONNX Runtime meets it within the float32 rule.

Bound, both checks: the rule of docs/parity.md ("Fused LLM graph"),
``4 max(max|ref32 - ref64|, 64 u max|ref64|)`` (the PyTorch float64 evaluation keeps the model's
float32 RMSNorm statistics, so it is itself only float32-exact).
"""

import numpy as np
import pytest
import torch

from cosyvoice_export.export import llm_fused as F
from cosyvoice_export.export import llm_qref as Q
from cosyvoice_export.export import llm_variants as LV

from test_llm_fused import _embeds, _kv, _ref64, weights  # noqa: F401  (fixture)


def test_reference_is_the_pytorch_model_on_the_fp32_graph(tiny_llm, weights, tmp_path):  # noqa: F811
    path = tmp_path / "llm_fused_fp32.onnx"
    F.write(weights, path)
    m = Q.load_fused_graph(path, float(tiny_llm.cfg.qwen.rope_theta))
    assert m.precision == "fp32" and all(L["qkv"].packed is None for L in m.layers)
    x = _embeds(tiny_llm, 23, torch.Generator().manual_seed(5))
    want = _ref64(tiny_llm)(x)
    got = Q.forward(m, x[0], np.float64)
    # _ref64's RMSNorm keeps the model's float32 statistics, so the two differ by float32 rounding
    assert np.max(np.abs(got - want)) <= Q.tolerance(want, LV.torch_reference(tiny_llm)(x))


@pytest.mark.parametrize("bits", ["int4", "int8"])
def test_ort_meets_the_reference_without_int8_activations(tiny_llm, weights, tmp_path, bits):  # noqa: F811
    path = tmp_path / f"llm_fused_{bits}_acc0.onnx"
    F.write(weights, path, F.FusedOptions(precision=bits, accuracy_level=0))
    m = Q.load_fused_graph(path, float(tiny_llm.cfg.qwen.rope_theta))
    assert m.precision == bits and m.layers[0]["qkv"].accuracy_level == 0
    layers, kv = _kv(tiny_llm)
    x = _embeds(tiny_llm, 30, torch.Generator().manual_seed(9))[0]
    r64, r32 = Q.forward(m, x, np.float64), Q.forward(m, x, np.float32)
    tol = Q.tolerance(r64, r32)
    run = LV.FusedRunner(path, layers, kv, threads=2)
    try:
        run.reset(x.shape[0] + 2)
        got = np.stack([run.forward(x[None, :20])] + [run.forward(x[None, t:t + 1]) for t in range(20, 30)])
    finally:
        run.close()
    assert np.max(np.abs(got - r64[19:])) <= tol
    # and the quantized weights are really in use: the fp32 model's logits are far from these
    assert np.max(np.abs(_ref64(tiny_llm)(x[None])[19:] - r64[19:])) > 100 * tol
