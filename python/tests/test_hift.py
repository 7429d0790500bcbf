"""HiFT vocoder: finalize bookkeeping, the NSF source against upstream's literal op order, DSP pieces."""

import math

import numpy as np
import torch
import torch.nn.functional as F

import fp32
from cosyvoice_export.export import bundle as B
from cosyvoice_export.models.hift import Snake, hann_window_periodic

NOISE = torch.rand(1, 480 * 120, 9, generator=torch.Generator().manual_seed(11))


def _mel(T, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 80, T, generator=g) * 2.0 - 5.0


def test_lengths_and_finalize_prefix(tiny_hift):
    T = 40
    mel = _mel(T)
    trace = {}
    with torch.no_grad():
        full = tiny_hift.inference(mel, NOISE, finalize=True, trace=trace)
        part = tiny_hift.inference(mel, NOISE, finalize=False)
    bound = fp32.hift_wave_bound(tiny_hift, trace["magnitude"])
    assert full.shape == (1, 480 * T) and part.shape == (1, 480 * (T - 8))
    assert (part - full[:, :part.shape[1]]).abs().max() <= bound
    assert full.abs().max() <= 0.99 and torch.isfinite(full).all() and full.std() > 1e-4
    # streaming as upstream does it: vocode a growing mel, keep only the new samples
    with torch.no_grad():
        early = tiny_hift.inference(mel[:, :, :25], NOISE, finalize=False)
    assert (early - full[:, :early.shape[1]]).abs().max() <= bound


def test_f0_is_float64_and_causal(tiny_hift):
    assert all(p.dtype == torch.float64 for p in tiny_hift.f0_predictor.parameters())
    mel = _mel(50, seed=1)
    with torch.no_grad():
        f_full = tiny_hift.f0(mel, finalize=True)
        f_part = tiny_hift.f0(mel, finalize=False)
    assert f_full.dtype == torch.float32 and f_full.shape == (1, 50) and f_part.shape == (1, 47)
    assert torch.equal(f_part, f_full[:, :47])


def test_tiny_f0_exercises_voiced_and_unvoiced(tiny_hift):
    with torch.no_grad():
        f0 = tiny_hift.f0(_mel(400, seed=2))
    assert (f0 > 10).float().mean() > 0.5          # mostly voiced, in a plausible Hz range
    assert (f0 <= 10).sum() >= 3                    # ... and some unvoiced frames
    assert f0.max() < 600


def _upstream_order_source(hift, f0, noise):
    """SineGen2 (causal) + SourceModuleHnNSF in upstream's literal per-sample op order
    (spec §7.3): nearest x480 f0, rad = (f h / sr) % 1, rand_ini added at sample 0, linear
    resampling /480, cumsum (accumulated in float64) * 2 * pi, * 480, nearest x480, sin."""
    up = 480
    f0_up = F.interpolate(f0[:, None], scale_factor=up, mode="nearest").transpose(1, 2)       # [B, L, 1]
    fn = f0_up * torch.tensor([[list(range(1, 10))]], dtype=torch.float32)
    rad = (fn / 24000) % 1
    rand_ini = torch.rand(1, 9, generator=torch.Generator().manual_seed(5))
    rand_ini[:, 0] = 0
    rad[:, 0, :] = rad[:, 0, :] + rand_ini
    rad = F.interpolate(rad.transpose(1, 2), scale_factor=1 / up, mode="linear").transpose(1, 2)
    phase = torch.cumsum(rad.double(), dim=1).float() * 2 * np.pi
    phase = F.interpolate(phase.transpose(1, 2) * up, scale_factor=up, mode="nearest").transpose(1, 2)
    sine = torch.sin(phase) * 0.1
    uv = (f0_up > 10).float()
    noise_amp = uv * 0.003 + (1 - uv) * 0.1 / 3
    waves = sine * uv + noise_amp * noise[:, :sine.shape[1]]
    lin = hift.m_source.l_linear
    return torch.tanh(waves @ lin.weight.T + lin.bias).transpose(1, 2)


def test_source_matches_upstream_op_order(tiny_hift):
    g = torch.Generator().manual_seed(3)
    f0 = torch.rand(1, 60, generator=g) * 400.0
    f0[0, 5:9] = 0.0                                   # unvoiced run
    f0[0, 20] = 10.0                                   # exactly at the threshold: unvoiced (> 10 is voiced)
    with torch.no_grad():
        got = tiny_hift.source(f0, NOISE)
        want = _upstream_order_source(tiny_hift, f0, NOISE)
    assert got.shape == (1, 1, 480 * 60)
    # Same float32 operations in the same order up to the phase (the linear resampling reads two equal
    # values, which it returns exactly), so the sines differ at most by the sin kernels (FN_ULPS each);
    # then l_linear (9 terms + bias) and tanh: one chain of 10 + 2 FN_ULPS on |W| |waves| + |b|
    lin = tiny_hift.m_source.l_linear
    waves_abs = 0.1 + NOISE.abs().max().item() * 0.1 / 3
    terms = waves_abs * lin.weight.abs().sum().item() + lin.bias.abs().max().item()
    bound = fp32.pair(fp32.chain(10, transcendental=2), terms)
    assert (got - want).abs().max() <= bound
    # unvoiced frames carry only noise: tanh(l_linear(0.1/3 * u))
    blk = NOISE[0, 480 * 5:480 * 6]
    want_u = torch.tanh((0.1 / 3) * blk @ lin.weight.T + lin.bias)[:, 0]
    assert (got[0, 0, 480 * 5:480 * 6] - want_u).abs().max() <= bound


