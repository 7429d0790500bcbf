"""Flow: pre-lookahead finalize semantics, CFG/Euler against an independent loop, lengths, streaming."""

import math

import pytest
import torch
import torch.nn.functional as F

import fp32
from cosyvoice_export.models.flow import time_grid

NOISE = torch.randn(1, 80, 15000, generator=torch.Generator().manual_seed(0))


def _case(K, N, seed=0, mel_len1=None):
    g = torch.Generator().manual_seed(seed)
    tok = torch.randint(0, 6561, (1, N), generator=g)
    ptok = torch.randint(0, 6561, (1, K), generator=g)
    pfeat = torch.randn(1, 2 * K if mel_len1 is None else mel_len1, 80, generator=g) - 4.0
    emb = torch.randn(1, 192, generator=g) * 3
    return tok, ptok, pfeat, emb


def test_cosine_time_grid_matches_spec():
    spec = [0, 0.012312, 0.048943, 0.108993, 0.190983, 0.292893, 0.412215, 0.546010, 0.690983, 0.843566, 1.0]
    t = time_grid(10, "cosine")
    assert t.dtype == torch.float32
    # spec values are rounded to 6 decimals (5e-7); float32: k/n and * pi/2 (2 roundings of an
    # argument <= pi/2, |cos'| <= 1), cos (FN_ULPS), 1 - cos (1 rounding)
    tol = 0.5e-6 + (2 * math.pi / 2 + fp32.FN_ULPS + 1) * fp32.U
    assert torch.allclose(t.double(), torch.tensor(spec, dtype=torch.float64), atol=tol, rtol=0)


def _abs_lookahead(pl, e):
    """The pre-lookahead layer with |weights|, |biases| on |e| (leaky ReLU is 1-Lipschitz with
    |f(x)| <= |x|): elementwise, the sum of |terms| of conv2 over conv1, which bounds the float32
    error of the two convolutions (Higham eq. 3.5 applied to each, chained)."""
    with torch.no_grad():
        h = F.conv1d(F.pad(e.abs().transpose(1, 2), (0, pl.lookahead)), pl.conv1.weight.abs(), pl.conv1.bias.abs())
        h = F.conv1d(F.pad(h, (2, 0)), pl.conv2.weight.abs(), pl.conv2.bias.abs())
    return h.transpose(1, 2)


def _lookahead_bound(pl, e):
    """Largest difference of two float32 evaluations of the layer on e [B, T, C]: conv1 (C x 4 taps)
    and conv2 (channels x 3 taps) are one chain of weight_depth(pl) terms of magnitude <= the
    |terms| network above, plus the rounding of the residual add (<= U |out| each)."""
    terms = _abs_lookahead(pl, e)
    return fp32.pair(fp32.weight_depth(pl) + 1, terms.max().item() + e.abs().max().item())


