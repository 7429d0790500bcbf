"""``goldens``: dump every intermediate of the reference pipeline for the C++ parity tests.

    /usr/bin/python3 -m cosyvoice_export goldens --checkpoint DIR [--bundle BUNDLE] --out DIR

Writes, for a fixed list of prompts and cases (:data:`PROMPTS`, :data:`CASES`), the layout
documented in docs/goldens.md: ``manifest.json``, ``prompts/<name>/`` (the voice preparation
stages) and ``cases/<name>/`` (text plan, LLM input/logits/tokens, flow, HiFT, waveform, streaming
chunks).  The output is deterministic: two runs give byte-identical files (torch runs with one
thread; nothing time-dependent is written).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from . import reference as R
from . import sampling
from .frontend import audio as faudio

HELP = "dump the reference pipeline's intermediates (goldens for the C++ parity tests)"

FORMAT = "cosyvoice-ort-goldens"
FORMAT_VERSION = "1.0"
ALSA = Path("/usr/share/sounds/alsa")

# ---------------------------------------------------------------------------------------------
# prompts: real recorded speech (Debian alsa-utils) at 48 kHz and 22.05 kHz, and a synthetic one
# ---------------------------------------------------------------------------------------------

PROMPTS: List[Dict[str, Any]] = [
    {"name": "front_center", "kind": "copy", "files": ["Front_Center.wav"],
     "transcript": "Front center.",
     "about": "recorded speech, 48 kHz, 1.43 s: K = 35 (pad 15 when streaming)"},
    {"name": "long_22k", "kind": "concat", "files": ["Front_Left.wav", "Rear_Right.wav", "Side_Left.wav",
                                                       "Rear_Center.wav"], "sample_rate": 22050,
     "transcript": "Front left. Rear right. Side left. Rear center.",
     "about": "four recordings concatenated and resampled to 22.05 kHz, 5.8 s: a longer prompt at an odd rate"},
    {"name": "synth_16k", "kind": "synthetic", "sample_rate": 16000, "seconds": 0.92,
     "transcript": "Ah ha ha.",
     "about": "synthetic voiced signal, 16 kHz (no resampling for the tokenizer), 0.92 s: K = 23 (pad 2 when "
              "streaming)"},
]

# ---------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------

EN_SHORT = "Hello world, this is a test."
ZH_LONG = ("今天天气真不错，我们去公园散步吧。人工智能正在改变我们的生活方式，从智能手机到自动驾驶汽车，"
           "从医疗诊断到金融分析，各个领域都在经历深刻的变革。科学家们认为，未来十年将是技术发展最快的时期，"
           "我们需要做好准备。")

CASES: List[Dict[str, Any]] = [
    {"name": "zero_shot_en", "mode": "zero_shot", "prompt": "front_center", "text": EN_SHORT, "seed": 0,
     "harmonics": True,
     "covers": "zero-shot, English, short real prompt, length limits from the text; NSF harmonics and "
               "generator spectra of segment 0"},
    {"name": "zero_shot_en_seed4", "mode": "zero_shot", "prompt": "front_center", "text": EN_SHORT, "seed": 4,
     "covers": "the same request with a second seed"},
    {"name": "zero_shot_zh_long", "mode": "zero_shot", "prompt": "long_22k", "text": ZH_LONG, "seed": 3,
     "transcript": "You are a helpful assistant.<|endofprompt|>Front left. Rear right. Side left. Rear center.",
     "options": {"max_tokens": 16},
     "covers": "Chinese text split into 2 segments (seeds seed+0, seed+1), long 22.05 kHz prompt, a "
               "transcript that already holds <|endofprompt|>; max_tokens 16 caps both segments to keep it small"},
    {"name": "cross_lingual_en_digits", "mode": "cross_lingual", "prompt": "front_center",
     "text": "I have 3 cats.", "seed": 6,
     "covers": "cross-lingual (prefix per segment, counted in the length limits), digits spelled out by "
               "the normaliser"},
    {"name": "instruct2_zh", "mode": "instruct2", "prompt": "long_22k", "text": "今天天气真不错，我们去公园散步吧。",
     "instruct": "请用广东话表达。", "seed": 8,
     "covers": "instruct2 with a bare instruction (wrapped as 'You are a helpful assistant. ...<|endofprompt|>'), "
               "Chinese"},
    {"name": "instruct2_en_tags", "mode": "instruct2", "prompt": "synth_16k",
     "text": "Well [laughter] that is <strong>really</strong> funny!",
     "instruct": "You are a helpful assistant. Please say a sentence as loudly as possible.<|endofprompt|>",
     "seed": 1,
     "covers": "instruct2 with a complete instruction used as is; added tokens ([laughter], <strong>) in the text; "
               "synthetic 16 kHz prompt"},
    {"name": "vc", "mode": "vc", "prompt": "long_22k", "source": "Side_Right.wav", "seed": 0,
     "covers": "voice conversion: source speech tokens through the flow with the aligned prompt"},
    {"name": "zero_shot_speed", "mode": "zero_shot", "prompt": "synth_16k", "text": "Speed test, one two three.",
     "seed": 3, "options": {"speed": 1.5},
     "covers": "speed 1.5: linear mel interpolation to int(frames / 1.5) before HiFT"},
    {"name": "zero_shot_stream", "mode": "zero_shot", "prompt": "synth_16k", "text": EN_SHORT, "seed": 1,
     "options": {"stream": True, "min_tokens": 82, "max_tokens": 82},
     "covers": "streaming: K = 23 (pad 2), 82 tokens -> chunks tokens[:30] (hop 27), [:80] (hop 50), both "
               "chunk attention and finalize=False, then the final chunk over all 82 with full attention "
               "(upstream's recompute loop; the engine's 'exact' mode must give the same chunks)"},
    {"name": "zero_shot_stream_fast", "mode": "zero_shot", "prompt": "front_center", "text": EN_SHORT, "seed": 2,
     "options": {"stream": True, "min_tokens": 110, "max_tokens": 110, "stream_mode": "fast",
                 "stream_schedule": "chunk"},
     "covers": "streaming mode 'fast' (docs/streaming.md): K = 35 (pad 15; the whole prompt's 70 frames cached, "
               "the prompt on its own), 110 tokens -> chunks [:18] (the pad alone: the first attention-chunk "
               "boundary, 30 new frames), [:43], [:68], [:93], final [:110] with chunk attention everywhere, one "
               "attention chunk per emission"},
    {"name": "zero_shot_stream_fast_fp16", "mode": "zero_shot", "prompt": "front_center", "text": EN_SHORT,
     "seed": 2, "options": {"stream": True, "min_tokens": 110, "max_tokens": 110, "stream_mode": "fast",
                            "stream_schedule": "chunk", "stream_cache": "fp16"},
     "covers": "zero_shot_stream_fast with float16 keys/values in the streaming cache (ModelConfig::stream_cache): "
               "the past rounded to float16 after each run, as torch .half()"},
    {"name": "vc_stream", "mode": "vc", "prompt": "front_center", "source_prompt": "long_22k", "seed": 0,
     "options": {"stream": True},
     "covers": "voice conversion streamed in chunks like the text modes (upstream's loop takes the source tokens "
               "at once): the 5.8 s long_22k recording (144 tokens) in the front_center voice (K = 35) -> chunks "
               "[:43], [:93], final; the recompute reference, which the engine's 'exact' mode must equal"},
]

# text-in streaming (bistream.py): the text arrives in pieces, each tokenized on its own
BISTREAM_CASES: List[Dict[str, Any]] = [
    {"name": "bistream_zero_shot", "mode": "zero_shot", "prompt": "front_center", "seed": 5,
     "pieces": ["Hello there, ", "this text arrives ", "in pieces", "", " while it is still being written."],
     "options": {"max_tokens": 90, "n_timesteps": 10, "cfg_rate": 0.7},
     "covers": "text-in streaming: upstream's 5:15 text/speech interleaving with fill tokens, K = 35 prompt speech "
               "tokens interleaved first; every sampled id (fills included) and the emitted tokens; offline flow"},
    {"name": "bistream_instruct2", "mode": "instruct2", "prompt": "synth_16k", "seed": 6,
     "instruct": "Please speak slowly.", "pieces": ["Slow ", "and steady."],
     "options": {"max_tokens": 40, "n_timesteps": 10, "cfg_rate": 0.7},
     "covers": "text-in streaming without prompt speech (K = 0: upstream decodes 15 tokens before any text)"},
]

NOTES = [
    "The silent-token filter (more than 5 consecutive silent tokens) is not reached by any case: the "
    "tiny random-weight LLM emits a silent token with probability ~11/6761 per step, so a run of 6 does "
    "not occur.  seg*_tokens and seg*_flow_tokens are therefore equal; the filter is covered by unit "
    "tests on both sides (python/tests/test_reference.py forces silent tokens through the LLM).",
]


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------

def _save(path: Path, arr) -> None:
    a = np.asarray(arr)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    np.save(path, np.ascontiguousarray(a), allow_pickle=False)


def _json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _pcm16_wav(path: Path, x: np.ndarray, sr: int) -> None:
    """Rounded 16-bit PCM (for the generated prompt inputs)."""
    import wave
    pcm = np.clip(np.round(np.asarray(x, np.float64) * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(pcm.tobytes())


def _synthetic_voice(sr: int, seconds: float) -> np.ndarray:
    """A deterministic voiced signal: 10 harmonics of a gliding F0 (110-190 Hz) with 1/h amplitudes,
    three syllable envelopes, and a little PCG64(20251123) noise; peak 0.5."""
    n = int(round(sr * seconds))
    t = np.arange(n) / sr
    f0 = 150.0 + 40.0 * np.sin(2 * np.pi * 1.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(h * phase) / h for h in range(1, 11))
    env = np.clip(np.sin(np.pi * 3.0 * t / seconds), 0, None) ** 0.6
    x = x * env + 0.01 * np.random.default_rng(20251123).standard_normal(n)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def make_prompt_wav(spec: Dict[str, Any], dst: Path) -> None:
    if spec["kind"] in ("copy", "concat"):
        for f in spec["files"]:
            if not (ALSA / f).is_file():
                raise FileNotFoundError(f"{ALSA / f} is missing: install alsa-utils (the recorded test speech)")
    if spec["kind"] == "copy":
        shutil.copyfile(ALSA / spec["files"][0], dst)
    elif spec["kind"] == "concat":
        import torchaudio
        parts, rate = [], None
        for f in spec["files"]:
            x, sr = faudio.load_audio(ALSA / f)
            if rate not in (None, sr):
                raise ValueError(f"{ALSA / f}: {sr} Hz, expected {rate}")
            rate = sr
            parts.append(x)
        x = torch.from_numpy(np.concatenate(parts))[None]
        y = torchaudio.transforms.Resample(rate, spec["sample_rate"])(x)[0].numpy()
        _pcm16_wav(dst, y, spec["sample_rate"])
    else:
        _pcm16_wav(dst, _synthetic_voice(spec["sample_rate"], spec["seconds"]), spec["sample_rate"])


def write_prompt(ref: R.ReferencePipeline, spec: Dict[str, Any], out: Path) -> R.Voice:
    d = out / "prompts" / spec["name"]
    d.mkdir(parents=True, exist_ok=True)
    make_prompt_wav(spec, d / "prompt.wav")
    (d / "transcript.txt").write_text(spec["transcript"], encoding="utf-8")
    v = ref.prepare_voice(d / "prompt.wav", spec["transcript"])
    for name in ("x16", "x24", "fbank", "whisper", "mel", "speech_tokens_raw", "embedding", "speech_tokens",
                 "prompt_mel"):
        _save(d / f"{name}.npy", getattr(v, name))
    return v


def _prompt_entry(spec: Dict[str, Any], v: R.Voice, out: Path) -> Dict[str, Any]:
    import soundfile as sf
    info = sf.info(str(out / "prompts" / spec["name"] / "prompt.wav"))
    return {"name": spec["name"], "dir": f"prompts/{spec['name']}", "about": spec["about"],
            "sample_rate": int(info.samplerate), "samples": int(info.frames), "transcript": spec["transcript"],
            "x16_samples": int(v.x16.shape[0]), "x24_samples": int(v.x24.shape[0]),
            "whisper_frames": int(v.whisper.shape[1]), "fbank_frames": int(v.fbank.shape[0]),
            "mel_frames": int(v.mel.shape[0]), "speech_tokens_raw": int(v.speech_tokens_raw.shape[0]),
            "K": v.K, "stream_pad": int(-(-v.K // R.STREAM_HOP) * R.STREAM_HOP - v.K)}


def write_case(ref: R.ReferencePipeline, case: Dict[str, Any], voices: Dict[str, R.Voice], out: Path,
               log=lambda s: None) -> Dict[str, Any]:
    d = out / "cases" / case["name"]
    d.mkdir(parents=True, exist_ok=True)
    opts = {"speed": 1.0, "stream": False, "n_timesteps": 10, "cfg_rate": 0.7, "min_tokens": None,
            "max_tokens": None, "stream_mode": "recompute", "stream_schedule": "upstream", "stream_cache": "fp32"}
    opts.update(case.get("options", {}))
    voice = voices[case["prompt"]]
    if "transcript" in case:
        voice = dataclasses.replace(voice, transcript=case["transcript"])
    source = None
    if case["mode"] == "vc":
        if "source_prompt" in case:                    # another prompt's recording as the source speech
            shutil.copyfile(out / "prompts" / case["source_prompt"] / "prompt.wav", d / "source.wav")
        else:
            shutil.copyfile(ALSA / case["source"], d / "source.wav")
        source = d / "source.wav"
    trace: Dict[str, Any] = {}
    t0 = time.time()
    res = ref.synthesize(case["mode"], case.get("text"), voice, instruct=case.get("instruct"), source_wav=source,
                         seed=case["seed"], speed=opts["speed"], n_timesteps=opts["n_timesteps"],
                         cfg_rate=opts["cfg_rate"], stream=opts["stream"], trace=trace,
                         min_tokens=opts["min_tokens"], max_tokens=opts["max_tokens"], keep_harmonics=bool(case.get("harmonics")),
                         stream_mode=opts["stream_mode"], stream_schedule=opts["stream_schedule"],
                         stream_cache=opts["stream_cache"])
    wav = res[0] if opts["stream"] else res
    segs = []
    for s, tr in enumerate(trace["segments"]):
        files = []

        def put(name, arr, dtype=None):
            a = np.asarray(arr) if dtype is None else np.asarray(arr, dtype=dtype)
            _save(d / f"seg{s}_{name}.npy", a)
            files.append(f"seg{s}_{name}.npy")

        entry: Dict[str, Any] = {"index": s}
        p: Optional[R.SegmentPlan] = tr.get("plan")
        if p is not None:
            entry.update(segment=p.segment, prompt_text=p.prompt_text, tts_text=p.tts_text, seed=tr["seed"],
                         min_len=tr["min_len"], max_len=tr["max_len"], n_prompt_ids=len(p.prompt_ids),
                         n_text_ids=len(p.text_ids), prompt_speech_tokens=voice.K if p.use_prompt_speech else 0,
                         lm_positions=int(tr["lm_input"].shape[0]), llm_steps=int(tr["logits"].shape[0]),
                         stop_token=tr["stop_token"])
            put("text_ids", p.text_ids, np.int32)
            put("prompt_ids", p.prompt_ids, np.int32)
            put("lm_input", tr["lm_input"])
            put("logits", tr["logits"])
            # how far each step's logits may move before its token can change (docs/determinism.md §8)
            sp = ref.cfg.llm.sampling
            margins = np.asarray(sampling.replay_margins(
                tr["logits"], tr["tokens"], tr["stop_token"], tr["seed"], tr["min_len"], top_p=sp.top_p,
                top_k=sp.top_k, win_size=sp.win_size, tau_r=sp.tau_r,
                speech_token_size=ref.cfg.llm.speech_token_size), dtype=np.float32)
            # stored as float32 like every golden, rounded toward 0 so a margin is never overstated
            put("sampling_margin", np.nextafter(margins, np.float32(0)))
        else:
            put("source_whisper", tr["source_whisper"])
        put("tokens", tr["tokens"], np.int32)
        put("flow_tokens", tr["flow_tokens"], np.int32)
        put("mu", tr["mu"])
        entry.update(n_tokens=len(tr["tokens"]), n_flow_tokens=len(tr["flow_tokens"]))
        if "mel" in tr:
            put("mel", tr["mel"])
            entry["mel_frames"] = int(tr["mel"].shape[1])
        if "mel_speed" in tr:
            put("mel_speed", tr["mel_speed"])
            entry["mel_speed_frames"] = int(tr["mel_speed"].shape[1])
        if "f0" in tr:
            put("f0", tr["f0"])
        for k in ("harmonics", "real", "imag"):
            if k in tr:
                put(k, tr[k])
        put("wav", tr["wav"])
        entry["samples"] = int(tr["wav"].shape[0])
        if "magnitude_peak" in tr:
            entry["magnitude_peak"] = tr["magnitude_peak"]
        entry["files"] = files
        segs.append(entry)
    _save(d / "wav.npy", wav)
    R.write_wav(d / "out.wav", wav, ref.cfg.sample_rate)
    chunks = None
    if opts["stream"]:
        chunks = []
        for c in trace["chunks"]:
            i = c["index"]
            _save(d / f"chunk{i}_wav.npy", c["wav"])
            _save(d / f"chunk{i}_mel.npy", c["mel"])
            chunks.append({k: c[k] for k in ("index", "segment", "offset", "hop", "token_end", "final", "attention",
                                              "mel_frames", "acc_mel_frames", "sample_start", "samples",
                                              "magnitude_peak")})
        _json(d / "chunks.json", {"pre_lookahead": ref.flow.cfg.pre_lookahead_len, "token_hop_len": R.STREAM_HOP,
                                  "token_max_hop_len": R.STREAM_MAX_HOP, "stream_scale_factor": R.STREAM_SCALE,
                                  "prompt_tokens": voice.K, "stream_mode": opts["stream_mode"],
                                  "stream_schedule": opts["stream_schedule"], "chunks": chunks})
    info = {
        "name": case["name"], "mode": case["mode"], "covers": case["covers"],
        "text": case.get("text"), "prompt": case["prompt"],
        "transcript": voice.transcript if case["mode"] == "zero_shot" else None,
        "instruct": case.get("instruct"), "source_wav": "source.wav" if source is not None else None,
        "seed": case["seed"], "options": opts,
        "normalized_segments": [s.get("segment") for s in segs] if case["mode"] != "vc" else None,
        "segments": segs, "samples": int(wav.shape[0]), "sample_rate": ref.cfg.sample_rate,
        "chunks": len(chunks) if chunks is not None else None,
    }
    peaks = [s["magnitude_peak"] for s in segs if "magnitude_peak" in s] + \
        [c["magnitude_peak"] for c in (chunks or [])]
    info["magnitude_peak"] = max(peaks) if peaks else None
    _json(d / "case.json", info)
    log(f"case {case['name']}: {len(segs)} segment(s), {wav.shape[0] / ref.cfg.sample_rate:.2f} s "
        f"({time.time() - t0:.1f} s)")
    return {"name": case["name"], "dir": f"cases/{case['name']}", "mode": case["mode"], "covers": case["covers"],
            "segments": len(segs), "stream": bool(opts["stream"]), "samples": int(wav.shape[0])}


def write_bistream_case(ref: R.ReferencePipeline, case: Dict[str, Any], voices: Dict[str, R.Voice], out: Path,
                        log=lambda s: None) -> Dict[str, Any]:
    """A text-in streaming case: ``case.json`` (pieces, options), ``piece{i}_ids.npy`` (each piece's
    tokens), ``sampled.npy`` (every id the loop sampled or forced, fills included), ``tokens.npy``
    (emitted), ``flow_tokens.npy``, ``wav.npy`` (offline flow + HiFT over the flow tokens)."""
    d = out / "cases" / case["name"]
    d.mkdir(parents=True, exist_ok=True)
    opts = dict(case["options"])
    voice = voices[case["prompt"]]
    tr: Dict[str, Any] = {}
    t0 = time.time()
    wav = ref.synthesize_text_stream(case["mode"], case["pieces"], voice, instruct=case.get("instruct"),
                                     seed=case["seed"], n_timesteps=opts["n_timesteps"], cfg_rate=opts["cfg_rate"],
                                     max_tokens=opts["max_tokens"], trace=tr)
    for i, ids in enumerate(tr["pieces"]):
        _save(d / f"piece{i}_ids.npy", np.asarray(ids, np.int32))
    for name in ("sampled", "tokens", "flow_tokens"):
        _save(d / f"{name}.npy", np.asarray(tr[name], np.int32))
    # per sampled id: its stability margin (inf when forced) and the step's largest |logit|, rounded
    # toward 0 so a margin is never overstated (docs/determinism.md §8)
    _save(d / "sampling_margin.npy", np.nextafter(np.asarray(tr["sampling_margin"], np.float32), np.float32(0)))
    _save(d / "logit_peak.npy", np.asarray(tr["logit_peak"], np.float32))
    _save(d / "wav.npy", wav)
    R.write_wav(d / "out.wav", wav, ref.cfg.sample_rate)
    prompt = ref.prompt_string(case["mode"], voice, case.get("instruct"))
    info = {"name": case["name"], "mode": case["mode"], "covers": case["covers"], "prompt": case["prompt"],
            "prompt_text": prompt, "instruct": case.get("instruct"), "pieces": case["pieces"], "seed": case["seed"],
            "options": opts, "n_tokens": len(tr["tokens"]), "n_sampled": len(tr["sampled"]),
            "samples": int(wav.shape[0]), "sample_rate": ref.cfg.sample_rate,
            "prompt_speech_tokens": int(len(voice.speech_tokens)), "n_flow_tokens": len(tr["flow_tokens"]),
            "magnitude_peak": tr["magnitude_peak"]}
    _json(d / "case.json", info)
    log(f"case {case['name']}: {len(tr['tokens'])} tokens, {wav.shape[0] / ref.cfg.sample_rate:.2f} s "
        f"({time.time() - t0:.1f} s)")
    return {"name": case["name"], "dir": f"cases/{case['name']}", "mode": case["mode"], "covers": case["covers"],
            "bistream": True, "samples": int(wav.shape[0])}


def parity_bounds(ref: R.ReferencePipeline, out: Path, cases: List[Dict[str, Any]],
                  prompts: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """The float32 bounds of the C++ golden tier (tests/golden/test_engine_golden.cc), from the
    reference's modules and the largest shapes of these goldens (fp32_bounds.py, docs/parity.md):
    ``value`` times the named ``scale`` bounds the largest |C++ - reference| of the quantity."""
    from . import fp32_bounds as FB
    from .export import bundle as B

    infos = [json.loads((out / c["dir"] / "case.json").read_text(encoding="utf-8")) for c in cases]
    segs: List[Dict[str, Any]] = []
    for i in infos:  # a text-in streaming case is one segment, rendered offline
        segs += i["segments"] if "segments" in i else [{"prompt_speech_tokens": i["prompt_speech_tokens"],
                                                         "n_flow_tokens": i["n_flow_tokens"]}]
    positions = max([s.get("lm_positions", 0) + s.get("llm_steps", 0) for s in segs] + [1])
    frames = max([2 * (s.get("prompt_speech_tokens", 0) + s["n_flow_tokens"]) for s in segs] + [1])
    fbank_frames = max([p["fbank_frames"] for p in prompts] + [1])
    cfg_rate = max([i["options"]["cfg_rate"] for i in infos] + [0.0])
    flow, hift = ref.flow, ref.hift
    enc = FB.weight_depth(flow.pre_lookahead_layer) + 1
    mel = FB.euler_cfg_gain(cfg_rate) * FB.pair(FB.dit_depth(flow.decoder.estimator, frames) + enc) + FB.pair(20)
    gen = B.tol_generator(hift)["real"].value
    gen_winograd = B.tol_generator_winograd(hift)["real"].value
    istft = FB.pair(FB.chain(18, 4, 1, transcendental=1))
    return {
        "campplus_embedding": {"value": FB.pair(FB.onnx_graph_depth(ref.campplus_path, fbank_frames)),
                               "scale": "max|ref|", "derivation": f"CAM++ graph depth over {fbank_frames} frames"},
        "llm_logits": {"value": FB.pair(FB.llm_depth(ref.llm, positions)), "scale": "max|ref|",
                       "derivation": f"every LLM layer, attention over {positions} positions"},
        "flow_mu": {"value": B.tol_encoder(flow)["mu"].value, "scale": "max|ref|",
                    "derivation": "pre-lookahead convolutions + residual"},
        "flow_mel": {"value": mel, "scale": "max(1,max|ref|)",
                     "derivation": f"DiT over {frames} frames and the encoder, x e(1 + 2 cfg) for the Euler/CFG solver, "
                                   f"+ 10 Euler updates"},
        "hift_f0": {"value": B.tol_f0(hift)["f0"].value, "scale": "max|ref|",
                    "derivation": "float64 graph: the final float32 rounding on each side"},
        "hift_spectrum": {"value": gen, "scale": "max|ref|",
                          "derivation": "generator chain (conv fan-ins, source STFT), exp/sin: relative error of the spectrum"},
        "waveform": {"value": 1.5 * gen + istft, "scale": "magnitude_peak",
                     "derivation": "spectrum bound through the ISTFT (gain 18/16 * 2/1.5) + its rounding, on the peak magnitude"},
        "hift_spectrum_winograd": {"value": gen_winograd, "scale": "max|ref|",
                                   "derivation": "as hift_spectrum for the hift/fp32-winograd variant: each rewritten "
                                                 "convolution's Winograd depth and growth"},
        "waveform_winograd": {"value": 1.5 * gen_winograd + istft, "scale": "magnitude_peak",
                              "derivation": "as waveform, from hift_spectrum_winograd"},
        "waveform_from_flow": {"value": 1.5 * (gen + mel) + istft,
                               "scale": "magnitude_peak",
                               "derivation": "as waveform, plus the flow mel bound entering the generator with gain 1 "
                                             "(first order; F0, float64 and rounded to float32, unchanged)"},
    }


def generate(checkpoint: Path, bundle: Optional[Path], out: Path, cases: Optional[List[str]] = None,
             log=R._stderr_log) -> Dict[str, Any]:
    """Write the goldens to ``out`` (emptied first).  ``cases``: a subset of case names."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic and lean; the tiny model needs no more
    t0 = time.time()
    try:
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        with R.ReferencePipeline(checkpoint, bundle, threads=1, log=log) as ref:
            return _generate(ref, checkpoint, bundle, out, cases, log, t0)
    finally:
        torch.set_num_threads(threads)