def test_nearest_upsample_is_repeat():
    x = torch.rand(1, 1, 15000, generator=torch.Generator().manual_seed(4))
    a = F.interpolate(x, scale_factor=480, mode="nearest")
    assert torch.equal(a, x.repeat_interleave(480, dim=2))


def test_window_stft_istft(tiny_hift):
    w = hann_window_periodic(16)
    want = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(16) / 16)
    np.testing.assert_allclose(w.numpy(), want, atol=fp32.U, rtol=0)   # float64, rounded once to float32
    s = torch.randn(1, 1, 480 * 3, generator=torch.Generator().manual_seed(6)) * 0.3
    spec = tiny_hift.stft(s)
    assert spec.shape == (1, 18, 480 * 3 // 4 + 1)
    # independent DFT of one interior frame (center=True: frame f covers samples 4f-8 .. 4f+7)
    f = 37
    seg = s[0, 0, 4 * f - 8:4 * f + 8].double() * w.double()
    k = torch.arange(9, dtype=torch.float64)[:, None]
    n = torch.arange(16, dtype=torch.float64)[None, :]
    re = (seg[None] * torch.cos(2 * math.pi * k * n / 16)).sum(1)
    im = -(seg[None] * torch.sin(2 * math.pi * k * n / 16)).sum(1)
    # float32 FFT of 16 points (windowing, 4 levels, twiddles) against float64: on A = sum |seg|
    d_bin = fp32.vs64(fp32.chain(16, 4, 2, transcendental=2), seg.abs().sum().item())
    assert torch.allclose(spec[0, :9, f].double(), re, atol=d_bin, rtol=0)
    assert torch.allclose(spec[0, 9:, f].double(), im, atol=d_bin, rtol=0)
    re_, im_ = spec[:, :9], spec[:, 9:]
    mag, ph = torch.sqrt(re_ ** 2 + im_ ** 2), torch.atan2(im_, re_)
    # istft(mag, phase) inverts stft; phase is used through cos/sin as in upstream. Every bin carries
    # the STFT's error (on the largest frame's A) plus sqrt/atan2/cos/sin and products (3 FN_ULPS + 4
    # roundings of |X|); the inverse amplifies an absolute bin error by <= 1.5 and adds its own rounding.
    a_max = F.conv1d(F.pad(s.abs(), (8, 8)), w.abs()[None, None], stride=4).max().item()
    peak = mag.max().item()
    d_y = 1.5 * (fp32.vs64(fp32.chain(16, 4, 2, transcendental=2), a_max) + fp32.gamma(fp32.chain(4, transcendental=3)) * peak) \
        + fp32.pair(fp32.chain(18, 4, 1, transcendental=1), peak)
    y = tiny_hift.istft(mag, ph)
    assert y.shape == (1, 480 * 3)
    assert (y[0] - s[0, 0]).abs().max() <= d_y
    # magnitudes are clipped at 100
    big = tiny_hift.istft(torch.full((1, 9, 11), 1e4), torch.zeros(1, 9, 11))
    ref = tiny_hift.istft(torch.full((1, 9, 11), 100.0), torch.zeros(1, 9, 11))
    assert torch.equal(big, ref)


def test_snake():
    sn = Snake(3)
    with torch.no_grad():
        sn.alpha.copy_(torch.tensor([0.5, 1.0, 2.0]))
    x = torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(7))
    a = torch.tensor([0.5, 1.0, 2.0])[None, :, None]
    want = x + torch.sin(a * x) ** 2 / (a + 1e-9)
    # two float32 evaluations, reciprocal-multiply vs divide: <= 5 roundings and a sin on |x| + sin^2/a
    terms = (x.abs() + torch.sin(a * x) ** 2 / a).max().item()
    assert (sn(x) - want).abs().max() <= fp32.pair(fp32.chain(5, transcendental=1), terms)


