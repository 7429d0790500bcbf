"""Prompt-audio loading (spec §2.1).  Tiers: libsndfile reads of files written here (WAV/FLAC/OGG,
mono and stereo), a float64 numpy re-derivation of torchaudio's sinc-Hann resampler from the spec
formula, real recorded speech, and the error cases."""
import math
import os

import numpy as np
import pytest

import _front_helpers as H
import fp32
from cosyvoice_export.frontend import audio as A

sf = pytest.importorskip("soundfile", reason="python3-soundfile is needed to read audio (install-debian-deps.sh)")


def _tone(n, sr, f=440.0, channels=1, amp=0.5):
    t = np.arange(n) / sr
    cols = [amp * np.sin(2 * np.pi * f * (c + 1) * t) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


def _write(tmp_path, name, data, sr, subtype=None, fmt=None):
    p = tmp_path / name
    sf.write(str(p), data, sr, subtype=subtype, format=fmt)
    return p


# ------------------------------------------------------------------------------------ reading

def test_load_audio_real_speech():
    if not H.ALSA_SPEECH.exists():
        pytest.skip("no recorded speech: install alsa-utils")
    x, sr = A.load_audio(H.ALSA_SPEECH)
    assert sr == 48000 and x.dtype == np.float32 and x.ndim == 1
    assert 0.1 < np.abs(x).max() <= 1.0
    raw, _ = sf.read(str(H.ALSA_SPEECH), dtype="int16")
    np.testing.assert_array_equal(x, raw.astype(np.float32) / 32768.0)   # libsndfile's int16 scaling


@pytest.mark.parametrize("name,subtype,fmt", [("a.wav", "PCM_16", None), ("a.wav", "PCM_24", None),
                                              ("a.wav", "FLOAT", None), ("a.flac", "PCM_16", None),
                                              ("a.ogg", "VORBIS", None)])
def test_load_audio_formats_and_channel_mean(tmp_path, name, subtype, fmt):
    data = _tone(8000, 22050, channels=2)
    p = _write(tmp_path, name, data, 22050, subtype, fmt)
    x, sr = A.load_audio(p)
    assert sr == 22050 and x.dtype == np.float32 and x.shape[0] > 0
    back = sf.read(str(p), dtype="float32", always_2d=True)[0]
    amp = float(np.abs(back).max())
    # two float32 means of 2 channels (a sum and a halving, in whatever order): pair(2)
    np.testing.assert_allclose(x, back.mean(axis=1), atol=fp32.pair(2, amp), rtol=0)
    if subtype in ("PCM_16", "PCM_24", "FLOAT") and fmt is None and name.endswith(".wav"):
        # libsndfile writes round(x * (2^(b-1) - 1)) and reads q / 2^(b-1): |error| <= (|x| + 0.5) LSB;
        # float32 storage rounds once (U |x|); then the float32 mean of 2 channels
        lsb = {"PCM_16": 2.0 ** -15, "PCM_24": 2.0 ** -23, "FLOAT": 0.0}[subtype]
        tol = (amp + 0.5) * lsb + fp32.U * amp + fp32.pair(2, amp)
        np.testing.assert_allclose(x, data.mean(axis=1), atol=tol, rtol=0)


# ------------------------------------------------------------------------------------ resampling

def _resample_numpy(x, orig, new, width_factor=6, rolloff=0.99, absolute=False):
    """torchaudio's sinc_interp_hann resampler from the spec formula, in float64; with ``absolute``
    the same sums over |x| and |kernel| (sum |terms| of each output, for the error bound)."""
    g = math.gcd(orig, new)
    o, n = orig // g, new // g
    if o == n:
        return x.astype(np.float64)
    base = min(o, n) * rolloff
    width = math.ceil(width_factor * o / base)
    idx = np.arange(-width, width + o) / o                       # input offsets of one output phase
    t = (-np.arange(n) / n)[:, None] + idx[None, :]               # [n phases, taps]
    t = np.clip(t * base, -width_factor, width_factor)
    window = np.cos(t * np.pi / width_factor / 2) ** 2
    t = t * np.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(t == 0, 1.0, np.sin(t) / t)
    k = k * window * (base / o)
    if absolute:
        k, x = np.abs(k), np.abs(x)
    xp = np.pad(x.astype(np.float64), (width, width + o))
    n_blocks = (len(xp) - k.shape[1]) // o + 1
    out = np.stack([xp[b * o:b * o + k.shape[1]] @ k.T for b in range(n_blocks)]).reshape(-1)
    return out[:int(math.ceil(n * len(x) / o))]


def _resample_bound(data, orig, new):
    """torchaudio resamples with a float32 convolution of K = 2 width + orig/g taps whose float32
    kernel values (sinc, cos^2 window: 3 transcendentals, ~6 roundings, an argument of up to 6 pi
    rounded once) err by (3 FN_ULPS + 6 + 6 pi) U relative: one chain on sum |x k| per output."""
    g = math.gcd(orig, new)
    o = orig // g
    taps = 2 * math.ceil(6 * o / (min(o, new // g) * 0.99)) + o
    terms = _resample_numpy(data[:, 0], orig, new, absolute=True).max()
    return fp32.vs64(fp32.chain(taps, 6 + 6 * math.pi, transcendental=3), terms)


@pytest.mark.parametrize("orig,new", [(48000, 16000), (48000, 24000), (44100, 16000), (44100, 24000),
                                      (22050, 24000), (16000, 24000), (32000, 16000)])
def test_load_wav_resampling_matches_formula(tmp_path, orig, new):
    data = _tone(orig // 4 + 17, orig, f=300.0) + _tone(orig // 4 + 17, orig, f=3100.0, amp=0.2)
    p = _write(tmp_path, "t.wav", data, orig, "FLOAT")
    y = A.load_wav(p, new)
    assert y.shape == (1, int(math.ceil(new * len(data) / orig)))
    assert str(y.dtype) == "torch.float32"
    np.testing.assert_allclose(y[0].numpy(), _resample_numpy(data[:, 0], orig, new), atol=_resample_bound(data, orig, new),
                               rtol=0)


def test_load_wav_same_rate_is_identity(tmp_path):
    data = _tone(1600, 16000)
    p = _write(tmp_path, "t.wav", data, 16000, "FLOAT")
    np.testing.assert_array_equal(A.load_wav(p, 16000)[0].numpy(), data[:, 0])


def test_prompt_copies_are_each_resampled_from_the_original(tmp_path):
    import torch
    import torchaudio

    data = _tone(44100, 44100, f=2000.0, channels=2)
    p = _write(tmp_path, "p.wav", data, 44100, "PCM_16")
    x16, x24 = A.load_prompt_wavs(p)
    orig = torch.from_numpy(sf.read(str(p), dtype="float32", always_2d=True)[0].T.copy()).mean(0, keepdim=True)
    assert torch.equal(x16, torchaudio.transforms.Resample(44100, 16000)(orig))
    assert torch.equal(x24, torchaudio.transforms.Resample(44100, 24000)(orig))
    assert torch.equal(x16, A.load_wav(p, 16000)) and torch.equal(x24, A.load_wav(p, 24000))
    chained = torchaudio.transforms.Resample(16000, 24000)(x16)
    # chaining differs by more than the rounding of the two resamplers could explain
    bound = _resample_bound(data, 44100, 24000) + _resample_bound(x16[0].numpy()[:, None].astype(np.float64), 16000, 24000)
    assert (chained[..., :x24.shape[-1]] - x24).abs().max() > bound


def test_real_speech_prompt_lengths():
    if not H.ALSA_SPEECH.exists():
        pytest.skip("no recorded speech: install alsa-utils")
    x16, x24 = A.load_prompt_wavs(H.ALSA_SPEECH)
    n48 = sf.info(str(H.ALSA_SPEECH)).frames
    assert x16.shape == (1, math.ceil(n48 / 3)) and x24.shape == (1, math.ceil(n48 / 2))


# ------------------------------------------------------------------------------------ errors

def _err(fn, *a):
    with pytest.raises(A.AudioError) as e:
        fn(*a)
    return str(e.value)


def test_missing_and_unreadable_files(tmp_path):
    msg = _err(A.load_wav, tmp_path / "nope.wav", 16000)
    assert "nope.wav" in msg and "no such file" in msg
    bad = tmp_path / "garbage.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 3)
    msg = _err(A.load_audio, bad)
    assert "garbage.wav" in msg and "cannot read audio" in msg and "WAV/FLAC/OGG" in msg
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    assert "notes.txt" in _err(A.load_wav, txt, 24000)


def test_empty_file(tmp_path):
    p = _write(tmp_path, "empty.wav", np.zeros((0, 1), np.float32), 16000, "PCM_16")
    msg = _err(A.load_wav, p, 16000)
    assert "empty.wav" in msg and "no samples" in msg


def test_low_sample_rate(tmp_path):
    p = _write(tmp_path, "tel.wav", _tone(8000, 8000), 8000, "PCM_16")
    msg = _err(A.load_wav, p, 16000)
    assert "tel.wav" in msg and "8000 Hz" in msg and "16000" in msg
    assert "tel.wav" in _err(A.load_prompt_wavs, p)
    x, sr = A.load_audio(p)            # plain reading has no rate requirement
    assert sr == 8000


def test_silent_file(tmp_path):
    p = _write(tmp_path, "quiet.wav", np.full((16000, 1), 5e-5, np.float32), 16000, "FLOAT")
    msg = _err(A.load_wav, p, 24000)
    assert "quiet.wav" in msg and "silent" in msg
    ok = _write(tmp_path, "soft.wav", np.full((16000, 1), 2e-4, np.float32), 16000, "FLOAT")
    A.load_wav(ok, 24000)


def test_tokenizer_duration_limit(tmp_path):
    p30 = _write(tmp_path, "thirty.wav", _tone(30 * 16000, 16000), 16000, "PCM_16")
    x16, _ = A.load_prompt_wavs(p30)                     # exactly 30 s is accepted
    assert x16.shape[-1] == 480000
    p31 = _write(tmp_path, "long.wav", _tone(30 * 16000 + 1, 16000), 16000, "PCM_16")
    msg = _err(A.load_prompt_wavs, p31)
    assert "long.wav" in msg and "30 s" in msg
    x16, x24 = A.load_prompt_wavs(p31, check_duration=False)
    with pytest.raises(A.AudioError):
        A.check_tokenizer_duration(x16, p31)