def test_pre_lookahead_finalize(tiny_flow):
    tokens = torch.randint(0, 6561, (1, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        fin = tiny_flow.encode_tokens(tokens, finalize=True)
        part = tiny_flow.encode_tokens(tokens, finalize=False)
        emb = tiny_flow.input_embedding(tokens)
    assert fin.shape == (1, 80, 80) and part.shape == (1, 80, 74)
    # 74 vs 80 frames: the same float32 convolutions, blocked (summed) in another order
    bound = _lookahead_bound(tiny_flow.pre_lookahead_layer, emb)
    assert (part - fin[:, :, :74]).abs().max() <= bound
    # the last 3 tokens of a finalized pass see zero padding instead, so they differ (beyond rounding)
    longer = tiny_flow.encode_tokens(torch.cat([tokens, tokens[:, :3]], 1), True)
    assert (fin[:, :, 74:] - longer[:, :, 74:80]).abs().max() > bound
    # repeat_interleave x2 (token_mel_ratio)
    assert torch.equal(fin[:, :, 0::2], fin[:, :, 1::2])


def test_pre_lookahead_independent(tiny_flow):
    """conv1(k=4) over [e, 3 zeros] -> leaky_relu(0.01) -> left pad 2 -> conv2(k=3) -> + e."""
    pl = tiny_flow.pre_lookahead_layer
    e = torch.randn(1, 9, 80, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        out = pl(e)
        h = F.conv1d(F.pad(e.transpose(1, 2), (0, 3)), pl.conv1.weight, pl.conv1.bias)
        h = torch.where(h > 0, h, 0.01 * h)
        h = F.conv1d(F.pad(h, (2, 0)), pl.conv2.weight, pl.conv2.bias)
    # two float32 evaluations of the same chain (the module may pick other conv kernels)
    assert (out - (h.transpose(1, 2) + e)).abs().max() <= _lookahead_bound(pl, e)


def test_speaker_projection(tiny_flow):
    emb = torch.randn(1, 192, generator=torch.Generator().manual_seed(3)) * 7
    lin = tiny_flow.spk_embed_affine_layer
    unit = emb / emb.norm()
    want = unit @ lin.weight.T + lin.bias
    # norm (192 squares, sqrt), divide, then a 192-term dot product: one chain, terms |W| |unit| + |b|
    terms = (unit.abs() @ lin.weight.abs().T + lin.bias.abs()).max().item()
    bound = fp32.pair(fp32.chain(192, 1, 192, 1, transcendental=1), terms)
    assert (tiny_flow.embed_speaker(emb) - want).abs().max() <= bound


def _euler_cfg(est, x0, mu, mask, spks, cond, cfg_rate, n=10, chunk=None):
    """Independent loop: cosine grid, conditional call and (cfg_rate > 0) an unconditional
    call with mu = spks = cond = 0, v = (1 + r) v_c - r v_u, x += dt v."""
    ts = [1 - math.cos(k / n * math.pi / 2) for k in range(n + 1)]
    x = x0.clone()
    for k in range(1, n + 1):
        t = torch.tensor([ts[k - 1]], dtype=torch.float32)
        v = est.forward_chunked(x, mask, mu, t, spks, cond, chunk)
        if cfg_rate:
            vu = est.forward_chunked(x, mask, torch.zeros_like(mu), t, torch.zeros_like(spks),
                                     torch.zeros_like(cond), chunk)
            v = (1 + cfg_rate) * v - cfg_rate * vu
        x = x + (ts[k] - ts[k - 1]) * v
    return x


def _solver_bound(flow, frames, cfg_rate, mel, encoder=False):
    """Two float32 runs of the 10-step Euler/CFG solve on ``frames`` frames (batched or not, any
    thread count): each DiT call is within pair(dit_depth) of the other run's (its activations are
    unit-RMS after the layer norms, so the scale is max(1, |mel|)); the solver turns per-call errors
    into at most euler_cfg_gain(r) times that; the 10 Euler updates add 2 roundings each. With
    ``encoder``, the encoder's own difference (pre-lookahead chain) enters the DiT as mu: to first
    order its depth adds to the chain."""
    scale = max(1.0, mel.abs().max().item())
    depth = fp32.dit_depth(flow.decoder.estimator, frames)
    if encoder:
        depth += fp32.weight_depth(flow.pre_lookahead_layer) + 1
    return fp32.euler_cfg_gain(cfg_rate) * fp32.pair(depth, scale) + fp32.pair(2 * 10, scale)


@pytest.mark.parametrize("cfg_rate", [0.0, 0.7])
def test_cfg_solver_against_independent_loop(tiny_flow, cfg_rate):
    tok, ptok, pfeat, emb = _case(6, 9, seed=4)
    with torch.no_grad():
        inp = tiny_flow.encode(tok, ptok, pfeat, emb, finalize=True)
        got = tiny_flow.decoder.solve(NOISE, inp.mu, inp.mask, inp.spks, inp.cond, 10, cfg_rate)
        want = _euler_cfg(tiny_flow.decoder.estimator, NOISE[:, :, :inp.mu.shape[2]], inp.mu, inp.mask,
                          inp.spks, inp.cond, cfg_rate)
    bound = _solver_bound(tiny_flow, inp.mu.shape[2], cfg_rate, want)
    assert (got - want).abs().max() <= bound
    if cfg_rate == 0.0:
        with torch.no_grad():
            g7 = tiny_flow.decoder.solve(NOISE, inp.mu, inp.mask, inp.spks, inp.cond, 10, 0.7)
        assert (g7 - got).abs().max() > _solver_bound(tiny_flow, inp.mu.shape[2], 0.7, g7)  # guidance does something


def test_encode_cond_and_lengths(tiny_flow):
    tok, ptok, pfeat, emb = _case(5, 8, seed=5)
    inp = tiny_flow.encode(tok, ptok, pfeat, emb, finalize=True)
    T = 2 * (5 + 8)
    assert inp.mu.shape == (1, 80, T) and inp.cond.shape == (1, 80, T) and inp.mask.shape == (1, 1, T)
    assert torch.equal(inp.cond[:, :, :10], pfeat.transpose(1, 2)) and not inp.cond[:, :, 10:].any()
    with torch.no_grad():
        assert tiny_flow.inference(tok, ptok, pfeat, emb, NOISE, finalize=True).shape == (1, 80, 16)
        assert tiny_flow.inference(tok, ptok, pfeat, emb, NOISE, finalize=False).shape == (1, 80, 10)
        # VC: prompt_feat not aligned to 2K -> output is 2(K + N) - mel_len1 frames (spec-verification D1/D2)
        tok, ptok, pfeat, emb = _case(5, 8, seed=6, mel_len1=13)
        out = tiny_flow.inference(tok, ptok, pfeat, emb, NOISE, finalize=True)
        assert out.shape == (1, 80, 2 * 13 - 13)


def test_streaming_chunks_reproduce_prefix(tiny_flow):
    """Upstream's streaming loop: a chunk-aligned first hop (streaming=True, finalize=False)
    gives the same mel as a later, longer pass over the same frames."""
    K, first_hop = 25, 25                       # prompt ends on a chunk boundary (pad = 0)
    tok, ptok, pfeat, emb = _case(K, 90, seed=7)
    with torch.no_grad():
        m1 = tiny_flow.inference(tok[:, :first_hop + 3], ptok, pfeat, emb, NOISE, streaming=True, finalize=False)
        m2 = tiny_flow.inference(tok[:, :first_hop + 50 + 3], ptok, pfeat, emb, NOISE, streaming=True, finalize=False)
        m_off = tiny_flow.inference(tok, ptok, pfeat, emb, NOISE, streaming=False, finalize=True)
    assert m1.shape == (1, 80, 2 * first_hop) and m2.shape == (1, 80, 2 * (first_hop + 50))
    # encoder + solver on 2 (K + 78) frames vs fewer: the same chains in another order
    frames = 2 * (K + first_hop + 50 + 3)
    bound = _solver_bound(tiny_flow, frames, tiny_flow.decoder.cfm.inference_cfg_rate, m2, encoder=True)
    assert (m2[:, :, :m1.shape[2]] - m1).abs().max() <= bound
    assert torch.isfinite(m_off).all() and (m_off[:, :, :50] - m1).abs().max() > bound
