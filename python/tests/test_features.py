"""Feature extractors (spec §4).  Tiers:
 * Slaney mel filters: formula properties and values derived by hand (librosa is not available);
 * each extractor against an independent float64 numpy re-derivation written from the spec text
   (np.fft framing, no torch), which is what the C++ engine will implement;
 * frame-count formulas, and real recorded speech (alsa-utils) vs synthetic signals.
"""
import math

import numpy as np
import pytest

import _front_helpers as H
import fp32
from cosyvoice_export.frontend import features as F


def _chirp(n, sr, f0=80.0, f1=None, seed=0):
    f1 = f1 or sr * 0.45
    t = np.arange(n) / sr
    k = (f1 - f0) / (n / sr)
    x = 0.5 * np.sin(2 * np.pi * (f0 * t + 0.5 * k * t * t))
    x += 0.05 * np.random.RandomState(seed).randn(n)
    return x.astype(np.float32)


def _speech(sr):
    if not H.ALSA_SPEECH.exists():
        pytest.skip("no recorded speech: install alsa-utils (scripts/setup/install-debian-deps.sh)")
    from cosyvoice_export.frontend.audio import load_wav

    return load_wav(H.ALSA_SPEECH, sr)[0].numpy()


# ---------------------------------------------------------------------------------------- Slaney mel

