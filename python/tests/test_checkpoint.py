"""Strict checkpoint loading, weight-norm folding and full-size parameter counts (on meta)."""


import numpy as np
import pytest
import torch

import fp32
from cosyvoice_export import checkpoint as C
from cosyvoice_export import tiny
from cosyvoice_export.models import CausalHiFTGenerator, CausalMaskedDiffWithDiT, CosyVoice3LM


def test_fold_weight_norm_matches_definition(gen):
    g = torch.rand(7, 1, 1, generator=gen) + 0.5
    v = torch.randn(7, 5, 3, generator=gen)
    w = C.fold_weight_norm(g, v)
    # independent: numpy float64, W[o] = g[o] * v[o] / sqrt(sum over (in, k) of v[o]^2)
    gn, vn = g.numpy().astype(np.float64), v.numpy().astype(np.float64)
    want = np.stack([gn[o, 0, 0] * vn[o] / np.sqrt((vn[o] ** 2).sum()) for o in range(7)])
    # Both sides compute in float64: a norm over n = 15 terms plus sqrt, divide and multiply is within
    # gamma64(n + 3) relative of exact on each side; the float32 result adds its final rounding U.
    n = 5 * 3
    assert w.dtype == torch.float32
    np.testing.assert_allclose(w.numpy(), want, rtol=fp32.U + 2 * fp32.gamma(n + 3, fp32.U64), atol=0)
    w64 = C.fold_weight_norm(g, v, torch.float64)
    np.testing.assert_allclose(w64.numpy(), want, rtol=2 * fp32.gamma(n + 3, fp32.U64), atol=0)
    # the unfold helper round-trips: its norm and the refold add two more such chains
    g2, v2 = C.unfold_weight_norm(w64)
    assert g2.shape == (7, 1, 1)
    np.testing.assert_allclose(C.fold_weight_norm(g2, v2, torch.float64).numpy(), want,
                               rtol=4 * fp32.gamma(n + 3, fp32.U64), atol=0)


@pytest.fixture(scope="module")
def flow_state(tiny_cfg):
    return tiny.flow_state(tiny_cfg.flow, 0)


@pytest.fixture(scope="module")
def hift_state(tiny_cfg):
    return tiny.hift_state(tiny_cfg.hift, 0)


def _err(fn):
    with pytest.raises(C.CheckpointError) as ei:
        fn()
    return str(ei.value)


def test_strict_missing_unexpected_shape(tiny_cfg, flow_state):
    src = "some/dir/flow.pt"
    s = dict(flow_state)
    del s["decoder.estimator.transformer_blocks.1.attn.to_v.bias"]
    msg = _err(lambda: C.load_flow(s, tiny_cfg.flow, src))
    assert src in msg and "missing key 'decoder.estimator.transformer_blocks.1.attn.to_v.bias'" in msg
    assert "expected shape [64]" in msg

    s = dict(flow_state, **{"decoder.estimator.extra.weight": torch.zeros(3, 2)})
    msg = _err(lambda: C.load_flow(s, tiny_cfg.flow, src))
    assert src in msg and "unexpected key 'decoder.estimator.extra.weight' (shape [3, 2])" in msg

    s = dict(flow_state, **{"pre_lookahead_layer.conv1.weight": torch.zeros(64, 80, 3)})
    msg = _err(lambda: C.load_flow(s, tiny_cfg.flow, src))
    assert src in msg and "key 'pre_lookahead_layer.conv1.weight': expected shape [64, 80, 4], found [64, 80, 3]" in msg

    s = dict(flow_state)
    del s["decoder.estimator.rotary_embed.inv_freq"]
    assert "missing key 'decoder.estimator.rotary_embed.inv_freq' (expected shape [16])" in \
        _err(lambda: C.load_flow(s, tiny_cfg.flow, src))


