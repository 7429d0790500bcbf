"""Prompt-audio loading as upstream ``cosyvoice.utils.file_utils.load_wav`` (spec §2.1).

load_audio(path)               -> (float32 mono ndarray in [-1, 1], sample_rate)
load_wav(path, target_sr)      -> torch.FloatTensor [1, N] at target_sr (upstream load_wav)
load_prompt_wavs(path)         -> (x16 [1, N16], x24 [1, N24]), each resampled from the original file
check_tokenizer_duration(x16, path)  the 30 s limit of the speech tokenizer

Reading: libsndfile through python3-soundfile as float32 (upstream: torchaudio.load(backend=
'soundfile'), which does exactly that), channels averaged with torch, resampling with
``torchaudio.transforms.Resample(orig, target)`` defaults (sinc_interp_hann, width 6, rolloff 0.99).
Rejected inputs raise AudioError naming the file and what was expected: unreadable, empty,
sample rate below 16 kHz, silent (peak below 1e-4), longer than 30 s for the speech tokenizer.
"""
from __future__ import annotations

import os

import numpy as np

MIN_SAMPLE_RATE = 16000
SILENCE_PEAK = 1e-4
MAX_TOKENIZER_SECONDS = 30
TOKENIZER_SR = 16000
FLOW_SR = 24000


class AudioError(ValueError):
    """A prompt/source audio file that the frontend cannot use."""


def _read(path):
    """(data float32 [N, C], sr) via soundfile; torchaudio's sox backend if soundfile is missing."""
    try:
        import soundfile as sf
    except ImportError:  # pragma: no cover - python3-soundfile is a declared dependency
        sf = None
    if sf is not None:
        with sf.SoundFile(path, "r") as f:
            sr = f.samplerate
            data = f.read(dtype="float32", always_2d=True)
        return data, sr
    import torchaudio  # pragma: no cover

    wav, sr = torchaudio.load(path)  # pragma: no cover
    return wav.numpy().T, sr  # pragma: no cover


def _load(path):
    """(mono torch [1, N] float32, sr) with the file-level checks."""
    import torch

    name = os.fspath(path)
    if not os.path.exists(name):
        raise AudioError("%s: no such file; expected a WAV/FLAC/OGG audio file" % name)
    try:
        data, sr = _read(name)
    except Exception as e:  # libsndfile errors come as RuntimeError/LibsndfileError
        raise AudioError("%s: cannot read audio (%s); expected a WAV/FLAC/OGG file readable by libsndfile"
                         % (name, str(e).strip() or type(e).__name__)) from e
    if data.size == 0 or data.shape[0] == 0:
        raise AudioError("%s: audio file has no samples; expected a non-empty recording" % name)
    speech = torch.from_numpy(np.ascontiguousarray(data.T))     # [C, N], as torchaudio channels_first
    speech = speech.mean(dim=0, keepdim=True)                   # upstream: speech.mean(dim=0, keepdim=True)
    if not torch.isfinite(speech).all():
        raise AudioError("%s: audio contains NaN or infinite samples; expected finite samples in [-1, 1]" % name)
    return speech, int(sr)


def _check_rate_and_level(speech, sr, name, min_sr=MIN_SAMPLE_RATE):
    if sr < min_sr:
        raise AudioError("%s: sample rate %d Hz is below the minimum %d Hz; expected audio recorded at >= %d Hz"
                         % (name, sr, min_sr, min_sr))
    peak = float(speech.abs().max())
    if peak < SILENCE_PEAK:
        raise AudioError("%s: audio is silent (peak %.3g < %g); expected a recording with audible speech"
                         % (name, peak, SILENCE_PEAK))


def load_audio(path):
    """Read a file as (float32 mono ndarray [N] in [-1, 1], sample_rate); channels are averaged.

    Raises AudioError for a missing/unreadable/empty file.  No rate or level checks here."""
    speech, sr = _load(path)
    return speech[0].numpy(), sr


def _resample(speech, sr, target_sr):
    import torchaudio

    if sr == target_sr:
        return speech
    return torchaudio.transforms.Resample(orig_freq=sr, new_freq=target_sr)(speech)


def load_wav(path, target_sr: int, min_sr: int = MIN_SAMPLE_RATE):
    """Upstream ``load_wav``: mono float32 torch tensor [1, N] at target_sr.

    Resampled from the file's rate with torchaudio Resample defaults when the rates differ.
    Raises AudioError when the file is unreadable, empty, below min_sr or silent."""
    speech, sr = _load(path)
    _check_rate_and_level(speech, sr, os.fspath(path), min_sr)
    return _resample(speech, sr, target_sr)


def check_tokenizer_duration(x16, path="<audio>") -> None:
    """Upstream asserts ``len / 16000 <= 30`` before the speech tokenizer (prompt and VC source)."""
    n = int(x16.shape[-1])
    if n / TOKENIZER_SR > MAX_TOKENIZER_SECONDS:
        raise AudioError("%s: audio is %.2f s long; the speech tokenizer accepts at most %d s"
                         % (os.fspath(path), n / TOKENIZER_SR, MAX_TOKENIZER_SECONDS))


def load_prompt_wavs(path, check_duration: bool = True):
    """The two prompt copies the frontend uses: (x16 [1, N16], x24 [1, N24]) torch float32.

    The file is read once and each copy is resampled from the original samples (never 24 kHz
    from 16 kHz).  With check_duration the 30 s speech-tokenizer limit is enforced."""
    speech, sr = _load(path)
    name = os.fspath(path)
    _check_rate_and_level(speech, sr, name)
    x16 = _resample(speech, sr, TOKENIZER_SR)
    if check_duration:
        check_tokenizer_duration(x16, name)
    x24 = _resample(speech, sr, FLOW_SR)
    return x16, x24
