"""Quantized and half-precision graphs (cosyvoice_export.quant) and the written HiFT generator.

Bounds are derived from the quantization step of what is checked (docs/quantization.md, "Tests"):

* a single int8 product must equal the exact integer emulation of its quantization up to float32
  rounding of the final scaling (1e-5 relative): a kernel that saturates (AVX2 ``VPMADDUBSW`` with
  8-bit weights) is off by ~10 %;
* a whole int8 graph: each quantized product contributes at most its weight rounding error
  (computed from the weights) plus the activation step (1/255 of the range, i.e. ~0.5 % of the
  range as an RMS bound), summed linearly over the products on the path;
* float16: every tensor boundary rounds to 11 significant bits (unit roundoff u = 2^-11); a tiny
  graph stays within 16 u of float32 (measured 1-2 u), while a node computed in a wrong type is off
  by hundreds of u.
"""

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from cosyvoice_export import checkpoint as C
from cosyvoice_export.export import hift_builder as HB
from cosyvoice_export.models.hift import CausalConv1dUpsample
from cosyvoice_export.ort import OrtGraph
from cosyvoice_export.quant import fp16 as Q16
from cosyvoice_export.quant import int8 as Q8
from cosyvoice_export.quant.weights import find_weight_products

U16 = 2.0 ** -11


def _save(model, path):
    onnx.save(model, str(path))
    return str(path)