def test_decode_shapes(tiny_hift):
    T = 20
    mel = _mel(T, seed=8)
    s = torch.zeros(1, 1, 480 * T)
    spec = tiny_hift.stft(s)
    with torch.no_grad():
        mag, ph = tiny_hift.decode(mel, spec, finalize=True)
        mag2, ph2 = tiny_hift.decode(mel, spec, finalize=False)
    assert mag.shape == ph.shape == (1, 9, 120 * T + 1)
    assert mag2.shape == (1, 9, 120 * (T - 4) + 1)
    assert (mag > 0).all() and ph.abs().max() <= 1.0
    # the same generator chain on fewer frames: its derived relative bound (export/bundle.py)
    assert (mag2 - mag[:, :, :mag2.shape[2]]).abs().max() <= B.tol_generator(tiny_hift)["real"].value * mag.abs().max()


def _naive_generator(hift, mel, s_stft):
    """Spec §7.2/§7.4 in float64 from the folded weights: conv_pre (k5, 4 frames right pad),
    3 x [leaky 0.1, nearest up, left pad k-1, conv; reflection pad (1, 0) after the last;
    + source_resblock(source_down(s_stft)); mean of 3 resblocks], leaky 0.01, conv_post
    (k7, left pad 6), exp / sin."""
    sd = {k: v.double() for k, v in hift.state_dict().items()}
    conv = lambda x, p, left=0, right=0, stride=1, dil=1: F.conv1d(  # noqa: E731
        F.pad(x, (left, right)), sd[p + ".weight"], sd[p + ".bias"], stride=stride, dilation=dil)
    snake = lambda x, p: x + torch.sin(sd[p][None, :, None] * x) ** 2 / (sd[p][None, :, None] + 1e-9)  # noqa: E731

    def resblock(x, p, k):
        for j, d in enumerate((1, 3, 5)):
            xt = conv(snake(x, f"{p}.activations1.{j}.alpha"), f"{p}.convs1.{j}", left=(k - 1) * d, dil=d)
            xt = conv(snake(xt, f"{p}.activations2.{j}.alpha"), f"{p}.convs2.{j}", left=k - 1)
            x = x + xt
        return x

    x = conv(mel.double(), "conv_pre", right=4)
    s = s_stft.double()
    downs = [dict(left=14, stride=15), dict(left=2, stride=3), dict()]
    for i, (u, k) in enumerate(zip((8, 5, 3), (16, 11, 7))):
        x = F.leaky_relu(x, 0.1).repeat_interleave(u, dim=2)
        x = conv(x, f"ups.{i}", left=k - 1)
        if i == 2:
            x = torch.cat([x[:, :, 1:2], x], dim=2)
        x = x + resblock(conv(s, f"source_downs.{i}", **downs[i]), f"source_resblocks.{i}", (7, 7, 11)[i])
        x = sum(resblock(x, f"resblocks.{3 * i + j}", kk) for j, kk in enumerate((3, 7, 11))) / 3
    x = conv(F.leaky_relu(x, 0.01), "conv_post", left=6)
    return torch.exp(x[:, :9]), torch.sin(x[:, 9:])


def _naive_f0(hift, mel):
    sd = {k: v for k, v in hift.state_dict().items() if k.startswith("f0_predictor.")}
    x = mel.double()
    for i, pad in zip((0, 2, 4, 6, 8), ((0, 3), (2, 0), (2, 0), (2, 0), (2, 0))):
        x = F.elu(F.conv1d(F.pad(x, pad), sd[f"f0_predictor.condnet.{i}.weight"], sd[f"f0_predictor.condnet.{i}.bias"]))
    w, b = sd["f0_predictor.classifier.weight"], sd["f0_predictor.classifier.bias"]
    return (x.transpose(1, 2) @ w.T + b).squeeze(-1).abs()


def test_generator_and_f0_match_naive_reference(tiny_hift):
    T = 12
    mel = _mel(T, seed=9)
    with torch.no_grad():
        f0 = tiny_hift.f0(mel)
        s_stft = tiny_hift.stft(tiny_hift.source(f0, NOISE))
        mag, ph = tiny_hift.decode(mel, s_stft)
    # float64 on both sides, each rounded once to float32: 1 ulp apart, plus float64 chain differences
    f0_naive = _naive_f0(tiny_hift, mel)
    d_f0 = 2 * fp32.gamma(fp32.weight_depth(tiny_hift.f0_predictor), fp32.U64) * f0_naive.abs().max().item()
    assert torch.allclose(f0.double(), f0_naive.float().double(), rtol=2 * fp32.U, atol=d_f0)
    nm, nph = _naive_generator(tiny_hift, mel, s_stft)
    # mag = exp(x), ph = sin(x): an absolute error e of the float32 chain's x is a relative error e of
    # mag and an absolute one of ph; x errs by vs64(depth) on its scale (>= 1; |x| <= ln 100 unclipped)
    depth = fp32.weight_depth(tiny_hift) - fp32.weight_depth(tiny_hift.f0_predictor) + fp32.chain(transcendental=2)
    e = fp32.vs64(depth, max(1.0, nm.log().abs().max().item()))
    assert torch.allclose(mag.double(), nm, rtol=e, atol=0)
    assert torch.allclose(ph.double(), nph, rtol=0, atol=e)
