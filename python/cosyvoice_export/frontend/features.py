"""Audio feature extractors of the CosyVoice3 frontend (spec §4; verification §(9), §3.D).

kaldi_fbank(x16)          [M, 80]   torchaudio Kaldi fbank (80 bins, dither 0) minus the per-utterance
                                    mean: the CAM++ speaker-encoder input.  M = 1 + (N - 400) // 160.
whisper_log_mel(x16)      [128, T]  Whisper log-mel for speech_tokenizer_v3.  T = N // 160.
matcha_mel(x24)           [T, 80]   Matcha-TTS mel for the flow prompt (frames x bins).  T = N // 480.
slaney_mel_filters(...)   [n_mels, n_fft//2+1]  librosa.filters.mel(htk=False, norm='slaney').

Inputs are 1-D waveforms in [-1, 1] (numpy or torch; a leading batch dimension of 1 is accepted),
outputs are float32 numpy arrays.  The computations run in torch float32 like the upstream code.
"""
from __future__ import annotations

import math

import numpy as np


def _as_mono_tensor(x, name: str):
    import torch

    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dim() == 2 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 1:
        raise ValueError("%s: expected a mono waveform [N] or [1, N], got shape %s" % (name, tuple(t.shape)))
    return t.to(torch.float32).contiguous()


# ---------------------------------------------------------------------------------------------
# Slaney mel filterbank (librosa.filters.mel with htk=False, norm='slaney'), written from the formulas.

_F_SP = 200.0 / 3.0            # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0           # start of the log part
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP   # = 15 mel
_LOGSTEP = math.log(6.4) / 27.0      # 27 mels per factor 6.4 above 1 kHz