def test_slaney_scale_linear_and_log_parts():
    f = np.array([0.0, 200.0 / 3, 500.0, 999.0, 1000.0, 6400.0, 1000.0 * 6.4 ** 2])
    m = F.hz_to_mel_slaney(f)
    # linear part: 3 mel per 200 Hz; log part: 27 mel per factor 6.4 above 1 kHz (15 mel)
    np.testing.assert_allclose(m, [0.0, 1.0, 7.5, 14.985, 15.0, 42.0, 69.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(F.mel_to_hz_slaney(m), f, rtol=1e-12)


def _edges(sr, n_mels, fmax=None):
    fmax = sr / 2 if fmax is None else fmax
    return F.mel_to_hz_slaney(np.linspace(0.0, F.hz_to_mel_slaney(fmax), n_mels + 2))


@pytest.mark.parametrize("sr,n_fft,n_mels", [(16000, 400, 128), (24000, 1920, 80), (16000, 400, 80)])
def test_slaney_filter_shape_support_peaks_and_area(sr, n_fft, n_mels):
    W = F.slaney_mel_filters(sr, n_fft, n_mels)
    assert W.shape == (n_mels, n_fft // 2 + 1) and W.dtype == np.float32
    fft_f = np.arange(n_fft // 2 + 1) * sr / n_fft
    e = _edges(sr, n_mels)
    df = sr / n_fft
    for i in range(n_mels):
        lo, c, hi = e[i], e[i + 1], e[i + 2]
        inside = (fft_f > lo) & (fft_f < hi)
        assert np.all(W[i, ~inside] == 0.0)
        height = 2.0 / (hi - lo)                  # unit-area triangle of base (hi - lo)
        assert W[i].max() <= height * (1 + 1e-6)
        # exact triangle values at every bin inside the support
        tri = np.minimum((fft_f - lo) / (c - lo), (hi - fft_f) / (hi - c))
        np.testing.assert_allclose(W[i, inside], (tri * height)[inside], rtol=2e-6)
        # the peak sits on the bin nearest the centre (or its neighbour)
        assert abs(fft_f[int(np.argmax(W[i]))] - c) <= df
        if hi - lo > 8 * df:                       # wide triangles: Riemann sum ~= unit area
            assert abs(W[i].sum() * df - 1.0) < 0.02


def test_slaney_filter_values_derived_by_hand():
    # Whisper 128-bin bank (sr 16 kHz, n_fft 400, bins every 40 Hz):
    #   mel(8000) = 15 + 27 ln(8)/ln(6.4) = 45.24564 mel; 130 edges, spacing 45.24564/129 = 0.350741 mel
    #   = 23.38276 Hz (linear part: x 200/3).  Filter 0: 0 .. 23.38276 .. 46.76552 Hz, norm 2/46.76552.
    #   bin 1 (40 Hz) is on its falling side: (46.76552 - 40)/23.38276 * 2/46.76552 = 0.0123740
    W = F.slaney_mel_filters(16000, 400, 128)
    assert W[0, 1] == pytest.approx(0.0123740, rel=2e-5)
    assert W[0, 0] == 0.0 and W[0, 2] == 0.0
    #   filter 1: 23.38276 .. 46.76552 .. 70.14828 Hz, same norm; bin 1 on the rising side:
    #   (40 - 23.38276)/23.38276 * 2/46.76552 = 0.0303926
    assert W[1, 1] == pytest.approx(0.0303926, rel=2e-5)
    # Matcha 80-bin bank (sr 24 kHz, n_fft 1920, bins every 12.5 Hz): mel(12000) = 15 + 27 ln(12)/ln(6.4)
    #   = 51.14316; spacing 51.14316/81 = 0.631397 mel = 42.09314 Hz; filter 0 rises from 0 to its peak
    #   at 42.09314 Hz: bin 3 (37.5 Hz) = 37.5/42.09314 * 2/84.18628 = 0.0211645
    W = F.slaney_mel_filters(24000, 1920, 80)
    assert W[0, 3] == pytest.approx(0.0211645, rel=2e-5)
    # fmax defaults to Nyquist; a lower fmax moves every edge
    assert not np.array_equal(W, F.slaney_mel_filters(24000, 1920, 80, fmax=8000))


# ---------------------------------------------------------------------------------------- Whisper

def _whisper_numpy(x, filters, with_bound=False):
    x = x.astype(np.float64)
    xp = np.pad(x, (200, 200), mode="reflect")
    n_frames = 1 + (len(xp) - 400) // 160
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)      # periodic Hann
    frames = np.stack([xp[i * 160:i * 160 + 400] * win for i in range(n_frames)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2                 # [frames, 201]
    filters = filters.astype(np.float64)
    mel = filters @ power[:-1].T                                      # drop the last frame
    log = np.log10(np.maximum(mel, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    out = (log + 4.0) / 4.0
    if not with_bound:
        return out
    # float32: FFT bins err by fft_bin_error(400) A per frame; the log10 of a band (floored at 1e-10
    # and at the loudest band - 8, which itself errs by its own bound dm) then errs by dE / E / ln 10;
    # + 4 and / 4 and the output rounding add 3 U |(log + 4)|
    dX = fp32.fft_bin_error(400) * np.abs(frames[:-1]).sum(axis=1)
    floor = max(1e-10, 10.0 ** (log.max() - 8.0))
    dlog = fp32.log_band_bound(mel, filters.sum(axis=1)[:, None], dX[None, :], 201, floor) / math.log(10)
    dm = dlog.flat[int(np.argmax(mel))]
    return out, (dlog + dm) / 4 + 3 * fp32.U * np.abs(log + 4.0)


@pytest.mark.parametrize("n", [16000, 16159, 16160, 48000 + 37])
def test_whisper_log_mel_against_numpy(n):
    x = _chirp(n, 16000, seed=n)
    got = F.whisper_log_mel(x)
    assert got.shape == (128, n // 160) and got.dtype == np.float32
    want, bound = _whisper_numpy(x, F.slaney_mel_filters(16000, 400, 128), with_bound=True)
    fp32.assert_within(got, want, bound, "whisper log-mel vs float64")


def test_whisper_log_mel_dynamic_range_and_batch_dim():
    x = _chirp(32000, 16000)
    x[:16000] *= 1e-6                                # very quiet first half
    got = F.whisper_log_mel(x)
    # clamp at max - 8 (in log10 units, /4): the float32 (m + 4)/4 - (m - 8 + 4)/4 rounds 3 times
    assert got.max() - got.min() <= 2.0 + 3 * fp32.U * (abs(got.max()) + abs(got.min()))
    np.testing.assert_array_equal(got, F.whisper_log_mel(x[None, :]))


# ---------------------------------------------------------------------------------------- Matcha

def _matcha_numpy(x, filters, with_bound=False):
    x = x.astype(np.float64)
    xp = np.pad(x, (720, 720), mode="reflect")
    n_frames = 1 + (len(xp) - 1920) // 480
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1920) / 1920)
    frames = np.stack([xp[i * 480:i * 480 + 1920] * win for i in range(n_frames)])
    spec = np.fft.rfft(frames, axis=1)
    mag = np.sqrt(spec.real ** 2 + spec.imag ** 2 + 1e-9)
    filters = filters.astype(np.float64)
    mel = mag @ filters.T                                              # [T, 80]
    out = np.log(np.maximum(mel, 1e-5))
    if not with_bound:
        return out
    # magnitudes are 1-Lipschitz in the bin: sum_k f_k |dX| = dX F; log floored at 1e-5
    dX = fp32.fft_bin_error(1920) * np.abs(frames).sum(axis=1)
    rel = fp32.log_band_bound(mel, filters.sum(axis=1)[None, :], dX[:, None], 961, 1e-5, magnitude=True)
    return out, rel + fp32.U * np.abs(out)


@pytest.mark.parametrize("n", [24000, 24479, 24480, 72000 + 5])
def test_matcha_mel_against_numpy(n):
    x = _chirp(n, 24000, seed=n)
    got = F.matcha_mel(x)
    assert got.shape == (n // 480, 80) and got.dtype == np.float32
    want, bound = _matcha_numpy(x, F.slaney_mel_filters(24000, 1920, 80), with_bound=True)
    fp32.assert_within(got, want, bound, "matcha mel vs float64")


# ---------------------------------------------------------------------------------------- Kaldi fbank

def _kaldi_fbank_numpy(x, with_bound=False):
    """Kaldi fbank with torchaudio's defaults, from spec §4.3, in float64; with ``with_bound`` also the
    elementwise bound on a float32 computation's difference from it (see the end)."""
    x = x.astype(np.float64)
    m = 1 + (len(x) - 400) // 160
    raw = np.stack([x[i * 160:i * 160 + 400] for i in range(m)])
    frames = raw - raw.mean(axis=1, keepdims=True)                           # remove_dc_offset
    prev = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)           # x[-1] := x[0]
    frames = frames - 0.97 * prev                                            # pre-emphasis
    povey = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 399)) ** 0.85   # symmetric Hann ^ 0.85
    frames = frames * povey
    power = np.abs(np.fft.rfft(frames, n=512, axis=1)) ** 2                  # [m, 257]

    def mel(f):
        return 1127.0 * np.log(1.0 + f / 700.0)

    lo, hi = mel(20.0), mel(8000.0)
    delta = (hi - lo) / 81
    fm = mel(np.arange(256) * 16000 / 512)
    banks = np.zeros((80, 257))
    for b in range(80):
        left, center, right = lo + b * delta, lo + (b + 1) * delta, lo + (b + 2) * delta
        up = (fm - left) / (center - left)
        down = (right - fm) / (right - center)
        banks[b, :256] = np.maximum(0.0, np.minimum(up, down))
    e = power @ banks.T
    eps = np.finfo(np.float32).eps
    out = np.log(np.maximum(e, eps))
    if not with_bound:
        return out
    # Float32 errors: the DC mean (400 terms) and pre-emphasis reach every windowed sample, so each
    # FFT bin errs by <= gamma(400 + FFT levels) times A = sum_n w_n (|x_n| + 0.97 |x_n-1| + 1.97 |mean|).
    # torchaudio computes the mel scale in float32: 1127 log(1 + f/700) errs by <= (FN_ULPS + 3) U mel_max
    # + 2 * 1127 U, so a weight (fm - left) / (center - left) errs by <= 2 dmel / delta + 2 U on the
    # filter's support and one bin either side (weights that round to just above 0).
    mean = np.abs(raw.mean(axis=1, keepdims=True))
    terms = (np.abs(raw) + 0.97 * np.abs(np.concatenate([raw[:, :1], raw[:, :-1]], axis=1)) + 1.97 * mean) * povey
    dX = (fp32.gamma(400) + fp32.fft_bin_error(512)) * terms.sum(axis=1)        # [m]
    dmel = (fp32.FN_ULPS + 3) * fp32.U * hi + 2 * 1127.0 * fp32.U
    dF = 2 * dmel / delta + 2 * fp32.U
    support = banks > 0
    support[:, 1:] |= support[:, :-1].copy()
    support[:, :-1] |= support[:, 1:].copy()
    S = power @ support.T                                                      # [m, 80]
    rel = fp32.log_band_bound(e, banks.sum(axis=1)[None, :], dX[:, None], 257, eps, dF=dF, S=S)
    return out, rel + fp32.U * np.abs(out)                                    # + the log's own rounding


@pytest.mark.parametrize("n", [400, 401, 16000, 16000 + 159, 40000])
def test_kaldi_fbank_against_numpy(n):
    x = _chirp(n, 16000, f0=60, seed=n)
    raw = F.kaldi_fbank(x, cmn=False)
    assert raw.shape == (1 + (n - 400) // 160, 80) and raw.dtype == np.float32
    want, bound = _kaldi_fbank_numpy(x, with_bound=True)
    fp32.assert_within(raw, want, bound, "kaldi fbank vs float64")
    cmn = F.kaldi_fbank(x)
    # the mean over m frames in float32 and the subtraction: gamma(m + 1) on sum |raw| / m per column
    m = raw.shape[0]
    col = np.abs(raw).mean(axis=0)
    fp32.assert_within(cmn, raw - raw.mean(axis=0, keepdims=True),
                       fp32.pair(m + 1, col) + fp32.U * np.abs(raw), "cmn")
    # the float32 column means of cmn: m terms of magnitude |raw| + |mean|
    fp32.assert_within(cmn.mean(axis=0), 0.0, fp32.pair(2 * m + 2, 2 * col), "cmn mean")


def test_too_short_inputs_raise():
    with pytest.raises(ValueError):
        F.kaldi_fbank(np.zeros(399, np.float32))
    with pytest.raises(ValueError):
        F.matcha_mel(np.zeros(720, np.float32))
    with pytest.raises(ValueError):
        F.whisper_log_mel(np.zeros((2, 1000), np.float32))


# ---------------------------------------------------------------------------------------- real speech

def test_features_on_recorded_speech():
    x16, x24 = _speech(16000), _speech(24000)
    wm = F.whisper_log_mel(x16)
    fb = F.kaldi_fbank(x16)
    mm = F.matcha_mel(x24)
    assert wm.shape == (128, len(x16) // 160)
    assert fb.shape == (1 + (len(x16) - 400) // 160, 80)
    assert mm.shape == (len(x24) // 480, 80)
    for a in (wm, fb, mm):
        assert np.isfinite(a).all()
    # same recording through three extractors: the loudness contours agree (rank correlation; the
    # 50 Hz Matcha frame t is centred at 20t + 10 ms, like the 100 Hz frames 2t + 1)
    def ranks(a):
        return np.argsort(np.argsort(a))

    e24 = mm.mean(axis=1)
    e16 = wm.mean(axis=0)[1::2][:len(e24)]
    efb = F.kaldi_fbank(x16, cmn=False).mean(axis=1)[1::2][:len(e24)]
    assert np.corrcoef(ranks(e24[:len(e16)]), ranks(e16))[0, 1] > 0.9
    assert np.corrcoef(ranks(e24[:len(efb)]), ranks(efb))[0, 1] > 0.9
    # speech has more low-band than high-band energy in the mel spectrum
    assert mm[:, :40].mean() > mm[:, 60:].mean()
    # against the float64 derivations, each within its float32 bound (see the helpers above)
    fp32.assert_within(F.whisper_log_mel(x16), *_whisper_numpy(x16, F.slaney_mel_filters(16000, 400, 128), True),
                       "whisper, speech")
    fp32.assert_within(F.matcha_mel(x24), *_matcha_numpy(x24, F.slaney_mel_filters(24000, 1920, 80), True),
                       "matcha, speech")
    fp32.assert_within(F.kaldi_fbank(x16, cmn=False), *_kaldi_fbank_numpy(x16, True), "kaldi, speech")
