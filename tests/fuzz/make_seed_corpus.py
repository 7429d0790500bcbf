#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ (committed; re-run only to change them).

usage: make_seed_corpus.py TINY_BUNDLE_CONFIG_JSON
Each corpus is a few small valid inputs (and a few near misses) so that libFuzzer starts past the
magic numbers and headers; docs/fuzzing.md.
"""
import io
import json
import hashlib
import os
import struct
import sys

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def npy_bytes(arr, version=None):
    b = io.BytesIO()
    if version is None:
        np.save(b, arr)
    else:
        np.lib.format.write_array(b, arr, version=version)
    return b.getvalue()


def voice_bytes(tokens, emb, mel, mel_bins, transcript):
    payload = (np.asarray(tokens, "<i4").tobytes() + np.asarray(emb, "<f4").tobytes() +
               np.asarray(mel, "<f4").tobytes())
    header = json.dumps({"transcript": transcript, "num_speech_tokens": len(tokens), "embedding_dim": len(emb),
                         "mel_bins": mel_bins, "mel_frames": len(mel) // mel_bins, "prompt_seconds": 0.08,
                         "source": "seed.wav", "frontend_id": "abc",
                         "payload_sha256": hashlib.sha256(payload).hexdigest()}).encode()
    return b"CVVOICE\0" + struct.pack("<II", 1, len(header)) + header + payload


def audio_bytes(fmt, subtype, rate, channels, n):
    t = np.arange(n) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t)
    if channels > 1:
        x = np.stack([x, -x], axis=1)
    b = io.BytesIO()
    sf.write(b, x, rate, format=fmt, subtype=subtype)
    return b.getvalue()


def main(config_path):
    # npy: every dtype the reader knows, versions 1-3, scalar and empty arrays
    out("npy", "f32_2x3.npy", npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3)))
    out("npy", "f64_nan.npy", npy_bytes(np.array([1.0, np.nan, np.inf], dtype="<f8")))
    out("npy", "f16.npy", npy_bytes(np.array([1, 2], dtype="<f2")))
    out("npy", "i64_scalar.npy", npy_bytes(np.array(7, dtype="<i8")))
    out("npy", "u8_empty.npy", npy_bytes(np.zeros((0, 4), dtype="u1")))
    out("npy", "bool_v2.npy", npy_bytes(np.array([True, False]), version=(2, 0)))
    out("npy", "i32_v3.npy", npy_bytes(np.arange(3, dtype="<i4"), version=(3, 0)))

    # bundle config: the tiny model's, without its informational parts (a few kB)
    with open(config_path) as f:
        cfg = json.load(f)
    cfg["checks"] = {}
    cfg["model"]["source_files"] = {}
    out("bundle_config", "tiny.json", json.dumps(cfg, separators=(",", ":")))
    near = json.loads(json.dumps(cfg))
    near["hift"]["source_noise"]["skip"] = 10**15
    out("bundle_config", "huge_skip.json", json.dumps(near, separators=(",", ":")))
    out("bundle_config", "not_object.json", "[1, 2, 3]")

    # voice files
    out("voice_file", "small.voice", voice_bytes([1, 2], [0.5] * 4, [-3.0] * 8, 2, "你好 hello"))
    out("voice_file", "empty_payload.voice", voice_bytes([], [], [], 80, ""))
    out("voice_file", "nan.voice", voice_bytes([1], [float("nan")], [0.0] * 2, 1, "x"))

    # audio: the containers and encodings a prompt comes in, each a few hundred samples
    out("audio", "pcm16_16k.wav", audio_bytes("WAV", "PCM_16", 16000, 1, 400))
    out("audio", "float_48k_stereo.wav", audio_bytes("WAV", "FLOAT", 48000, 2, 300))
    out("audio", "pcm24_22k.wav", audio_bytes("WAV", "PCM_24", 22050, 1, 300))
    out("audio", "flac_24k.flac", audio_bytes("FLAC", "PCM_16", 24000, 1, 500))
    out("audio", "vorbis_16k.ogg", audio_bytes("OGG", "VORBIS", 16000, 1, 1600))
    out("audio", "pcm16_8k.wav", audio_bytes("WAV", "PCM_16", 8000, 1, 200))

    # tokenizer: scripts, added tokens, pinyin and phone tags, numbers, emoji, combining marks
    texts = ["Hello world<|endofprompt|>", "You are a helpful assistant.<|endofprompt|>今天天气不错。",
             "[breath]你好[laughter]，<strong>重点</strong>", "[j][ǐ]南 [M][AY0] name", "café cafe\u0301 <lrs>x",
             "1234567.89 $5.50 😀👍🏽 \u3000\u00a0\t\n", "Ωmega's   can't\r\nI'M", "<|endoftext|><|im_start|>"]
    for i, t in enumerate(texts):
        out("tokenizer", f"text{i}.txt", t)

    # normalizer: first byte picks auto/zh/en (mod 3)
    norm = [("\0", "今天是2024年3月5日，气温−3℃，电话13812345678。"), ("\1", "价格是￥1,234.5元，增长了15%。"),
            ("\2", "I paid $5.50 at 10:30pm on March 5, 2024."), ("\2", "Dr. Smith lives at 221B Baker St., 3rd floor."),
            ("\0", "\x1b[31mWarning\x1b[0m: 3 files, 1/2 done, 2.5kg"), ("\1", "第1句。第2句！第3句？"),
            ("\2", "It's 1990s-era tech: 4K, 5G, iPhone 15 Pro; -3.5°C."), ("\0", "混合 mixed 123 文本 ABC。")]
    for i, (lang, t) in enumerate(norm):
        out("normalizer", f"text{i}.txt", lang.encode() + t.encode("utf-8"))


if __name__ == "__main__":
    main(sys.argv[1])