def _generate(ref: R.ReferencePipeline, checkpoint: Path, bundle: Optional[Path], out: Path,
              cases: Optional[List[str]], log, t0: float) -> Dict[str, Any]:
    selected = [c for c in CASES if cases is None or c["name"] in cases]
    selected_bi = [c for c in BISTREAM_CASES if cases is None or c["name"] in cases]
    unknown = sorted(set(cases or []) - {c["name"] for c in CASES + BISTREAM_CASES})
    if unknown:
        raise R.ReferenceError(f"unknown case(s) {unknown}; known: {[c['name'] for c in CASES + BISTREAM_CASES]}")
    need = {c["prompt"] for c in selected + selected_bi} | {c["source_prompt"] for c in selected if "source_prompt" in c}
    voices, prompt_entries = {}, []
    for spec in PROMPTS:
        if spec["name"] not in need:
            continue
        voices[spec["name"]] = write_prompt(ref, spec, out)
        prompt_entries.append(_prompt_entry(spec, voices[spec["name"]], out))
    case_entries = [write_case(ref, c, voices, out, log) for c in selected]
    case_entries += [write_bistream_case(ref, c, voices, out, log) for c in selected_bi]
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "parity_bounds": parity_bounds(ref, out, case_entries, prompt_entries),
        "sample_rate": ref.cfg.sample_rate,
        "bundle": ({"config_sha256": ref.bundle_config_sha256} if bundle is not None else None),
        "checkpoint": {"cosyvoice3.yaml_sha256": R.sha256_file(Path(checkpoint) / "cosyvoice3.yaml")},
        "flow_noise": "bundle flow/flow_noise.npy" if bundle is not None else "torch.manual_seed(0); torch.randn(1, 80, 15000)",
        "hift_source_noise": {"generator": "mt19937", "seed": ref.hift_noise.seed, "skip": ref.hift_noise.skip},
        "generator": {"torch": torch.__version__, "numpy": np.__version__, "torch_threads": 1},
        "prompts": prompt_entries,
        "cases": case_entries,
        "notes": NOTES,
    }
    _json(out / "manifest.json", manifest)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    log(f"goldens: {len(prompt_entries)} prompts, {len(case_entries)} cases, {size / 1e6:.1f} MB in {out} "
        f"({time.time() - t0:.1f} s)")
    return manifest


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, type=Path, help="model directory (the tiny checkpoint)")
    p.add_argument("--bundle", type=Path, help="the bundle exported from it (recommended: its flow noise, "
                                               "tokenizer and HiFT noise parameters are used and checked)")
    p.add_argument("--out", required=True, type=Path, help="output directory (replaced)")
    p.add_argument("--case", action="append", dest="cases", metavar="NAME",
                   help="only this case (repeatable); default: all")


def main(args: argparse.Namespace) -> int:
    try:
        generate(args.checkpoint, args.bundle, args.out, args.cases)
    except (R.ReferenceError, faudio.AudioError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
