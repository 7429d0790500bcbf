"""DiT estimator: RoPE layout, masks, streaming prefix property, and a naive float64 reference."""

import math

import pytest
import torch
import torch.nn.functional as F

import fp32
from cosyvoice_export.models import dit as D


@pytest.fixture(scope="module")
def est(tiny_flow):
    return tiny_flow.decoder.estimator


def _inputs(T, B=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, 80, T, generator=g)
    mu = torch.randn(B, 80, T, generator=g)
    cond = torch.randn(B, 80, T, generator=g)
    spks = torch.randn(B, 80, generator=g)
    t = torch.rand(B, generator=g)
    mask = torch.ones(B, 1, T)
    return x, mask, mu, t, spks, cond


def test_rope_head0_gptj_pairs(gen):
    dh, T, C = 32, 9, 64                       # two heads of 32
    inv = 1.0 / (10000 ** (torch.arange(0, dh, 2).float() / dh))
    x = torch.randn(2, T, C, generator=gen)
    out = D.apply_rope(x, D.rope_freqs(T, inv))
    assert torch.equal(out[..., dh:], x[..., dh:])          # heads >= 1 untouched
    xd = x.double()
    # float32 angle p * inv_freq: pow, divide and multiply on the way (FN_ULPS + 3 roundings relative
    # to the angle, |cos'|, |sin'| <= 1), then cos/sin (FN_ULPS) and x0 c - x1 s (2 roundings) on terms
    # of magnitude |x0| + |x1|
    a_max = (T - 1) * 1.0
    tol = ((fp32.FN_ULPS + 3) * a_max + fp32.FN_ULPS + 2) * fp32.U * 2 * x.abs().max().item()
    for p in range(T):
        for j in range(dh // 2):
            a = p * 10000.0 ** (-2.0 * j / dh)
            c, s = math.cos(a), math.sin(a)
            want0 = xd[:, p, 2 * j] * c - xd[:, p, 2 * j + 1] * s
            want1 = xd[:, p, 2 * j + 1] * c + xd[:, p, 2 * j] * s
            assert torch.allclose(out[:, p, 2 * j].double(), want0, atol=tol, rtol=0)
            assert torch.allclose(out[:, p, 2 * j + 1].double(), want1, atol=tol, rtol=0)


def test_inv_freq_buffer(est, tiny_flow):
    dh = est.cfg.dim_head
    want = torch.tensor([10000.0 ** (-2.0 * j / dh) for j in range(dh // 2)])
    # float32 pow (FN_ULPS) and reciprocal (1 rounding) against a float64 value rounded once
    assert torch.allclose(est.rotary_embed.inv_freq, want, rtol=(fp32.FN_ULPS + 2) * fp32.U, atol=0)
    assert "decoder.estimator.rotary_embed.inv_freq" in tiny_flow.state_dict()


@pytest.mark.parametrize("T,C", [(137, 50), (50, 50), (7, 3), (20, 40)])
def test_chunk_mask_exact(T, C):
    m = D.attention_mask(torch.ones(1, 1, T), C)
    assert m.shape == (1, 1, T, T)
    want = torch.tensor([[j < (i // C + 1) * C for j in range(T)] for i in range(T)])
    assert torch.equal(m[0, 0], want)
    # as a tensor (what an ONNX input would be) and full attention when C >= T
    assert torch.equal(D.attention_mask(torch.ones(1, 1, T), torch.tensor(C))[0, 0], want)
    assert D.attention_mask(torch.ones(1, 1, T), None).all()


def test_offline_mask_is_key_padding():
    mask = torch.tensor([[[1.0, 1, 1, 0, 0]]])
    m = D.attention_mask(mask, None)[0, 0]
    assert torch.equal(m, torch.tensor([[1, 1, 1, 0, 0]] * 5).bool())


def test_timestep_features():
    t = torch.tensor([0.0, 0.3, 1.0])
    f = D.timestep_features(t, 256, 1000.0)
    half = 128
    for b in range(3):
        for j in (0, 1, 64, 127):
            a = 1000.0 * t[b].item() * math.exp(-j * math.log(10000) / (half - 1))
            # float32 argument: j * -step, exp (FN_ULPS), * t, * 1000: (FN_ULPS + 3) U relative to a
            # (up to 1000 rad, so this dominates); then sin/cos (FN_ULPS, |value| <= 1)
            tol = ((fp32.FN_ULPS + 3) * a + fp32.FN_ULPS) * fp32.U
            assert abs(f[b, j].item() - math.sin(a)) <= tol
            assert abs(f[b, half + j].item() - math.cos(a)) <= tol


def test_streaming_prefix_property(est):
    C = est.cfg.static_chunk_size
    x, mask, mu, t, spks, cond = _inputs(170, seed=1)
    with torch.no_grad():
        long = est(x, mask, mu, t, spks, cond, streaming=True)
        # a shorter input is the same float32 chain blocked differently (unit-RMS activations)
        bound = fp32.pair(fp32.dit_depth(est, 170), max(1.0, long.abs().max().item()))
        for n in (2 * C, 2 * C + 17):
            short = est(x[..., :n], mask[..., :n], mu[..., :n], t, spks, cond[..., :n], streaming=True)
            k = (n // C) * C               # frames of complete chunks are final
            assert (short[..., :k] - long[..., :k]).abs().max() <= bound
        # full attention differs beyond rounding (so the property is not trivially true)
        full = est(x, mask, mu, t, spks, cond, streaming=False)
        assert (full[..., :C] - long[..., :C]).abs().max() > bound
        # explicit chunk sizes: C = static_chunk_size == streaming, C >= T == offline
        assert torch.equal(est.forward_chunked(x, mask, mu, t, spks, cond, C), long)
        assert (est.forward_chunked(x, mask, mu, t, spks, cond, torch.tensor(1000)) - full).abs().max() <= bound


def test_input_concat_order(est):
    """Columns 0:80 of input_embed.proj read x, 80:160 cond, 160:240 mu, 240:320 spk."""
    x, mask, mu, t, spks, cond = _inputs(12, B=1, seed=2)
    W = est.input_embed.proj.weight
    saved = W.detach().clone()
    names = ["x", "cond", "mu", "spk"]
    try:
        for blk in range(4):
            with torch.no_grad():
                W.zero_()
                W[:, blk * 80:(blk + 1) * 80] = saved[:, blk * 80:(blk + 1) * 80]
                base = est(x, mask, mu, t, spks, cond)
                # unread inputs meet zero weights: at most rounding differences; read ones change more
                bound = fp32.pair(fp32.dit_depth(est, 12), max(1.0, base.abs().max().item()))
                for other in range(4):
                    args = dict(x=x, mu=mu, cond=cond, spks=spks)
                    key = {"x": "x", "cond": "cond", "mu": "mu", "spk": "spks"}[names[other]]
                    args[key] = args[key] + 1.0
                    out = est(args["x"], mask, args["mu"], t, args["spks"], args["cond"])
                    changed = (out - base).abs().max() > bound
                    assert changed == (other == blk), (names[blk], names[other])
    finally:
        with torch.no_grad():
            W.copy_(saved)


def _naive_dit(est, x, mask, mu, t, spks, cond, chunk):
    """Spec §6.4 in float64, written independently of the module's forward."""
    cfg = est.cfg
    sd = {k: v.double() for k, v in est.state_dict().items()}
    B, _, T = x.shape
    lin = lambda h, p: h @ sd[p + ".weight"].T + sd[p + ".bias"]  # noqa: E731
    ln = lambda h: (h - h.mean(-1, keepdim=True)) / torch.sqrt(h.var(-1, unbiased=False, keepdim=True) + 1e-6)  # noqa: E731
    half = 128
    fr = torch.exp(-torch.arange(half, dtype=torch.float64) * math.log(10000) / (half - 1))
    a = 1000.0 * t.double()[:, None] * fr[None]
    c = torch.cat([a.sin(), a.cos()], -1)
    c = lin(F.silu(lin(c, "time_embed.time_mlp.0")), "time_embed.time_mlp.2")
    h = torch.cat([x.double().transpose(1, 2), cond.double().transpose(1, 2), mu.double().transpose(1, 2),
                   spks.double()[:, None, :].expand(B, T, 80)], -1)
    h = lin(h, "input_embed.proj")
    p = h.transpose(1, 2)
    for name in ("conv1", "conv2"):
        w, b = sd[f"input_embed.conv_pos_embed.{name}.0.weight"], sd[f"input_embed.conv_pos_embed.{name}.0.bias"]
        p = F.conv1d(F.pad(p, (30, 0)), w, b, groups=16)
        p = p * torch.tanh(F.softplus(p))
    h = h + p.transpose(1, 2)
    Hh, dh = cfg.heads, cfg.dim_head
    pos = torch.arange(T, dtype=torch.float64)
    ang = pos[:, None] * (10000.0 ** (-torch.arange(0, dh, 2, dtype=torch.float64) / dh))[None]

    def rope(z):
        z = z.clone()
        e, o = z[..., 0:dh:2].clone(), z[..., 1:dh:2].clone()
        z[..., 0:dh:2] = e * ang.cos() - o * ang.sin()
        z[..., 1:dh:2] = o * ang.cos() + e * ang.sin()
        return z

    allow = torch.ones(T, T, dtype=torch.bool) if chunk is None else \
        torch.tensor([[j < (i // chunk + 1) * chunk for j in range(T)] for i in range(T)])
    for i in range(cfg.depth):
        pre = f"transformer_blocks.{i}."
        mod = lin(F.silu(c), pre + "attn_norm.linear")
        sh1, sc1, g1, sh2, sc2, g2 = [mod[:, k * cfg.dim:(k + 1) * cfg.dim][:, None] for k in range(6)]
        n = ln(h) * (1 + sc1) + sh1
        q, k, v = rope(lin(n, pre + "attn.to_q")), rope(lin(n, pre + "attn.to_k")), lin(n, pre + "attn.to_v")
        o = torch.zeros_like(q)
        for hh in range(Hh):
            sl = slice(hh * dh, (hh + 1) * dh)
            s = q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(dh)
            s = s.masked_fill(~allow, float("-inf"))
            o[..., sl] = torch.softmax(s, -1) @ v[..., sl]
        h = h + g1 * lin(o, pre + "attn.to_out.0")
        n = ln(h) * (1 + sc2) + sh2
        f = lin(F.gelu(lin(n, pre + "ff.ff.0.0"), approximate="tanh"), pre + "ff.ff.2")
        h = h + g2 * f
    mod = lin(F.silu(c), "norm_out.linear")
    scale, shift = mod[:, :cfg.dim][:, None], mod[:, cfg.dim:][:, None]
    h = ln(h) * (1 + scale) + shift
    return lin(h, "proj_out").transpose(1, 2)


@pytest.mark.parametrize("chunk", [None, 50])
def test_matches_naive_reference(est, chunk):
    x, mask, mu, t, spks, cond = _inputs(73, seed=5)
    with torch.no_grad():
        out = est.forward_chunked(x, mask, mu, t, spks, cond, chunk)
    want = _naive_dit(est, x, mask, mu, t, spks, cond, chunk)
    assert out.shape == (2, 80, 73)
    # float32 against float64: one chain of dit_depth on unit-RMS activations (or |want| if larger)
    assert (out.double() - want).abs().max() <= fp32.vs64(fp32.dit_depth(est, 73), max(1.0, want.abs().max().item()))
