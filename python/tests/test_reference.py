"""The reference pipeline on the tiny checkpoint: voice preparation, prompt conventions, LLM
invariants (stop ids, lengths, segment seeding, silent filter), every mode end to end, the HiFT
composition, streaming, and the ``reference`` command."""

import dataclasses
import math
import wave

import numpy as np
import pytest
import torch

import fp32

from _front_helpers import ALSA_SPEECH
from cosyvoice_export import noise, sampling
from cosyvoice_export import reference as R

EN = "Hello world, this is a test."
ZH_LONG = ("今天天气真不错，我们去公园散步吧。人工智能正在改变我们的生活方式，从智能手机到自动驾驶汽车，"
           "从医疗诊断到金融分析，各个领域都在经历深刻的变革。科学家们认为，未来十年将是技术发展最快的时期，"
           "我们需要做好准备。")


@pytest.fixture(scope="session")
def ref(tiny_dir):
    with R.ReferencePipeline(tiny_dir, log=None) as r:
        yield r


@pytest.fixture(scope="session")
def voice(ref):
    return ref.prepare_voice(ALSA_SPEECH, "Front center.")


def _synth_wav(path, sr, seconds, f=140.0):
    t = np.arange(int(round(sr * seconds))) / sr
    x = sum(np.sin(2 * np.pi * h * f * t) / h for h in range(1, 8)) * np.hanning(t.shape[0]) ** 0.3
    pcm = np.round(0.4 * x / np.abs(x).max() * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return path


# ---- voice preparation --------------------------------------------------------------------------

def test_voice_alignment_and_shapes(voice):
    n16, n24 = voice.x16.shape[0], voice.x24.shape[0]
    assert voice.whisper.shape == (128, n16 // 160)
    assert voice.fbank.shape == (1 + (n16 - 400) // 160, 80)
    # CMN: float32 column means of m frames (the mean, then the subtraction, then this check's mean)
    m = voice.fbank.shape[0]
    col = np.abs(voice.fbank).mean(axis=0) + np.abs(voice.fbank.mean(axis=0))
    assert (np.abs(voice.fbank.mean(axis=0)) <= fp32.pair(2 * m + 2, 2 * col)).all()
    assert voice.mel.shape == (n24 // 480, 80)
    assert voice.embedding.shape == (192,) and voice.embedding.dtype == np.float32
    ntok = voice.speech_tokens_raw.shape[0]
    assert ntok == math.ceil(math.ceil(voice.whisper.shape[1] / 2) / 2)
    K = min(voice.mel.shape[0] // 2, ntok)
    assert voice.K == K == 35
    assert voice.speech_tokens.dtype == np.int32
    assert np.array_equal(voice.speech_tokens, voice.speech_tokens_raw[:K])
    assert np.array_equal(voice.prompt_mel, voice.mel[:2 * K])


def test_voice_30s_limit(ref, tmp_path):
    long = _synth_wav(tmp_path / "long.wav", 16000, 30.5)
    with pytest.raises(R.faudio.AudioError, match="at most 30 s"):
        ref.prepare_voice(long, "x")


# ---- prompt conventions -------------------------------------------------------------------------

def test_zero_shot_prompt_prefix(ref, voice):
    p = ref.plan_segments("zero_shot", EN, voice)
    assert len(p) == 1
    assert p[0].prompt_text == "You are a helpful assistant.<|endofprompt|>Front center."
    assert p[0].tts_text == EN and p[0].use_prompt_speech
    assert p[0].prompt_ids == ref.encode(p[0].prompt_text) and p[0].text_ids == ref.encode(EN)
    assert p[0].prompt_ids.count(151646) == 1
    # a transcript that already holds the marker is used as is (and not normalised)
    v2 = dataclasses.replace(voice, transcript="Custom system.<|endofprompt|>3 cats")
    assert ref.plan_segments("zero_shot", EN, v2)[0].prompt_text == "Custom system.<|endofprompt|>3 cats"
    with pytest.raises(R.ReferenceError, match="transcript"):
        ref.plan_segments("zero_shot", EN, dataclasses.replace(voice, transcript=""))


def test_cross_lingual_and_instruct2_prompts(ref, voice):
    xl = ref.plan_segments("cross_lingual", "I have 3 cats.", voice)
    assert xl[0].prompt_text == "" and xl[0].prompt_ids == []
    assert xl[0].tts_text == "You are a helpful assistant.<|endofprompt|>I have three cats."
    assert not xl[0].use_prompt_speech
    ins = ref.plan_segments("instruct2", EN, voice, instruct="请用广东话表达。")
    assert ins[0].prompt_text == "You are a helpful assistant. 请用广东话表达。<|endofprompt|>"
    full = "You are a helpful assistant. Please say a sentence as loudly as possible.<|endofprompt|>"
    assert ref.plan_segments("instruct2", EN, voice, instruct=full)[0].prompt_text == full
    with pytest.raises(R.ReferenceError, match="instruction"):
        ref.plan_segments("instruct2", EN, voice)
    with pytest.raises(R.ReferenceError, match="must end the instruction"):
        ref.plan_segments("instruct2", EN, voice, instruct="Be loud.<|endofprompt|>Now.")


def test_two_endofprompt_markers_refused(ref, voice):
    with pytest.raises(R.ReferenceError, match="exactly one"):
        ref.plan_segments("zero_shot", "Say <|endofprompt|> this.", voice)
    with pytest.raises(R.ReferenceError, match="exactly one"):
        ref.plan_segments("cross_lingual", "A<|endofprompt|>B<|endofprompt|>", voice)
    with pytest.raises(R.ReferenceError, match="exactly one"):
        ref.plan_segments("instruct2", "x<|endofprompt|>", voice, instruct="Be loud.")


def test_segments_and_normalisation(ref, voice):
    zh = ref.plan_segments("zero_shot", ZH_LONG, voice)
    assert len(zh) == 2 and "".join(p.segment for p in zh) == ZH_LONG
    assert [p.index for p in zh] == [0, 1]
    xl = ref.plan_segments("cross_lingual", ZH_LONG, voice)
    assert len(xl) == 2 and all(p.tts_text.startswith(R.PROMPT_PREFIX) for p in xl)
    with pytest.raises(R.ReferenceError, match="nothing"):
        ref.plan_segments("zero_shot", "  ...  ", voice)


def test_lm_input_layout(ref, voice):
    llm = ref.llm
    E_s, E_t = llm.speech_embedding.weight, llm.qwen.embed_tokens.weight
    for mode, ins in (("zero_shot", None), ("cross_lingual", None), ("instruct2", "Be loud.")):
        p = ref.plan_segments(mode, EN, voice, instruct=ins)[0]
        x = ref.lm_input(p, voice)[0]
        ids = p.prompt_ids + p.text_ids
        sp = voice.speech_tokens.tolist() if mode == "zero_shot" else []
        assert x.shape == (1 + len(ids) + 1 + len(sp), llm.cfg.llm_input_size)
        assert torch.equal(x[0], E_s[6561])
        assert torch.equal(x[1:1 + len(ids)], E_t[torch.tensor(ids)])
        assert torch.equal(x[1 + len(ids)], E_s[6563])
        if sp:
            assert torch.equal(x[2 + len(ids):], E_s[torch.tensor(sp)])


def test_length_limits(ref, voice):
    zs = ref.plan_segments("zero_shot", EN, voice)[0]
    assert ref.length_limits(zs) == (2 * len(zs.text_ids), 20 * len(zs.text_ids))
    xl = ref.plan_segments("cross_lingual", EN, voice)[0]
    n_prefix = len(ref.encode(R.PROMPT_PREFIX))
    assert len(xl.text_ids) == len(zs.text_ids) + n_prefix          # the prefix counts
    ins = ref.plan_segments("instruct2", EN, voice, instruct="Be loud.")[0]
    assert ref.length_limits(ins) == ref.length_limits(zs)         # the instruction does not
    # the engine's min_tokens floor / max_tokens cap (C++ SynthesisOptions)
    n = len(zs.text_ids)
    assert ref.length_limits(zs, 3, 0) == (2 * n, 20 * n)
    assert ref.length_limits(zs, 0, 5) == (5, 5)
    assert ref.length_limits(zs, 4 * n, 3 * n) == (3 * n, 3 * n)
    assert ref.length_limits(zs, 30 * n, 40 * n) == (20 * n, 20 * n)


# ---- LLM invariants -----------------------------------------------------------------------------

def test_generation_invariants_and_segment_seeding(ref, voice):
    tr = {}
    seed = 2 ** 64 - 1                                              # wraps: segment 1 uses seed 0
    ref.synthesize("zero_shot", ZH_LONG, voice, seed=seed, trace=tr, min_tokens=6, max_tokens=12, n_timesteps=2)
    assert len(tr["segments"]) == 2
    for s, seg in enumerate(tr["segments"]):
        assert seg["seed"] == R.segment_seed(seed, s) == (seed + s) % 2 ** 64
        toks, logits = seg["tokens"], seg["logits"]
        assert all(0 <= t < 6561 for t in toks)                     # stop never emitted
        assert seg["min_len"] <= len(toks) <= seg["max_len"]
        if seg["stop_token"] is None:
            assert len(toks) == seg["max_len"] and logits.shape[0] == seg["max_len"]
        else:
            assert 6561 <= seg["stop_token"] < 6761 and logits.shape[0] == len(toks) + 1
        assert logits.shape[1] == 6761 and logits.dtype == np.float32
        # replaying the sampler over the recorded logits with seed + s reproduces the decision sequence
        smp = sampling.RasSampler(R.segment_seed(seed, s))
        got = []
        for i, row in enumerate(logits):
            t = smp.step(row, got, i, seg["min_len"])
            if smp.is_stop(t):
                assert t == seg["stop_token"]
                break
            got.append(t)
        assert got == toks
    assert tr["segments"][1]["seed"] == 0


def test_generation_natural_stop_respects_min_len(ref, voice):
    p = ref.plan_segments("zero_shot", EN, voice)[0]
    lm = ref.lm_input(p, voice)
    lo, hi = ref.length_limits(p)
    lens = []
    for seed in range(4):
        toks, logits, stop = ref.generate(lm, lo, hi, seed, record_logits=True)
        lens.append(len(toks))
        assert lo <= len(toks) <= hi
        if stop is not None:
            assert stop >= 6561 and logits.shape[0] == len(toks) + 1
    assert min(lens) < hi                                           # the tiny model does stop on its own


def test_silent_filter_applied(ref, voice, monkeypatch):
    """Force the LLM to emit only silent tokens: it keeps seeing all of them, the flow gets 5."""
    silent = torch.tensor(sampling.SILENT_TOKENS)

    def silent_logits(h):
        out = torch.full(h.shape[:-1] + (6761,), -30.0)
        out[..., silent] = 30.0
        return out

    monkeypatch.setattr(ref.llm, "logits", silent_logits)
    tr = {}
    ref.synthesize("zero_shot", EN, voice, seed=0, trace=tr, min_tokens=12, max_tokens=12, n_timesteps=2)
    seg = tr["segments"][0]
    assert len(seg["tokens"]) == 12 and all(t in sampling.SILENT_TOKENS for t in seg["tokens"])
    assert seg["flow_tokens"] == seg["tokens"][:5]
    assert seg["flow_tokens"] == sampling.SilentTokenFilter().filter(seg["tokens"])
    assert seg["mel"].shape == (80, 10) and seg["wav"].shape == (4800,)


# ---- end to end ---------------------------------------------------------------------------------

def _check_wav(wav, n):
    assert wav.dtype == np.float32 and wav.shape == (n,)
    assert np.isfinite(wav).all() and np.abs(wav).max() <= 0.99 and wav.std() > 1e-4


@pytest.mark.parametrize("mode", ["zero_shot", "cross_lingual", "instruct2"])
def test_text_modes_end_to_end(ref, voice, mode):
    tr = {}
    wav = ref.synthesize(mode, EN, voice, instruct="Speak slowly." if mode == "instruct2" else None, seed=3,
                         trace=tr, n_timesteps=3)
    segs = tr["segments"]
    _check_wav(wav, sum(960 * len(s["flow_tokens"]) for s in segs))
    assert np.array_equal(wav, np.concatenate([s["wav"] for s in segs]))   # no silence inserted
    for s in segs:
        n, K = len(s["flow_tokens"]), voice.K
        assert s["mel"].shape == (80, 2 * n) and s["f0"].shape == (2 * n,)
        assert s["mu"].shape == (80, 2 * (K + n))
        assert s["lm_input"].shape[0] == 2 + len(s["plan"].prompt_ids) + len(s["plan"].text_ids) + \
            (K if mode == "zero_shot" else 0)


def test_vc_end_to_end_uses_aligned_prompt(ref, voice, tmp_path):
    src = _synth_wav(tmp_path / "src.wav", 22050, 1.2)
    tr = {}
    wav = ref.synthesize("vc", None, voice, source_wav=src, trace=tr, n_timesteps=3)
    seg = tr["segments"][0]
    whisper, toks = ref.source_tokens(src)
    assert seg["tokens"] == seg["flow_tokens"] == toks.tolist()      # no LLM, no silent filter
    n = len(toks)
    _check_wav(wav, 960 * n)                                           # aligned prompt: exactly 2N frames
    assert seg["mel"].shape == (80, 2 * n)
    with pytest.raises(R.ReferenceError, match="source"):
        ref.synthesize("vc", None, voice)


def test_speed(ref, voice):
    tr = {}
    wav = ref.synthesize("zero_shot", EN, voice, seed=1, speed=1.5, trace=tr, n_timesteps=2)
    s = tr["segments"][0]
    frames = s["mel"].shape[1]
    want = torch.nn.functional.interpolate(torch.from_numpy(s["mel"])[None], size=int(frames / 1.5),
                                           mode="linear")[0].numpy()
    assert np.array_equal(s["mel_speed"], want)
    _check_wav(wav, 480 * int(frames / 1.5))


def test_vocode_composition_equals_hift_inference(ref):
    mel = torch.randn(1, 80, 37, generator=torch.Generator().manual_seed(5)) * 2 - 5
    nz = torch.from_numpy(noise.hift_source_noise(480 * 37))
    for fin in (True, False):
        tr = {}
        a = ref.vocode(mel, fin, tr, keep_harmonics=True)
        with torch.no_grad():
            b = ref.hift.inference(mel, nz, finalize=fin)
        assert torch.equal(a, b)
        T = 37 if fin else 34
        assert tr["f0"].shape == (T,) and tr["harmonics"].shape == (480 * T, 9)
        assert tr["real"].shape == tr["imag"].shape == (9, 120 * (37 if fin else 30) + 1)


# ---- streaming ----------------------------------------------------------------------------------

def test_stream_schedule():
    s = R.stream_schedule(200, 35)                                     # pad 15
    assert [(c["offset"], c["hop"], c["token_end"], c["final"]) for c in s] == [
        (0, 40, 43, False), (40, 50, 93, False), (90, 100, 193, False), (190, 10, 200, True)]
    assert [c["token_end"] for c in R.stream_schedule(82, 23)] == [30, 80, 82]
    assert R.stream_schedule(80, 25)[1]["token_end"] == 78
    assert R.stream_schedule(27, 25) == [{"offset": 0, "hop": 27, "token_end": 27, "final": True}]
    assert [c["hop"] for c in R.stream_schedule(700, 50)][:6] == [25, 50, 100, 100, 100, 100]


def test_streaming_recomputation(ref, voice):
    tr = {}
    wav, chunks = ref.synthesize("zero_shot", EN, voice, seed=1, stream=True, speed=2.0, trace=tr,
                                 min_tokens=95, max_tokens=95, n_timesteps=2)
    assert len(chunks) == 3 and np.array_equal(np.concatenate(chunks), wav)
    toks = tr["segments"][0]["flow_tokens"]
    _check_wav(wav, 960 * len(toks))                                   # speed ignored when streaming
    # an independent recomputation of the schedule with the model pieces
    emb, pt = torch.from_numpy(voice.embedding)[None], torch.from_numpy(voice.speech_tokens)[None]
    pf = torch.from_numpy(voice.prompt_mel)[None]
    acc, done, outs, passes = torch.zeros(1, 80, 0), 0, [], []
    nz = torch.from_numpy(noise.hift_source_noise(480 * 2 * len(toks)))
    ends = [(0, 43, False), (40, 93, False), (90, 95, True)]           # K = 35: pad 15
    for off, end, final in ends:
        mel = ref.flow.inference(torch.tensor([toks[:end]]), pt, pf, emb, ref.flow_noise, streaming=not final,
                                 finalize=final, n_timesteps=2)[:, :, 2 * off:]
        acc = torch.cat([acc, mel], 2)
        with torch.no_grad():
            w = ref.hift.inference(acc, nz, finalize=final)[0].numpy()
        outs.append(w[done:])
        passes.append(w)
        done = w.shape[0]
    for got, want in zip(chunks, outs):
        assert np.array_equal(got, want)
    assert [c["token_end"] for c in tr["chunks"]] == [43, 93, 95]
    # the first chunk is what the first 43 tokens give directly (streaming flow, non-final HiFT)
    first = ref.flow.inference(torch.tensor([toks[:43]]), pt, pf, emb, ref.flow_noise, streaming=True,
                               finalize=False, n_timesteps=2)
    with torch.no_grad():
        direct = ref.hift.inference(first, nz, finalize=False)[0].numpy()
    assert np.array_equal(chunks[0], direct) and direct.shape == (480 * (80 - 8),)
    # recompute design: later passes reproduce the already emitted samples (causality)
    n0 = chunks[0].shape[0]
    hift_trace = {}
    with torch.no_grad():
        full = ref.hift.inference(acc, nz, finalize=True, trace=hift_trace)[0].numpy()
    # the vocoder on a longer mel: the same float32 chains in another order (test_hift._wave_bound)
    bound = fp32.hift_wave_bound(ref.hift, hift_trace["magnitude"])
    assert np.abs(passes[1][:n0] - chunks[0]).max() <= bound
    assert np.abs(full[:chunks[0].shape[0]] - chunks[0]).max() <= bound


# ---- command ------------------------------------------------------------------------------------

def test_reference_command(tiny_dir, tmp_path, capsys):
    from cosyvoice_export.__main__ import main
    out = tmp_path / "o.wav"
    rc = main(["reference", "--checkpoint", str(tiny_dir), "--mode", "zero_shot", "--text", EN, "--prompt-wav",
               str(ALSA_SPEECH), "--prompt-text", "Front center.", "--seed", "0", "-o", str(out)])
    assert rc == 0
    err = capsys.readouterr().err
    assert "segment 0" in err and "wrote" in err
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 24000)
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    with R.ReferencePipeline(tiny_dir, log=None) as want:
        v = want.prepare_voice(ALSA_SPEECH, "Front center.")
        assert np.array_equal(pcm, R.to_pcm16(want.synthesize("zero_shot", EN, v, seed=0)))
    rc = main(["reference", "--checkpoint", str(tiny_dir), "--mode", "instruct2", "--text", EN, "--prompt-wav",
               str(ALSA_SPEECH), "-o", str(out)])
    assert rc == 2 and "instruction" in capsys.readouterr().err
