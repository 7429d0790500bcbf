"""The fused LLM graph (export/llm_fused.py, docs/bundle.md §3.1b) against the PyTorch reference.

Tolerance (docs/parity.md, "fused LLM graph"): the fused graph and ``CosyVoice3LM`` are two float32
evaluations of the same function in different orders (MLAS GEMMs, GroupQueryAttention's own
softmax and rotary kernels, fused RMSNorm). Each differs from the exact value by its rounding
error, so we check the fused graph against a **float64** evaluation of the reference and require
its error to be no larger than a small multiple of float32 PyTorch's own error on the same input:
``max|fused - ref64| <= 4 * max(max|ref32 - ref64|, 64 u max|ref64|)`` (u = 2^-24; the floor covers
inputs where PyTorch happens to be nearly exact). This bound scales with the model and input,
not with one machine. The export-time check additionally applies the project's fp32 logits
tolerance (rel 1e-4, docs/parity.md).
"""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import fp32

from cosyvoice_export.export import llm_fused as F
from cosyvoice_export.export import llm_graph as LG
from cosyvoice_export.export import llm_variants as LV
from cosyvoice_export.export import onnx_io
from cosyvoice_export.export import variants as V
from cosyvoice_export.models import llm as llm_module

PY_DIR = Path(__file__).resolve().parents[1]
U = 2.0 ** -24


@pytest.fixture(scope="module")
def weights(tiny_llm):
    return F.weights_from_lm(tiny_llm)


@pytest.fixture(scope="module")
def fused_fp32(weights, tmp_path_factory):
    path = tmp_path_factory.mktemp("fused") / "llm_fused_fp32.onnx"
    F.write(weights, path)
    return path


def _kv(lm):
    q = lm.cfg.qwen
    return q.num_hidden_layers, (q.num_key_value_heads, q.head_dim)