def test_hift_weight_norm_keys(tiny_cfg, hift_state):
    src = "x/hift.pt"
    ref = C.load_hift(hift_state, tiny_cfg.hift, src)
    # independent fold of one conv from the file's g and v
    g = hift_state["resblocks.4.convs1.2.parametrizations.weight.original0"].double()
    v = hift_state["resblocks.4.convs1.2.parametrizations.weight.original1"].double()
    want = g * v / v.flatten(1).norm(dim=1)[:, None, None]
    # float64 fold on both sides (norm over n terms + 3 operations), then one float32 rounding
    n = v.flatten(1).shape[1]
    tol = fp32.U + 2 * fp32.gamma(n + 3, fp32.U64)
    assert torch.allclose(ref.resblocks[4].convs1[2].weight.double(), want, rtol=tol, atol=0)
    # the F0 predictor is folded and held in float64
    f0w = ref.f0_predictor.condnet[0].weight
    assert f0w.dtype == torch.float64
    g0 = hift_state["f0_predictor.condnet.0.parametrizations.weight.original0"].double()
    v0 = hift_state["f0_predictor.condnet.0.parametrizations.weight.original1"].double()
    n0 = v0.flatten(1).shape[1]
    assert torch.allclose(f0w, g0 * v0 / v0.flatten(1).norm(dim=1)[:, None, None],
                          rtol=2 * fp32.gamma(n0 + 3, fp32.U64), atol=0)   # float64 on both sides

    # legacy weight_g / weight_v and a generator. prefix give the same model
    legacy = {}
    for k, t in hift_state.items():
        k = k.replace(C.WN_G, ".weight_g").replace(C.WN_V, ".weight_v")
        legacy["generator." + k] = t
    other = C.load_hift(legacy, tiny_cfg.hift, src)
    for (k, a), (_, b) in zip(ref.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), k

    s = dict(hift_state)
    del s["ups.1.parametrizations.weight.original1"]
    msg = _err(lambda: C.load_hift(s, tiny_cfg.hift, src))
    assert src in msg and "missing key 'ups.1.parametrizations.weight.original1' (expected shape [8, 16, 11])" in msg

    s = dict(hift_state, **{"conv_post.parametrizations.weight.original0": torch.ones(17, 1, 1)})
    msg = _err(lambda: C.load_hift(s, tiny_cfg.hift, src))
    assert "key 'conv_post.parametrizations.weight.original0': expected shape [18, 1, 1], found [17, 1, 1]" in msg

    s = dict(hift_state, **{"source_downs.0.parametrizations.weight.original0": torch.ones(16, 1, 1)})
    msg = _err(lambda: C.load_hift(s, tiny_cfg.hift, src))
    assert "unexpected key 'source_downs.0.parametrizations.weight.original0'" in msg

    s = dict(hift_state)
    s["m_source.l_linear.weight"] = torch.zeros(1, 8)
    assert "key 'm_source.l_linear.weight': expected shape [1, 9], found [1, 8]" in \
        _err(lambda: C.load_hift(s, tiny_cfg.hift, src))


def test_llm_tied_and_zero_copy(tiny_cfg):
    state = tiny.llm_state(tiny_cfg.llm, 0)
    emb = state["llm.model.model.embed_tokens.weight"]
    model = C.load_llm(state, tiny_cfg.llm, "llm.pt")
    # parameters are the loaded tensors themselves (no second copy) and lm_head stays tied
    assert model.llm.model.model.embed_tokens.weight.data_ptr() == emb.data_ptr()
    assert model.llm.model.lm_head.weight is model.llm.model.model.embed_tokens.weight
    assert model.llm_decoder.weight.data_ptr() == state["llm_decoder.weight"].data_ptr()
    bad = dict(state, **{"llm.model.lm_head.weight": emb.clone() + 1})
    assert "llm.model.lm_head.weight': must equal 'llm.model.model.embed_tokens.weight'" in \
        _err(lambda: C.load_llm(bad, tiny_cfg.llm, "llm.pt"))
    bad = dict(state)
    del bad["llm.model.lm_head.weight"]
    assert "missing key 'llm.model.lm_head.weight' (expected shape [151936, 64])" in \
        _err(lambda: C.load_llm(bad, tiny_cfg.llm, "llm.pt"))


def test_torch_load_rejects_non_state_dict(tmp_path):
    p = tmp_path / "x.pt"
    torch.save([torch.zeros(1)], str(p))
    assert "expected a state dict" in _err(lambda: C.torch_load(p))
    assert "file not found" in _err(lambda: C.torch_load(tmp_path / "nope.pt"))


# ---- full-size structure, without allocating weights ---------------------------------------------