def hz_to_mel_slaney(f):
    """Slaney (Auditory Toolbox) mel scale: f / (200/3) below 1 kHz, 15 + ln(f/1000)/(ln 6.4 / 27) above."""
    f = np.asarray(f, dtype=np.float64)
    mel = f / _F_SP
    hi = f >= _MIN_LOG_HZ
    return np.where(hi, _MIN_LOG_MEL + np.log(np.where(hi, f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, mel)


def mel_to_hz_slaney(m):
    m = np.asarray(m, dtype=np.float64)
    f = _F_SP * m
    hi = m >= _MIN_LOG_MEL
    return np.where(hi, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), f)


def slaney_mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax=None,
                       dtype=np.float32) -> np.ndarray:
    """Triangular filters on the Slaney mel scale with Slaney area normalisation, [n_mels, n_fft//2+1].

    Band edges f_0..f_{n_mels+1} are equally spaced in mel between fmin and fmax (default sr/2);
    filter i rises linearly from f_i to a peak of 1 at f_{i+1} and falls to 0 at f_{i+2}, and is
    then scaled by 2 / (f_{i+2} - f_i) so each triangle has unit area in Hz.  As in librosa the
    triangle is stored in ``dtype`` before the normalisation multiply (done in float64, stored in
    ``dtype``), which makes float32 results bit-identical to librosa's.
    """
    if fmax is None:
        fmax = float(sr) / 2
    n_bins = 1 + n_fft // 2
    fftfreqs = np.arange(n_bins) * (1.0 / (n_fft * (1.0 / sr)))   # numpy.fft.rfftfreq
    mel_f = mel_to_hz_slaney(np.linspace(hz_to_mel_slaney(fmin), hz_to_mel_slaney(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    weights = np.zeros((n_mels, n_bins), dtype=dtype)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, None]
    return weights


_filter_cache: dict = {}


def _filters_tensor(sr, n_fft, n_mels, fmin, fmax):
    import torch

    key = (sr, n_fft, n_mels, fmin, fmax)
    if key not in _filter_cache:
        _filter_cache[key] = torch.from_numpy(slaney_mel_filters(sr, n_fft, n_mels, fmin, fmax)).float()
    return _filter_cache[key]


# ---------------------------------------------------------------------------------------------
# Kaldi fbank for CAM++ (spec §4.3)

def kaldi_fbank(x16, cmn: bool = True) -> np.ndarray:
    """``torchaudio.compliance.kaldi.fbank(x, num_mel_bins=80, dither=0, sample_frequency=16000)``
    then ``feat - feat.mean(0)`` (cmn=True, as upstream _extract_spk_embedding).  Returns [M, 80].

    Defaults in force: 25 ms/10 ms frames with snip_edges, DC removal, pre-emphasis 0.97, povey
    window, 512-point power spectrum, Kaldi mel banks 20 Hz..8 kHz, log floor FLT_EPSILON."""
    import torchaudio.compliance.kaldi as kaldi

    x = _as_mono_tensor(x16, "kaldi_fbank")
    if x.shape[0] < 400:
        raise ValueError("kaldi_fbank: need at least 400 samples (one 25 ms frame at 16 kHz), got %d" % x.shape[0])
    feat = kaldi.fbank(x[None], num_mel_bins=80, dither=0, sample_frequency=16000)
    if cmn:
        feat = feat - feat.mean(dim=0, keepdim=True)
    return feat.numpy().astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------------
# Whisper log-mel for the S3 speech tokenizer (spec §4.2)

def whisper_log_mel(x16, n_mels: int = 128) -> np.ndarray:
    """``whisper.log_mel_spectrogram(x16, n_mels)``: [n_mels, N // 160] float32.

    periodic Hann 400, hop 160, center=True (reflect pad 200), |X|^2 with the last frame dropped,
    Slaney mel 0..8 kHz, log10(clamp 1e-10), max(x, max(x) - 8), (x + 4) / 4."""
    import torch

    x = _as_mono_tensor(x16, "whisper_log_mel")
    if x.shape[0] < 201:
        raise ValueError("whisper_log_mel: need at least 201 samples for the reflect padding, got %d" % x.shape[0])
    window = torch.hann_window(400)
    stft = torch.stft(x, 400, 160, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    mel_spec = _filters_tensor(16000, 400, n_mels, 0.0, None) @ magnitudes
    log_spec = torch.clamp(mel_spec, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    log_spec = (log_spec + 4.0) / 4.0
    return log_spec.numpy().astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------------
# Matcha-TTS mel for the flow prompt (spec §4.1)

MATCHA_N_FFT = 1920
MATCHA_HOP = 480
MATCHA_N_MELS = 80
MATCHA_SR = 24000


def matcha_mel(x24, fmax=None) -> np.ndarray:
    """``matcha.utils.audio.mel_spectrogram(x24, 1920, 80, 24000, 480, 1920, 0, fmax, center=False)``
    transposed to [T, 80] (the layout the flow takes), T = N // 480.

    reflect pad 720 each side, periodic Hann 1920, hop 480, no centring, sqrt(re^2 + im^2 + 1e-9),
    Slaney mel 0..12 kHz (fmax=None), ln(clamp(x, 1e-5))."""
    import torch
    import torch.nn.functional as F

    x = _as_mono_tensor(x24, "matcha_mel")
    pad = (MATCHA_N_FFT - MATCHA_HOP) // 2
    if x.shape[0] <= pad:
        raise ValueError("matcha_mel: need more than %d samples for the reflect padding, got %d" % (pad, x.shape[0]))
    y = F.pad(x[None, None], (pad, pad), mode="reflect")[0]
    spec = torch.stft(y, MATCHA_N_FFT, hop_length=MATCHA_HOP, win_length=MATCHA_N_FFT,
                      window=torch.hann_window(MATCHA_N_FFT), center=False, normalized=False,
                      onesided=True, return_complex=True)
    spec = torch.view_as_real(spec)
    spec = torch.sqrt(spec.pow(2).sum(-1) + 1e-9)
    mel = torch.matmul(_filters_tensor(MATCHA_SR, MATCHA_N_FFT, MATCHA_N_MELS, 0.0, fmax), spec)
    mel = torch.log(torch.clamp(mel, min=1e-5))
    return mel[0].transpose(0, 1).contiguous().numpy().astype(np.float32, copy=False)