def _matmul_model(w: np.ndarray, bias=None, gemm=False):
    k, n = w.shape
    inits = [numpy_helper.from_array(w.T.copy() if gemm else w, "W")]
    if gemm:
        inits.append(numpy_helper.from_array(bias, "b"))
        nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["y"], name="lin", transB=1)]
        shape_in, shape_out = ["M", k], ["M", n]
    else:
        nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"], name="lin")]
        if bias is not None:
            inits.append(numpy_helper.from_array(bias, "b"))
            nodes.append(helper.make_node("Add", ["xw", "b"], ["y"], name="bias"))
        else:
            nodes[0].output[0] = "y"
        shape_in, shape_out = [1, "M", k], [1, "M", n]
    g = helper.make_graph(nodes, "mm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape_in)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape_out)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


# ---------------------------------------------------------------------------- int8

@pytest.mark.parametrize("weight_type", ["int8", "uint8"])
def test_dynamic_int8_equals_integer_emulation(tmp_path, weight_type):
    """Worst case for int16 saturation: activations at both ends of the uint8 range, weights at the
    ends of their range, K = 1024."""
    rng = np.random.default_rng(0)
    k, n = 1024, 48
    w = rng.standard_normal((k, n)).astype(np.float32)
    w[:, :8] = np.sign(w[:, :8]) * 0.9          # columns of equal magnitude: every weight at +-qmax
    bias = rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal((1, 9, k)).astype(np.float32)
    x[0, :3] = 5.0                                # rows at the top of the activation range
    m = _matmul_model(w, bias)
    done = Q8.quantize_int8(m, Q8.Int8Options(route="dynamic", weight_type=weight_type, min_size=0))
    assert [d["K"] for d in done] == [k]
    assert [n.op_type for n in m.graph.node] == ["DynamicQuantizeMatMul"]
    got = OrtGraph(_save(m, tmp_path / "q.onnx")).run({"x": x})["y"]
    wq, scale, zero = Q8.quantize_columns(w, weight_type, 7)
    if weight_type == "int8":
        assert np.abs(wq).max() == 63
    want = Q8.emulate_dynamic(x[0], wq, scale, zero, bias)[None]
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def test_gemm_is_rewritten_with_its_bias(tmp_path):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((64, 40)).astype(np.float32)
    b = rng.standard_normal(40).astype(np.float32)
    m = _matmul_model(w, b, gemm=True)
    assert len(find_weight_products(m)) == 1
    Q8.quantize_int8(m, Q8.Int8Options(min_size=0))
    x = rng.standard_normal((3, 64)).astype(np.float32)
    got = OrtGraph(_save(m, tmp_path / "g.onnx")).run({"x": x})["y"]
    wq, s, z = Q8.quantize_columns(w)
    want = Q8.emulate_dynamic(x, wq, s, z, b)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def test_nbits8_accuracy0_is_the_dequantized_product(tmp_path):
    rng = np.random.default_rng(2)
    k, n = 200, 24                         # K not a multiple of the block: zero padding
    w = rng.standard_normal((k, n)).astype(np.float32)
    m = _matmul_model(w)
    Q8.quantize_int8(m, Q8.Int8Options(route="nbits", block_size=32, accuracy_level=0, min_size=0))
    x = rng.standard_normal((1, 5, k)).astype(np.float32)
    got = OrtGraph(_save(m, tmp_path / "nb.onnx")).run({"x": x})["y"]
    packed, scales = Q8.quantize_blocks(w, 32)
    want = x.astype(np.float64) @ Q8.dequantize_blocks(packed, scales, k)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    # the weight rounding itself is at most half a step per block
    err = np.abs(Q8.dequantize_blocks(packed, scales, k) - w)
    assert err.max() <= 0.5 * scales.max() * (1 + 1e-6)


def test_nbits8_accuracy4_within_the_activation_step(tmp_path):
    rng = np.random.default_rng(3)
    k, n, bs = 256, 16, 32
    w = rng.standard_normal((k, n)).astype(np.float32)
    m = _matmul_model(w)
    Q8.quantize_int8(m, Q8.Int8Options(route="nbits", block_size=bs, accuracy_level=4, min_size=0))
    x = rng.standard_normal((1, 4, k)).astype(np.float32)
    got = OrtGraph(_save(m, tmp_path / "nb4.onnx")).run({"x": x})["y"]
    packed, scales = Q8.quantize_blocks(w, bs)
    wd = Q8.dequantize_blocks(packed, scales, k)
    want = x.astype(np.float64) @ wd
    # int8 activations per block of bs: error of each product <= |w| * step / 2, step = max|x_block| / 127
    xb = np.abs(x[0]).reshape(4, k // bs, bs).max(axis=2) / 127.0          # [rows, blocks]
    bound = 0.5 * np.einsum("rb,bn->rn", xb, np.abs(wd).reshape(k // bs, bs, n).sum(axis=1))
    assert np.all(np.abs(got[0] - want[0]) <= bound * 1.01 + 1e-5)


def test_options_are_validated():
    with pytest.raises(ValueError, match="route"):
        Q8.Int8Options(route="fast").validate()
    with pytest.raises(ValueError, match="weight_bits"):
        Q8.Int8Options(weight_bits=6).validate()


def _dit_feeds(rng, b=2, t=37):
    r = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return {"x": r(b, 80, t), "mu": r(b, 80, t), "t": np.full(b, 0.4, np.float32), "spks": r(b, 80),
            "cond": r(b, 80, t), "attention_chunk": np.array(t, np.int64)}


def test_dit_int8_within_the_bound_of_its_quantization_steps(tiny_bundle, tmp_path):
    src = tiny_bundle / "flow" / "flow_estimator.onnx"
    m = onnx.load(str(src))
    products = find_weight_products(m, 0)
    # weight rounding error of each product relative to its weights' RMS, and the activation step
    eps_w = []
    for p in products:
        q, s, z = Q8.quantize_columns(p.weight)
        eps_w.append(np.sqrt(np.mean(((q.astype(np.float64) - z) * s - p.weight) ** 2) / np.mean(p.weight ** 2)))
    eps_a = 1.0 / 255 / np.sqrt(12) * 8          # RMS rounding of a uint8 step over a range of 8 RMS
    bound = float(np.sum(np.sqrt(np.square(eps_w) + eps_a ** 2)))
    Q8.quantize_int8(m, Q8.Int8Options(min_size=0))
    assert sum(n.op_type == "DynamicQuantizeMatMul" for n in m.graph.node) == len(products)
    feeds = _dit_feeds(np.random.default_rng(4))
    ref = OrtGraph(src, threads=2).run(feeds)["velocity"].astype(np.float64)
    got = OrtGraph(_save(m, tmp_path / "dit8.onnx"), threads=2).run(feeds)["velocity"].astype(np.float64)
    rel_rms = np.sqrt(np.mean((got - ref) ** 2) / np.mean(ref ** 2))
    assert 0 < rel_rms <= bound, (rel_rms, bound)


# ---------------------------------------------------------------------------- float16

def _fp16_case(bundle, rel, feeds, tmp_path):
    m = onnx.load(str(bundle / rel))
    Q16.convert_fp16(m)
    onnx.checker.check_model(m)
    inits = {i.name: i.data_type for i in m.graph.initializer}
    heavy = [n for n in m.graph.node if n.op_type in ("Conv", "MatMul", "Gemm") and n.input[1] in inits]
    assert heavy and all(inits[n.input[1]] == TensorProto.FLOAT16 for n in heavy)   # the work is float16
    assert all(i.type.tensor_type.elem_type == TensorProto.FLOAT for i in m.graph.input
               if i.type.tensor_type.elem_type in (TensorProto.FLOAT, TensorProto.FLOAT16))
    assert not any(i.data_type == TensorProto.FLOAT and np.prod(i.dims) > 1024 for i in m.graph.initializer)
    ref = OrtGraph(bundle / rel, threads=2).run(feeds)
    got = OrtGraph(_save(m, tmp_path / "h.onnx"), threads=2).run(feeds)
    for k, r in ref.items():
        assert got[k].dtype == np.float32
        err = np.abs(got[k].astype(np.float64) - r).max() / np.abs(r).max()
        assert err <= 16 * U16, (rel, k, err)


def test_fp16_llm(tiny_bundle, tmp_path):
    g = OrtGraph(tiny_bundle / "llm" / "llm.onnx")
    rng = np.random.default_rng(5)
    feeds = {}
    for name, _, shape in g.inputs:
        if name == "inputs_embeds":
            feeds[name] = (rng.standard_normal((1, 6, shape[2])) * 0.05).astype(np.float32)
        else:
            feeds[name] = rng.standard_normal((1, 9, shape[2], shape[3])).astype(np.float32)
    _fp16_case(tiny_bundle, "llm/llm.onnx", feeds, tmp_path)


def test_fp16_dit(tiny_bundle, tmp_path):
    _fp16_case(tiny_bundle, "flow/flow_estimator.onnx", _dit_feeds(np.random.default_rng(6)), tmp_path)


def test_fp16_hift_generator(tiny_bundle, tmp_path):
    rng = np.random.default_rng(7)
    t = 12
    feeds = {"mel": (rng.standard_normal((1, 80, t)) * 2 - 6).astype(np.float32),
             "harmonics": (rng.standard_normal((1, 480 * t, 9)) * 0.05).astype(np.float32)}
    _fp16_case(tiny_bundle, "hift/hift_generator.onnx", feeds, tmp_path)


def test_fp16_keeps_rotary_arguments_in_float32(tmp_path):
    """position * inv_freq for positions beyond 2048 (float16's integer limit) must stay float32."""
    pos = helper.make_node("Range", ["zero", "n", "one"], ["p"])
    cast = helper.make_node("Cast", ["p"], ["pf"], to=TensorProto.FLOAT)
    mul = helper.make_node("Mul", ["pf", "inv"], ["ang"])
    cos = helper.make_node("Cos", ["ang"], ["c"])
    col = helper.make_node("Unsqueeze", ["c", "axis1"], ["c2"])
    mm = helper.make_node("MatMul", ["c2", "W"], ["y"])
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"), numpy_helper.from_array(np.array(1, np.int64), "one"),
             numpy_helper.from_array(np.full((1,), 0.5, np.float32), "inv"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1"),
             numpy_helper.from_array(np.ones((1, 4), np.float32), "W")]
    g = helper.make_graph([pos, cast, mul, cos, col, mm], "rope", [helper.make_tensor_value_info("n", TensorProto.INT64, [])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    Q16.convert_fp16(m)
    onnx.checker.check_model(m)
    mul_node = next(n for n in m.graph.node if n.op_type == "Mul")
    assert all(not i.endswith(".fp16") and not i.endswith(".to_fp16") for i in mul_node.input)
    mm_node = next(n for n in m.graph.node if n.op_type == "MatMul")
    assert any(i.endswith(".fp16") or i.endswith(".to_fp16") for i in mm_node.input)
    y = OrtGraph(_save(m, tmp_path / "rope.onnx")).run({"n": np.array(4000, np.int64)})["y"]
    want = np.cos(np.arange(4000) * 0.5)             # float16 positions would be off by up to 1 rad
    assert np.abs(y[:, 0] - want).max() <= 2 * U16


# ---------------------------------------------------------------------------- HiFT generator

@pytest.mark.parametrize("k,r", [(16, 8), (11, 5), (7, 3), (4, 4), (3, 5), (1, 2)])
def test_polyphase_equals_upsample_then_conv(k, r):
    torch.manual_seed(k * 10 + r)
    up = CausalConv1dUpsample(6, 5, k, r)
    x = torch.randn(1, 6, 9)
    with torch.no_grad():
        ref = up(x).numpy()
    v, d = HB.polyphase_weights(up.weight.detach().numpy(), r)
    assert v.shape == (5 * r, 6, d + 1)
    y = torch.nn.functional.conv1d(torch.nn.functional.pad(x, (d, 0)), torch.from_numpy(v),
                                   torch.from_numpy(np.repeat(up.bias.detach().numpy(), r)))
    got = y.reshape(1, 5, r, -1).transpose(2, 3).reshape(1, 5, -1).numpy()
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()


def test_written_generator_has_no_copies_before_convolutions(tiny_bundle):
    m = onnx.load(str(tiny_bundle / "hift" / "hift_generator.onnx"), load_external_data=False)
    ops = [n.op_type for n in m.graph.node]
    assert "Resize" not in ops and "Pow" not in ops
    assert ops.count("Pad") == 2            # the STFT's reflect pad and ReflectionPad1d((1, 0))
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    assert any(list(a.ints) != [0, 0] for n in convs for a in n.attribute if a.name == "pads")


def test_written_generator_equals_the_reference(tmp_path):
    from cosyvoice_export import noise, tiny
    from cosyvoice_export.export import hift_graphs as HG
    cfg = tiny.config_for(tiny.TINY)
    hift = C.load_hift(tiny.hift_state(cfg.hift, 0), cfg.hift)
    path = _save(HB.build_generator(hift), tmp_path / "gen.onnx")
    g = OrtGraph(path, threads=2)
    gen = torch.Generator().manual_seed(8)
    for t in (1, 7, 40):
        mel = torch.randn(1, 80, t, generator=gen) * 2 - 6
        harm = HG.nsf_harmonics(hift.f0(mel), hift.cfg, noise.hift_source_noise(480 * t))
        re, im = HG.reference_spectrum(hift, mel, harm)
        out = g.run({"mel": mel.numpy(), "harmonics": harm.numpy()})
        for name, ref in (("real", re.numpy()), ("imag", im.numpy())):
            assert np.abs(out[name] - ref).max() <= 1e-4 * np.abs(ref).max()


# ---------------------------------------------------------------------------- quantize / export --quantize

def _cli(*args):
    import subprocess
    import sys
    py = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(py) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "cosyvoice_export", *map(str, args)], cwd=str(py), env=env,
                          capture_output=True, text=True)


def _same_signature(a: Path, b: Path) -> bool:
    from cosyvoice_export.export import onnx_io
    return onnx_io.graph_io(a) == onnx_io.graph_io(b)


def test_quantize_makes_flow_hift_and_fp16_variants(tiny_bundle, tmp_path):
    import json
    out = tmp_path / "q"
    r = _cli("quantize", tiny_bundle, "--out", out, "--flow", "int8,fp16", "--hift", "fp16", "--llm", "fp16", "--quiet")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((out / "config.json").read_text(encoding="utf-8"))
    got = {f: {v["name"]: v for v in vs} for f, vs in cfg["variants"].items()}
    assert set(got) == {"llm", "flow", "hift"} and set(got["flow"]) == {"int8", "fp16"}
    assert got["flow"]["int8"]["providers"] == ["cpu"] and got["hift"]["fp16"]["providers"] == ["cuda", "webgpu"]
    assert all(v["gate"]["status"] == "untested" for vs in got.values() for v in vs.values())
    for family, field, base in (("flow", "estimator", "flow/flow_estimator.onnx"),
                                ("hift", "generator", "hift/hift_generator.onnx"), ("llm", "file", "llm/llm.onnx")):
        for v in got[family].values():
            rel = v["files"][field]
            assert rel in cfg["files"] and (out / rel).stat().st_size == cfg["files"][rel]["bytes"]
            assert _same_signature(out / base, out / rel), rel      # the engine's wrapper loads it unchanged
    assert got["flow"]["int8"]["quantization"]["kept_float"]      # time embedding and output projection
    # the streaming chunk graph is rewritten with the same recipe, so exact/fast streaming runs in the
    # variant's precision (docs/streaming.md §8)
    chunk_base = cfg["flow"]["estimator_chunk"]["file"]
    for v in got["flow"].values():
        rel = v["files"]["estimator_chunk.file"]
        assert rel != chunk_base and rel in cfg["files"]
        assert _same_signature(out / chunk_base, out / rel), rel
    chunk8 = onnx.load(str(out / got["flow"]["int8"]["files"]["estimator_chunk.file"]))
    dense8 = onnx.load(str(out / got["flow"]["int8"]["files"]["estimator"]))
    count = lambda m: sum(n.op_type == "DynamicQuantizeMatMul" for n in m.graph.node)  # noqa: E731
    assert count(chunk8) == count(dense8) > 0                      # the same DiT products
    r = _cli("quantize", out, "--flow", "int8", "--quiet")
    assert r.returncode == 1 and "already has variant(s) flow/int8" in r.stderr
    r = _cli("quantize", tiny_bundle, "--out", tmp_path / "bad", "--hift", "int8")
    assert r.returncode == 1 and "no 'int8' variant" in r.stderr and not (tmp_path / "bad").exists()


def test_export_quantize_writes_graph_variants(tmp_path, request):
    import json
    env = os.environ.get("COSYVOICE_TINY")
    ckpt = Path(env) / "checkpoint" if env and (Path(env) / "checkpoint" / "llm.pt").is_file() \
        else request.getfixturevalue("tiny_dir")
    out = tmp_path / "b"
    # hift winograd: the ops library of `make build` (test_winograd.py checks the variant itself)
    r = _cli("export", "--checkpoint", ckpt, "--out", out, "--quantize", "flow=int8,hift=fp16+winograd", "--quiet")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert cfg["format_version"] == "1.1"
    assert [v["name"] for v in cfg["variants"]["flow"]] == ["int8"]
    assert set(cfg["variants"]["flow"][0]["files"]) == {"estimator", "estimator_chunk.file"}
    assert [v["name"] for v in cfg["variants"]["hift"]] == ["fp16", "fp32-winograd"]
    assert all((out / v["files"]["generator"]).is_file() for v in cfg["variants"]["hift"])
    assert cfg["variants"]["hift"][1]["gate"]["status"] == "parity"


def test_variant_view_and_record(tiny_bundle, tmp_path):
    import json
    q = tmp_path / "q"
    assert _cli("quantize", tiny_bundle, "--out", q, "--flow", "int8", "--quiet").returncode == 0
    view = tmp_path / "view"
    r = _cli("variant", "view", q, "flow/int8", view)
    assert r.returncode == 0, r.stderr
    base = json.loads((q / "config.json").read_text(encoding="utf-8"))
    cfg = json.loads((view / "config.json").read_text(encoding="utf-8"))
    assert cfg["format_version"] == "1.0" and "variants" not in cfg
    assert cfg["flow"]["estimator"] == "flow/flow_estimator.int8.onnx" != base["flow"]["estimator"]
    assert cfg["flow"]["encoder"] == base["flow"]["encoder"] and cfg["llm"] == base["llm"]
    assert os.path.samefile(view / "flow/flow_estimator.int8.onnx", q / "flow/flow_estimator.int8.onnx")
    assert json.loads((q / "config.json").read_text(encoding="utf-8")) == base      # BUNDLE untouched
    r = _cli("variant", "view", q, "flow/int4", tmp_path / "v2")
    assert r.returncode == 1 and "no variant flow/int4 (the bundle has: flow/int8)" in r.stderr
    assert not (tmp_path / "v2").exists()

    # the verdict of `cosyvoice ab --report DIR` (its ab.json) goes into the variant's gate
    ab = {"variant": "view (flow)", "families": "flow", "status": "failed", "tool": "cosyvoice ab 0.1.0",
          "date": "2026-12-04T16:00:00Z", "providers": "cpu", "cases": 30,
          "figures": {"mel_l1": 0.2, "mel_lsd_db": 0.5}, "thresholds": {"mel_l1": 0.1, "mel_lsd_db": 1.0},
          "report": "report.md"}
    (tmp_path / "ab.json").write_text(json.dumps(ab), encoding="utf-8")
    r = _cli("variant", "record", q, "flow/int8", tmp_path / "ab.json")
    assert r.returncode == 0, r.stderr
    gate = json.loads((q / "config.json").read_text(encoding="utf-8"))["variants"]["flow"][0]["gate"]
    assert gate["status"] == "failed" and gate["cases"] == 30 and gate["provider"] == "cpu"
    assert gate["figures"] == ab["figures"] and gate["report"] == str((tmp_path / "report.md").resolve())
    # an ab.json that judged other families, or not a verdict, is refused and changes nothing
    snap = (q / "config.json").read_bytes()
    (tmp_path / "ab.json").write_text(json.dumps(dict(ab, families="llm+flow")), encoding="utf-8")
    r = _cli("variant", "record", q, "flow/int8", tmp_path / "ab.json")
    assert r.returncode == 1 and "not exactly 'flow'" in r.stderr and (q / "config.json").read_bytes() == snap
    (tmp_path / "ab.json").write_text(json.dumps({k: v for k, v in ab.items() if k != "figures"}), encoding="utf-8")
    r = _cli("variant", "record", q, "flow/int8", tmp_path / "ab.json")
    assert r.returncode == 1 and "field figures: missing" in r.stderr and (q / "config.json").read_bytes() == snap