def test_full_size_parameter_counts(full_cfg):
    llm = CosyVoice3LM(full_cfg.llm, device="meta")
    flow = CausalMaskedDiffWithDiT(full_cfg.flow, device="meta")
    hift = CausalHiFTGenerator(full_cfg.hift, device="meta")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731  (tied lm_head counted once)
    # spec §9
    assert count(llm) == 506_148_480
    assert count(llm.llm) == 494_032_768
    assert count(flow) == 332_257_088
    assert count(flow.decoder.estimator) == 331_142_224
    assert sum(b.numel() for b in flow.buffers()) == 32          # rotary inv_freq (spec-verification D4)
    assert count(hift) == 20_765_597
    assert count(hift.f0_predictor) == 3_312_641
    # released key counts and the weight-norm pairs (spec-verification §3.A)
    assert len(C.released_state_shapes(llm)) == 293
    assert len(C.released_state_shapes(flow)) == 330
    hk = C.released_state_shapes(hift)
    assert len(hk) == 328
    assert sum(k.endswith(C.WN_G) for k in hk) == 82
    # weight norm g adds one scalar per output channel: 20,779,887 with g (spec-verification)
    assert sum(int(np.prod(s)) for s in hk.values()) == 20_779_887


def test_full_size_key_shapes(full_cfg):
    llm = C.released_state_shapes(CosyVoice3LM(full_cfg.llm, device="meta"))
    flow = C.released_state_shapes(CausalMaskedDiffWithDiT(full_cfg.flow, device="meta"))
    hift = C.released_state_shapes(CausalHiFTGenerator(full_cfg.hift, device="meta"))
    # spot checks against the spec-verification §3.A tables
    want = {
        "llm.model.model.embed_tokens.weight": [151936, 896],
        "llm.model.model.layers.23.self_attn.k_proj.weight": [128, 896],
        "llm.model.model.layers.0.self_attn.q_proj.bias": [896],
        "llm.model.model.layers.5.mlp.down_proj.weight": [896, 4864],
        "llm.model.lm_head.weight": [151936, 896],
        "speech_embedding.weight": [6761, 896],
        "llm_decoder.weight": [6761, 896],
    }
    assert {k: llm[k] for k in want} == want
    assert "llm.model.model.layers.0.self_attn.o_proj.bias" not in llm
    want = {
        "input_embedding.weight": [6561, 80],
        "spk_embed_affine_layer.weight": [80, 192],
        "pre_lookahead_layer.conv1.weight": [1024, 80, 4],
        "pre_lookahead_layer.conv2.weight": [80, 1024, 3],
        "decoder.estimator.time_embed.time_mlp.0.weight": [1024, 256],
        "decoder.estimator.input_embed.proj.weight": [1024, 320],
        "decoder.estimator.input_embed.conv_pos_embed.conv2.0.weight": [1024, 64, 31],
        "decoder.estimator.rotary_embed.inv_freq": [32],
        "decoder.estimator.transformer_blocks.21.attn_norm.linear.weight": [6144, 1024],
        "decoder.estimator.transformer_blocks.0.attn.to_out.0.weight": [1024, 1024],
        "decoder.estimator.transformer_blocks.0.ff.ff.0.0.weight": [2048, 1024],
        "decoder.estimator.transformer_blocks.0.ff.ff.2.weight": [1024, 2048],
        "decoder.estimator.norm_out.linear.weight": [2048, 1024],
        "decoder.estimator.proj_out.weight": [80, 1024],
    }
    assert {k: flow[k] for k in want} == want
    want = {
        "conv_pre.parametrizations.weight.original1": [512, 80, 5],
        "conv_pre.parametrizations.weight.original0": [512, 1, 1],
        "ups.0.parametrizations.weight.original1": [256, 512, 16],
        "ups.2.parametrizations.weight.original1": [64, 128, 7],
        "source_downs.0.weight": [256, 18, 30],
        "source_downs.1.weight": [128, 18, 6],
        "source_downs.2.weight": [64, 18, 1],
        "source_resblocks.2.convs1.0.parametrizations.weight.original1": [64, 64, 11],
        "resblocks.8.convs2.2.parametrizations.weight.original1": [64, 64, 11],
        "resblocks.3.activations1.0.alpha": [128],
        "conv_post.parametrizations.weight.original1": [18, 64, 7],
        "f0_predictor.condnet.0.parametrizations.weight.original1": [512, 80, 4],
        "f0_predictor.condnet.8.parametrizations.weight.original1": [512, 512, 3],
        "f0_predictor.classifier.weight": [1, 512],
        "m_source.l_linear.weight": [1, 9],
    }
    assert {k: hift[k] for k in want} == want
    # parametrization keys follow the conv's bias, as torch's state_dict() orders them
    keys = list(hift)
    i = keys.index("conv_pre.bias")
    assert keys[i + 1:i + 3] == ["conv_pre.parametrizations.weight.original0", "conv_pre.parametrizations.weight.original1"]
