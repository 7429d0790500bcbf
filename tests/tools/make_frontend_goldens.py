#!/usr/bin/env python3
"""Audio-frontend goldens for the C++ parity tests (CTest fixture `frontend_goldens`).

usage: make_frontend_goldens.py OUTDIR

Writes
  OUTDIR/wav/*.{wav,flac,ogg,mp3}   inputs: real recorded speech at 16/22.05/24/44.1/48 kHz (Debian's
                                    alsa-utils ships /usr/share/sounds/alsa/*.wav: a voice saying
                                    "Front Center", "Rear Left", ... at 48 kHz, 16 bit), made at the
                                    other rates with torchaudio's Resample (the reference's resampler);
                                    synthetic chirps, tones, noise, near-silence and edge lengths
  OUTDIR/golden/<case>/*.npy        what the Python reference (cosyvoice_export.frontend) computes:
                                    audio.npy (decoded mono), x16.npy, x24.npy, fbank.npy [M,80],
                                    whisper.npy [128,T], mel.npy [T,80] (absent when the reference
                                    rejects the input as too short)
  OUTDIR/golden/components/*.npy    building blocks: torchaudio resampling kernels, torch windows,
                                    mel filterbanks, torch.fft.rfft of random frames, torch row sums
  OUTDIR/golden/manifest.json       the cases

The inputs are always written (the e2e tests use them). The goldens need the reference module: when
`cosyvoice_export.frontend` is not importable, this fails naming it (never a silent skip). Run with
/usr/bin/python3 and PYTHONPATH=<repo>/python.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys

import numpy as np
import soundfile as sf
import torch
import torchaudio

ALSA = "/usr/share/sounds/alsa"
SPEECH = ["Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right",
          "Side_Left", "Side_Right"]


def resample(x: np.ndarray, orig: int, new: int) -> np.ndarray:
    if orig == new:
        return x.astype(np.float32)
    t = torch.from_numpy(x.astype(np.float32))[None]
    return torchaudio.transforms.Resample(orig, new)(t)[0].numpy()


def write(path, x, sr, subtype=None, fmt=None):
    sf.write(path, x, sr, subtype=subtype, format=fmt)


def make_inputs(wav_dir):
    """[(case, file, kind)] and writes the files."""
    os.makedirs(wav_dir, exist_ok=True)
    cases = []
    center, sr0 = sf.read(os.path.join(ALSA, "Front_Center.wav"), dtype="float32")
    assert sr0 == 48000, sr0

    # Real speech: the original and torchaudio-resampled copies in several containers.
    shutil.copyfile(os.path.join(ALSA, "Front_Center.wav"), os.path.join(wav_dir, "speech_48k.wav"))
    cases.append(("speech_48k", "speech_48k.wav", "speech"))
    for name, sr, subtype, ext in [("speech_16k", 16000, "PCM_16", "wav"), ("speech_22k", 22050, "PCM_16", "flac"),
                                   ("speech_24k", 24000, "FLOAT", "wav"), ("speech_44k", 44100, "PCM_16", "wav")]:
        write(os.path.join(wav_dir, "%s.%s" % (name, ext)), resample(center, 48000, sr), sr, subtype)
        cases.append((name, "%s.%s" % (name, ext), "speech"))
    left, _ = sf.read(os.path.join(ALSA, "Front_Left.wav"), dtype="float32")
    right, _ = sf.read(os.path.join(ALSA, "Front_Right.wav"), dtype="float32")
    n = min(len(left), len(right))
    write(os.path.join(wav_dir, "speech_stereo_48k.wav"), np.stack([left[:n], right[:n]], 1), 48000, "PCM_16")
    cases.append(("speech_stereo_48k", "speech_stereo_48k.wav", "speech"))
    write(os.path.join(wav_dir, "speech_48k.ogg"), center, 48000, "VORBIS", "OGG")
    cases.append(("speech_ogg_48k", "speech_48k.ogg", "speech"))
    # libsndfile >= 1.1 (Debian 12) encodes MP3; an older one fails here, naming the format
    write(os.path.join(wav_dir, "speech_44k.mp3"), resample(center, 48000, 44100), 44100, "MPEG_LAYER_III", "MP3")
    cases.append(("speech_mp3_44k", "speech_44k.mp3", "speech"))
    # An 11 s prompt: the eight spoken phrases back to back, at 44.1 kHz.
    long48 = np.concatenate([sf.read(os.path.join(ALSA, s + ".wav"), dtype="float32")[0] for s in SPEECH])
    write(os.path.join(wav_dir, "speech_long_44k.wav"), resample(long48, 48000, 44100), 44100, "PCM_16")
    cases.append(("speech_long_44k", "speech_long_44k.wav", "speech"))
    noise, _ = sf.read(os.path.join(ALSA, "Noise.wav"), dtype="float32")
    shutil.copyfile(os.path.join(ALSA, "Noise.wav"), os.path.join(wav_dir, "recorded_noise_48k.wav"))
    cases.append(("recorded_noise_48k", "recorded_noise_48k.wav", "speech"))

    # Synthetic signals, stored as float WAV so the samples are exact.
    rng = np.random.default_rng(20240601)

    def synth(name, sr, x):
        write(os.path.join(wav_dir, name + ".wav"), np.asarray(x, dtype=np.float32), sr, "FLOAT")
        cases.append((name, name + ".wav", "synthetic"))

    def t(sr, n):
        return np.arange(n) / sr

    tt = t(16000, 32000)
    synth("chirp_16k", 16000, 0.5 * np.sin(2 * np.pi * (50 * tt + (7900 - 50) / (2 * 2.0) * tt ** 2)))
    tt = t(24000, 24000)
    synth("tone_440_24k", 24000, 0.3 * np.sin(2 * np.pi * 440 * tt))
    tt = t(48000, 48000)
    synth("tones_48k", 48000, 0.2 * np.sin(2 * np.pi * 1000 * tt) + 0.1 * np.sin(2 * np.pi * 7000 * tt)
          + 0.05 * np.sin(2 * np.pi * 15000 * tt))
    synth("noise_22k", 22050, 0.1 * rng.standard_normal(33075))
    synth("near_silence_16k", 16000, 2e-4 * rng.uniform(-1, 1, 16000))
    tt = t(32000, 40000)
    synth("chirp_down_32k", 32000, 0.4 * np.sin(2 * np.pi * (15000 * tt - 14900 / (2 * 1.25) * tt ** 2)))
    # Edge lengths around one frame / the reflect-padding minimum.
    for n in (400, 401, 479, 480, 481, 560):
        synth("edge_%d_16k" % n, 16000, 0.3 * np.sin(2 * np.pi * 300 * t(16000, n)) + 0.05 * rng.standard_normal(n))
    for n in (721, 959, 960, 961):
        synth("edge_%d_24k" % n, 24000, 0.3 * np.sin(2 * np.pi * 300 * t(24000, n)) + 0.05 * rng.standard_normal(n))
    for n in (1439, 1441):  # 48 kHz: 480/481 samples at 16 kHz, 720/721 at 24 kHz
        synth("edge_%d_48k" % n, 48000, 0.3 * np.sin(2 * np.pi * 300 * t(48000, n)) + 0.05 * rng.standard_normal(n))
    make_bad_inputs(os.path.join(wav_dir, "bad"), rng)
    return cases


def make_bad_inputs(bad, rng):
    """Files the frontend must reject (e2e error paths)."""
    os.makedirs(bad, exist_ok=True)
    open(os.path.join(bad, "empty.wav"), "wb").close()
    with open(os.path.join(bad, "corrupt.wav"), "wb") as f:
        f.write(b"RIFF\x10\x00\x00\x00WAVEfmt garbage, not a wave file" + bytes(range(256)))
    write(os.path.join(bad, "rate8k.wav"), 0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000), 8000, "PCM_16")
    write(os.path.join(bad, "silent.wav"), np.zeros(16000, np.float32), 16000, "PCM_16")
    write(os.path.join(bad, "long31s.wav"), 0.1 * rng.standard_normal(31 * 16000), 16000, "PCM_16")
    write(os.path.join(bad, "short100.wav"), 0.3 * rng.standard_normal(100), 16000, "FLOAT")


def save(path, x):
    np.save(path, np.ascontiguousarray(np.asarray(x, dtype=np.float32)))


def make_components(out):
    import torchaudio.compliance.kaldi as kaldi
    from cosyvoice_export.frontend import features

    os.makedirs(out, exist_ok=True)
    for o, n in [(48000, 16000), (48000, 24000), (44100, 16000), (44100, 24000), (22050, 16000),
                 (22050, 24000), (16000, 24000), (24000, 16000), (32000, 24000)]:
        save(os.path.join(out, "resample_kernel_%d_%d.npy" % (o, n)), torchaudio.transforms.Resample(o, n).kernel[:, 0])
    save(os.path.join(out, "hann_400_periodic.npy"), torch.hann_window(400))
    save(os.path.join(out, "hann_1920_periodic.npy"), torch.hann_window(1920))
    save(os.path.join(out, "povey_400.npy"), torch.hann_window(400, periodic=False).pow(0.85))
    save(os.path.join(out, "slaney_16000_400_128.npy"), features.slaney_mel_filters(16000, 400, 128))
    save(os.path.join(out, "slaney_24000_1920_80.npy"), features.slaney_mel_filters(24000, 1920, 80))
    banks, _ = kaldi.get_mel_banks(80, 512, 16000.0, 20.0, 0.0, 100.0, -500.0, 1.0)
    save(os.path.join(out, "kaldi_banks_80_512.npy"), torch.nn.functional.pad(banks, (0, 1)))
    rng = np.random.default_rng(7)
    for n in (400, 512, 1920, 15, 12):
        x = rng.standard_normal((64, n)).astype(np.float32) * np.float32(0.3)
        x[0] = 0
        x[1, :] = np.float32(0.25)
        save(os.path.join(out, "rfft_in_%d.npy" % n), x)
        y = torch.fft.rfft(torch.from_numpy(x))
        save(os.path.join(out, "rfft_out_%d.npy" % n), torch.view_as_real(y))
    rows = (rng.standard_normal((256, 400)) * 0.1).astype(np.float32)
    save(os.path.join(out, "sum_in_400.npy"), rows)
    save(os.path.join(out, "sum_out_400.npy"), torch.from_numpy(rows).sum(1))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    out = sys.argv[1]
    wav_dir = os.path.join(out, "wav")
    golden = os.path.join(out, "golden")
    shutil.rmtree(out, ignore_errors=True)
    cases = make_inputs(wav_dir)
    print("[goldens] wrote %d input files to %s" % (len(cases), wav_dir))
    try:
        from cosyvoice_export.frontend import audio, features
    except ModuleNotFoundError as e:
        print("[goldens] cannot import %s (PYTHONPATH must hold <repo>/python; `make deps` installs the "
              "Python packages): no goldens" % e.name, file=sys.stderr)
        return 1
    os.makedirs(golden)
    make_components(os.path.join(golden, "components"))
    manifest = []
    for name, fname, kind in cases:
        path = os.path.join(wav_dir, fname)
        d = os.path.join(golden, name)
        os.makedirs(d)
        x, sr = audio.load_audio(path)
        save(os.path.join(d, "audio.npy"), x)
        x16, x24 = audio.load_prompt_wavs(path, check_duration=False)
        save(os.path.join(d, "x16.npy"), x16[0])
        save(os.path.join(d, "x24.npy"), x24[0])
        entry = {"name": name, "file": fname, "kind": kind, "sample_rate": sr, "samples": int(len(x)),
                 "samples16": int(x16.shape[-1]), "samples24": int(x24.shape[-1]), "features": []}
        for feat, fn, arg in [("fbank", features.kaldi_fbank, x16), ("whisper", features.whisper_log_mel, x16),
                              ("mel", features.matcha_mel, x24)]:
            try:
                y = fn(arg)
            except ValueError as e:  # too short for this extractor
                entry.setdefault("rejected", {})[feat] = str(e)
                continue
            save(os.path.join(d, feat + ".npy"), y)
            entry["features"].append(feat)
        manifest.append(entry)
    with open(os.path.join(golden, "manifest.json"), "w") as f:
        json.dump({"cases": manifest, "torch": torch.__version__, "torchaudio": torchaudio.__version__}, f, indent=1)
    print("[goldens] wrote goldens for %d cases to %s" % (len(manifest), golden))
    return 0


if __name__ == "__main__":
    sys.exit(main())