def _embeds(lm, n, gen):
    t = torch.randint(0, lm.cfg.qwen.vocab_size, (n // 2,), generator=gen)
    s = torch.randint(0, lm.cfg.speech_vocab_rows, (n - n // 2,), generator=gen)
    with torch.no_grad():
        return torch.cat([lm.embed_text(t), lm.embed_speech(s)], 0)[None].numpy()


def _ref64(lm):
    """CosyVoice3LM in float64; the RoPE angles stay the model's float32 products (that rounding is
    part of the model's definition, upstream and Hugging Face compute them in float32), their
    cos/sin are taken in float64."""
    lm64 = copy.deepcopy(lm).double()

    def rope64(positions, head_dim, theta):
        inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim))
        ang = (positions.to(torch.float32)[:, None] * inv[None, :]).to(torch.float64)
        emb = torch.cat((ang, ang), dim=-1)
        return emb.cos(), emb.sin()

    def ref(x):
        saved = llm_module.rope_cos_sin
        llm_module.rope_cos_sin = rope64
        try:
            with torch.no_grad():
                h, _ = lm64(torch.from_numpy(x).double())
                return lm64.logits(h)[0].numpy()
        finally:
            llm_module.rope_cos_sin = saved
    return ref


def test_export_check_passes_fp32_tolerance(tiny_llm, fused_fp32):
    """The export-time check (every case, shared KV buffer) within the derived relative bound."""
    gen = torch.Generator().manual_seed(3)
    layers, kv = _kv(tiny_llm)
    cases = LV.reference_cases(LV.torch_reference(tiny_llm), lambda n: _embeds(tiny_llm, n, gen))
    tol = LV.tol_fused_fp32(F.weights_from_lm(tiny_llm), cases)
    out = LV.check_graph(fused_fp32, "llm/llm_fused_fp32.onnx", "float32", layers, kv, cases, tol, 1,
                         lambda s: None)
    assert out["max_rel_diff"] <= tol["logits"].value and out["top1_agreement"] == 1.0


@pytest.mark.parametrize("threads", [1, 2])
def test_error_no_larger_than_float32_pytorch(tiny_llm, fused_fp32, threads):
    gen = torch.Generator().manual_seed(11)
    layers, kv = _kv(tiny_llm)
    ref32, ref64 = LV.torch_reference(tiny_llm), _ref64(tiny_llm)
    run = LV.FusedRunner(fused_fp32, layers, kv, threads)
    try:
        for p, s in ((0, 1), (0, 9), (0, 40), (20, 1), (33, 6)):
            x = _embeds(tiny_llm, p + s, gen)
            run.reset(p + s + 5)
            if p:
                run.forward(x[:, :p])
            got = run.forward(x[:, p:]).astype(np.float64)
            exact = ref64(x)[-1]
            e32 = np.abs(ref32(x)[-1] - exact).max()
            bound = 4 * max(e32, 64 * U * np.abs(exact).max())
            err = np.abs(got - exact).max()
            assert err <= bound, f"P={p} S={s}: fused error {err:.3g}, float32 PyTorch error {e32:.3g}"
    finally:
        run.close()


def test_shared_buffer_written_in_place(tiny_llm, fused_fp32):
    """present_* aliases past_*: rows P..P+S-1 receive the keys (after RoPE) and values of the new
    positions, nothing else is written (NaN rows past the end stay NaN and are never read)."""
    gen = torch.Generator().manual_seed(5)
    layers, kv = _kv(tiny_llm)
    x = _embeds(tiny_llm, 20, gen)
    run = LV.FusedRunner(fused_fp32, layers, kv, 1)
    try:
        run.reset(32)
        run.forward(x[:, :13])
        run.forward(x[:, 13:14])
        run.forward(x[:, 14:20])
        with torch.no_grad():
            _, cache = tiny_llm(torch.from_numpy(x))
        for i in range(layers):
            for buf, ref in ((run.k[i], cache[i][0]), (run.v[i], cache[i][1])):
                want = ref[0].permute(1, 0, 2).numpy()          # BSNH -> BNSH
                # a cache entry is part of the logits' chain: at most that chain's bound, on its scale
                bound = fp32.pair(fp32.llm_depth(tiny_llm, 20), max(1.0, float(np.abs(want).max())))
                assert np.abs(buf[0, :, :20] - want).max() <= bound
                assert np.isnan(buf[0, :, 20:]).all()
    finally:
        run.close()


def _ops(path):
    m = onnx.load(str(path), load_external_data=False)
    return m, [n for n in m.graph.node]


@pytest.mark.parametrize("precision,head", [("fp32", "fp32"), ("int8", "fp32"), ("int4", "fp32"), ("int4", "int8")])
def test_graph_structure(weights, tmp_path, precision, head):
    path = tmp_path / "g.onnx"
    files = F.write(weights, path, F.FusedOptions(precision=precision, head=head))
    assert files == [path, tmp_path / "g.onnx.data"]
    m, nodes = _ops(path)
    L = weights.num_layers
    count = lambda op: sum(n.op_type == op for n in nodes)  # noqa: E731
    assert count("GroupQueryAttention") == L
    assert count("SkipSimplifiedLayerNormalization") == 2 * L + 1
    nb = [n for n in nodes if n.op_type == "MatMulNBits"]
    assert len(nb) == (4 * L if precision != "fp32" else 0) + (head == "int8")
    for n in nb:
        assert len(n.input) == 3, f"{n.name}: a zero-point input (asymmetric; ORT #29853)"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        assert attrs["bits"] == (8 if n.name == "llm_decoder" else {"int8": 8, "int4": 4}[precision])
    dec = [n for n in nodes if n.name == "llm_decoder"][0]
    assert dec.op_type == ("MatMul" if head == "fp32" else "MatMulNBits")
    meta = {p.key: p.value for p in m.metadata_props}
    assert meta["cosyvoice.graph"] == F.ROLE and meta["cosyvoice.precision"] == precision
    ins, outs = F.io_names(L)
    assert [i.name for i in m.graph.input] == ins and [o.name for o in m.graph.output] == outs
    # external data: every large tensor 64 KiB aligned in the .data file
    for t in m.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            ext = {e.key: e.value for e in t.external_data}
            assert ext["location"] == "g.onnx.data" and int(ext["offset"]) % (1 << 16) == 0


def test_panel_layout_round_trips_and_pads_with_zeros():
    from cosyvoice_export.quant import panels as P

    w = np.arange(3 * 18, dtype=np.float32).reshape(3, 18)
    p = P.pack(w)
    assert p.shape == (2, 3, 16) and p.dtype == np.float32 and p.flags.c_contiguous
    assert p[1, 2, 1] == w[2, 17] and p[0, 1, 5] == w[1, 5] and not p[1, :, 2:].any()
    assert np.array_equal(P.unpack(p, 18), w)
    with pytest.raises(ValueError, match=r"\[K, N\]"):
        P.pack(np.zeros(4, np.float32))


def test_panel_graph_has_only_panel_products_holding_the_weights(weights, tmp_path):
    """fp32_products=PanelMatMul: every float32 product (4 per layer and llm_decoder) is the project's
    operator with its weight in panels (unpacked, the same values as MatMul's), the domain imported."""
    from cosyvoice_export.quant import panels as P

    path = tmp_path / "p.onnx"
    F.write(weights, path, F.FusedOptions(fp32_products="PanelMatMul"))
    m = onnx.load(str(path))
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    products = [n for n in m.graph.node if n.op_type in ("MatMul", P.OP_TYPE)]
    assert len(products) == 4 * weights.num_layers + 1
    assert all(n.op_type == P.OP_TYPE and n.domain == P.DOMAIN for n in products)
    assert (P.DOMAIN, P.OPSET) in {(o.domain, o.version) for o in m.opset_import}
    wanted = {"layers.0.qkv_proj": weights.layers[0]["w_qkv"], "layers.1.down_proj": weights.layers[1]["w_down"],
              "llm_decoder": weights.w_dec}
    for n in products:
        if n.name in wanted:
            n_attr = onnx.helper.get_attribute_value(n.attribute[0])
            assert np.array_equal(P.unpack(inits[n.input[1]], n_attr), wanted[n.name]), n.name
    meta = {p.key: p.value for p in m.metadata_props}
    assert meta["cosyvoice.precision"] == "fp32" and meta["cosyvoice.fp32_products"] == "PanelMatMul"
    assert F.FusedOptions(fp32_products="PanelMatMul").describe()["products"] == "org.cosyvoice_ort.PanelMatMul"
    with pytest.raises(ValueError, match="fp32_products"):
        F.FusedOptions(fp32_products="Gemm").validate()


def test_graph_reference_equals_pytorch(tiny_llm, tmp_path):
    """The quantize command's reference without a checkpoint: the traced graph on its own cache."""
    path = tmp_path / "llm.onnx"
    onnx_io.export_graph(LG.LlmStep(tiny_llm), LG.example_inputs(tiny_llm), path, "llm", *LG.io(tiny_llm))
    layers, kv = _kv(tiny_llm)
    x = _embeds(tiny_llm, 9, torch.Generator().manual_seed(2))
    got, want = LV.graph_reference(path, layers, kv, 1)(x), LV.torch_reference(tiny_llm)(x)
    bound = fp32.pair(fp32.llm_depth(tiny_llm, 9)) * np.abs(want).max()    # two float32 chains, relative
    assert got.shape == want.shape and np.abs(got - want).max() <= bound


def test_weights_from_bundle_graph_equal_checkpoint(tiny_llm, weights, tmp_path):
    path = tmp_path / "llm.onnx"
    onnx_io.export_graph(LG.LlmStep(tiny_llm), LG.example_inputs(tiny_llm), path, "llm", *LG.io(tiny_llm))
    q = tiny_llm.cfg.qwen
    cfg = {"num_layers": q.num_hidden_layers, "hidden_size": q.hidden_size, "num_attention_heads": q.num_attention_heads,
           "num_kv_heads": q.num_key_value_heads, "head_dim": q.head_dim, "rms_norm_eps": q.rms_norm_eps,
           "rope_theta": q.rope_theta, "max_positions": q.max_position_embeddings}
    w2 = F.weights_from_bundle_graph(path, cfg)
    for a, b in zip(weights.layers, w2.layers):
        for k in F.LAYER_KEYS:
            assert np.array_equal(a[k], b[k]), k
    assert np.array_equal(weights.w_dec, w2.w_dec) and np.array_equal(weights.norm_w, w2.norm_w)
    assert (w2.intermediate, w2.eps) == (weights.intermediate, weights.eps)


def test_rejects_bad_options_and_shapes(weights):
    for bad in (dict(precision="int2"), dict(head="int4"), dict(block_size=48), dict(accuracy_level=7)):
        with pytest.raises(ValueError):
            F.FusedOptions(**bad).validate()
    broken = copy.copy(weights)
    broken.layers = [dict(weights.layers[0], w_o=weights.layers[0]["w_o"][:, :-1])] + weights.layers[1:]
    with pytest.raises(ValueError, match="w_o"):
        F.build(broken)


# ---------------------------------------------------------------------------------- goldens

def _tiny_dir():
    env = os.environ.get("COSYVOICE_TINY")
    return Path(env) if env else None


@pytest.mark.skipif(not _tiny_dir(), reason="COSYVOICE_TINY (make test sets it) not set")
def test_fused_fp32_reproduces_golden_tokens(tmp_path):
    """The goldens' LLM stage through the fused graph: same logits (derived relative bound) every step
    (teacher-forced on the golden tokens), and the RAS sampler replayed on them yields the golden
    tokens and stop id."""
    from cosyvoice_export import checkpoint, hparams, sampling

    root = _tiny_dir()
    gold = root / "goldens"
    assert (gold / "manifest.json").is_file(), f"{gold}: run `make tiny-model` first"
    cfg = hparams.load_model_dir(root / "checkpoint")
    lm = checkpoint.load_llm(root / "checkpoint" / "llm.pt", cfg.llm)
    path = tmp_path / "fused.onnx"
    F.write(F.weights_from_lm(lm), path)
    layers, kv = _kv(lm)
    s = cfg.llm.sampling
    run = LV.FusedRunner(path, layers, kv, 2)
    checked = 0
    try:
        for c in json.loads((gold / "manifest.json").read_text(encoding="utf-8"))["cases"]:
            if c.get("bistream"):  # text-in streaming: no per-segment LLM inputs
                continue
            info = json.loads((gold / c["dir"] / "case.json").read_text(encoding="utf-8"))
            if info["mode"] == "vc":
                continue
            for seg in info["segments"]:
                d = gold / c["dir"]
                i = seg["index"]
                lm_input = np.load(d / f"seg{i}_lm_input.npy")
                want_logits = np.load(d / f"seg{i}_logits.npy")
                tokens = np.load(d / f"seg{i}_tokens.npy").tolist()
                run.reset(lm_input.shape[0] + len(tokens) + 2)
                rows = [run.forward(lm_input[None])]
                for t in tokens[:want_logits.shape[0] - 1]:
                    with torch.no_grad():
                        e = lm.embed_speech(torch.tensor([[t]])).numpy()
                    rows.append(run.forward(e))
                got = np.stack(rows)
                rel = np.abs(got - want_logits).max() / np.abs(want_logits).max()
                bound = fp32.pair(fp32.llm_depth(lm, lm_input.shape[0] + want_logits.shape[0]))
                assert rel <= bound, f"{c['name']} segment {i}: logits rel diff {rel:.3g} > {bound:.3g}"
                sampler = sampling.RasSampler(seg["seed"], top_p=s.top_p, top_k=s.top_k, win_size=s.win_size,
                                              tau_r=s.tau_r, speech_token_size=cfg.llm.speech_token_size)
                out, stop = [], None
                for step, row in enumerate(got):
                    tok = sampler.step(row, out, step, seg["min_len"])
                    if sampler.is_stop(tok):
                        stop = tok
                        break
                    out.append(tok)
                assert out == tokens and stop == seg["stop_token"], f"{c['name']} segment {i}"
                checked += 1
    finally:
        run.close()
    assert checked >= 5
