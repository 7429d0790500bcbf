"""The incremental streaming schedule (streaming.py, docs/streaming.md) against upstream's
recompute loop and the offline passes it must reproduce.

Tolerances, derived from the float32 error model (fp32.py, docs/parity.md):
* one DiT call, incremental vs full with the chunk mask: the same float32 chain except how the
  attention GEMMs block the keys (cached + new vs all at once): pair(dit_depth) on unit-RMS
  activations (measured 3e-7);
* flow mel after 10 Euler steps: the solver bound euler_cfg_gain * pair(dit_depth) (measured 1.5e-6);
* vocoder from identical mel, window vs whole: the vocoder bound on the spectrum's peak (measured 9e-8);
* waveform chunks: the vocoder bound with the mel bound added to the spectrum's (HiFT sees the mel
  differences of the earlier chunks in its receptive field; measured 2.4e-5).
"""

import math

import numpy as np
import pytest
import torch

import fp32
from cosyvoice_export import noise, streaming as S
from cosyvoice_export import reference as R
from cosyvoice_export.export.bundle import tol_generator

ALSA_SPEECH = "/usr/share/sounds/alsa/Front_Center.wav"


def _dit_bound(dit, frames, out):
    return fp32.pair(fp32.dit_depth(dit, frames), max(1.0, float(out.abs().max())))


def _mel_bound(flow, frames, mel):
    """Two float32 runs of the 10-step Euler/CFG solve on ``frames`` frames (unit-RMS scale)."""
    scale = max(1.0, float(np.abs(np.asarray(mel)).max()))
    depth = fp32.dit_depth(flow.decoder.estimator, frames) + fp32.weight_depth(flow.pre_lookahead_layer) + 1
    return fp32.euler_cfg_gain(0.7) * fp32.pair(depth, scale) + fp32.pair(20, scale)


def _wav_bound(ref, peak, mel_abs=0.0):
    """The vocoder: the generator's relative spectrum bound, plus a mel difference entering it with
    gain 1, through the ISTFT (gain 1.5) on the spectrum's peak, plus the ISTFT's rounding."""
    return 1.5 * peak * (tol_generator(ref.hift)["real"].value + mel_abs) + fp32.pair(fp32.chain(18, 4, 1, transcendental=1), peak)


def _peak(ref, mel):
    tr = {}
    ref.vocode(mel, True, tr)
    return tr["magnitude_peak"]


@pytest.fixture(scope="module")
def ref(tiny_dir):
    with R.ReferencePipeline(tiny_dir, log=None) as r:
        yield r


@pytest.fixture(scope="module")
def voice(ref):
    return ref.prepare_voice(ALSA_SPEECH, "Front center.")           # K = 35: pad 15


def _tokens(n, seed=0):
    return np.random.default_rng(seed).integers(0, 6561, n).tolist()


def _stream(ref, voice, toks, mode, schedule="upstream", **kw):
    return S.stream_segment(ref.flow, ref.hift, ref.flow_noise, ref.hift_noise.get, toks, voice.speech_tokens,
                            voice.prompt_mel, voice.embedding, mode=mode, schedule=schedule, **kw)


# ---- the DiT with cached keys/values ---------------------------------------------------------------

def test_dit_incremental_equals_chunk_masked_dit(tiny_flow, gen):
    dit = tiny_flow.decoder.estimator
    t_len = 157                                     # 3 whole chunks and a partial one
    x, mu, cond = (torch.randn(2, 80, t_len, generator=gen) for _ in range(3))
    spks, t = torch.randn(2, 80, generator=gen), torch.rand(2, generator=gen)
    with torch.no_grad():
        want = dit.forward_chunked(x, torch.ones(2, 1, t_len), mu, t, spks, cond, 50)
        for cuts in ([0, 50, 100, 150, t_len], [0, 100, t_len], [0, 150, t_len]):
            cache, outs = S.StepCache.empty(dit, 2), []
            for lo, hi in zip(cuts[:-1], cuts[1:]):
                v, new = S.dit_incremental(dit, x[:, :, lo:hi], mu[:, :, lo:hi], t, spks, cond[:, :, lo:hi], cache, 50)
                cache = cache.extend(new)
                outs.append(v)
            got = torch.cat(outs, 2)
            assert (got - want).abs().max() <= _dit_bound(dit, t_len, want), cuts
            assert cache.frames == t_len and cache.conv1.shape == (2, dit.cfg.dim, dit.cfg.conv_pos_kernel - 1)
        # no chunk limit from an empty cache is the offline estimator
        full = dit.forward_chunked(x, torch.ones(2, 1, t_len), mu, t, spks, cond, None)
        v, _ = S.dit_incremental(dit, x, mu, t, spks, cond, S.StepCache.empty(dit, 2), None)
        assert (v - full).abs().max() <= _dit_bound(dit, t_len, full)
        # a cut inside a chunk is not exact (the earlier frames would have seen the later ones)
        cache = S.StepCache.empty(dit, 2)
        v1, new = S.dit_incremental(dit, x[:, :, :30], mu[:, :, :30], t, spks, cond[:, :, :30], cache, 50)
        assert (v1 - want[:, :, :30]).abs().max() > _dit_bound(dit, t_len, want)   # beyond rounding


def test_prompt_cache_frames():
    # frames below 2 (K - 3) depend on the prompt only; whole 50-frame chunks of them are cached
    assert S.prompt_cache_frames(35) == 50          # 2 * 32 = 64 -> 1 chunk
    assert S.prompt_cache_frames(28) == 50
    assert S.prompt_cache_frames(27) == 0           # 48 < 50
    assert S.prompt_cache_frames(75) == 100         # 144 -> 2 chunks (frames 144..149 see generated tokens)
    assert S.prompt_cache_frames(2) == 0


def test_incremental_flow_equals_streaming_solve(ref, voice):
    """The solver advanced chunk by chunk from the prompt cache = the offline solver with the
    chunk mask, on the same inputs."""
    toks = _tokens(60)
    flow = ref.flow
    tok = torch.tensor([toks])
    pt = torch.from_numpy(voice.speech_tokens)[None]
    pf = torch.from_numpy(voice.prompt_mel)[None]
    emb = torch.from_numpy(voice.embedding)[None]
    with torch.no_grad():
        inp = flow.encode(tok, pt, pf, emb, finalize=True)
        want = flow.decoder.solve(ref.flow_noise, inp.mu, inp.mask, inp.spks, inp.cond, streaming=True)
    inc = S.build_prompt_flow(flow, ref.flow_noise, pt, pf, emb)
    assert inc.frames == 50
    xs, lo = [], inc.frames
    for hi in (100, 150, inp.mu.shape[2]):
        xs.append(inc.advance(inp.mu[:, :, lo:hi], inp.cond[:, :, lo:hi]))
        lo = hi
    got = torch.cat(xs, 2)
    assert (got - want[:, :, 50:]).abs().max() <= _mel_bound(flow, inp.mu.shape[2], want)
    with pytest.raises(ValueError, match="mid-chunk"):                 # 190 frames: the last call ended mid-chunk
        inc.advance(inp.mu[:, :, :2], inp.cond[:, :, :2])
    # the prompt cache holds layers x (K, V) x CFG 2 x steps per frame (plus the conv states)
    per_frame = S.kv_bytes_per_frame(flow.cfg.dit)
    assert per_frame == flow.cfg.dit.depth * 2 * flow.cfg.dit.dim * 2 * 10 * 4
    assert inc.cache_bytes() >= per_frame * inc.frames


# ---- the vocoder on a window -----------------------------------------------------------------------

def test_hift_left_context_covers_the_receptive_field(tiny_hift, gen):
    """The generator's dependence on earlier mel frames and excitation samples, found by
    differentiation (a structural receptive field: any nonzero gradient), fits in the derived
    left context, which is at most 3 frames larger than needed."""
    hift = tiny_hift
    t_len, t0 = 80, 60
    mel = (torch.randn(1, 80, t_len, generator=gen) * 2 - 4).requires_grad_(True)
    nz = torch.from_numpy(noise.hift_source_noise(480 * t_len))
    harm = hift.harmonics(hift.f0(mel.detach(), True), nz).requires_grad_(True)
    s = hift.stft(hift.m_source(harm).transpose(1, 2))
    mag, ph = hift.decode(mel, s, True)
    wav = hift.istft(mag, ph)[0]
    wav[t0 * 480:(t0 + 1) * 480].sum().backward()
    first_mel = int(torch.nonzero(mel.grad[0].abs().sum(0))[0])
    first_sample = int(torch.nonzero(harm.grad[0].abs().sum(1))[0])
    need = max(t0 - first_mel, math.ceil(t0 - first_sample / 480))
    derived = S.hift_left_context_frames(hift.cfg)
    assert need <= derived <= need + 3, (need, derived)
    assert S.f0_left_context_frames(hift) == 8


@pytest.mark.parametrize("pieces", [[54, 100, 126], [20, 3, 60, 1, 50], [9, 9]])
def test_incremental_vocoder_equals_recompute(ref, gen, pieces):
    """Pushing mel piece by piece gives the samples upstream's loop gets by re-running HiFT over
    all accumulated mel (non-final pieces, then a final one)."""
    total = sum(pieces)
    mel = torch.randn(1, 80, total, generator=gen) * 2 - 5
    voc = S.IncrementalVocoder(ref.hift, ref.hift_noise.get)
    done, at = 0, 0
    for i, n in enumerate(pieces):
        final = i == len(pieces) - 1
        got = voc.push(mel[:, :, at:at + n], final).numpy()
        at += n
        with torch.no_grad():
            want = ref.vocode(mel[:, :, :at], final)[0].numpy()[done:]
        assert got.shape == want.shape
        if want.size:
            # the same mel: the vocoder bound on this pass's spectrum peak
            bound = _wav_bound(ref, _peak(ref, mel[:, :, :at]))
            assert np.abs(got - want).max() <= bound, (i, np.abs(got - want).max(), bound)
        done += want.shape[0]
    assert done == 480 * total
    # the window, not the prefix: the generator ran on about (left context + new) frames per push
    assert voc.frames_processed <= total + len(pieces) * (voc.left + 8)


# ---- whole segments ---------------------------------------------------------------------------------

def test_exact_equals_recompute_chunks(ref, voice):
    toks = _tokens(200)                          # K = 35: chunks [:43], [:93], [:193] and the final one
    chunks_rc, tr = [], []
    ref._stream_segment(0, toks, voice, 10, 0.7, chunks_rc, tr, {}, True)
    recs = []
    work = S.StreamWork()
    got = _stream(ref, voice, toks, "exact", on_chunk=recs.append, work=work)
    assert [c.shape for c in got] == [c.shape for c in chunks_rc] and len(got) == 4
    frames = 2 * (voice.K + len(toks))
    for a, b, rt, rg in zip(got, chunks_rc, tr, recs):
        mel_bound = _mel_bound(ref.flow, frames, rt["mel"])
        assert np.abs(rg["mel"] - rt["mel"]).max() <= mel_bound
        assert np.abs(a - b).max() <= _wav_bound(ref, rt["magnitude_peak"], mel_bound)
    # the work: the prompt cache's chunk is not recomputed, and the non-final chunks cost their frames
    # only (the final full-attention pass costs the whole sequence, as upstream's does)
    k2 = 2 * voice.K
    per_chunk = [(2 * (voice.K + 40)) - 50, 100, 200, k2 + 400]
    assert work.dit_frames == 10 * sum(per_chunk)


def test_fast_is_the_offline_flow_with_the_prompt_on_its_own(ref, voice):
    """``fast`` caches the whole prompt per voice (encoded as if it stood alone) and keeps the
    chunk mask in the final chunk, so it equals one offline solve under the chunk mask with the
    prompt frames attending to prompt frames only (:func:`fast_offline_mel`), and its mel does not
    depend on the emission schedule. It differs from ``exact`` beyond rounding (the prompt's tail
    attends to the first chunk there, and the final chunk has full attention)."""
    toks = _tokens(140, seed=3)
    rec_exact, rec_fast = [], []
    _stream(ref, voice, toks, "exact", on_chunk=rec_exact.append)
    fast = _stream(ref, voice, toks, "fast", on_chunk=rec_fast.append)
    fast_chunk = _stream(ref, voice, toks, "fast", "chunk")
    with torch.no_grad():
        mel = S.fast_offline_mel(ref.flow, ref.flow_noise, toks, voice.speech_tokens, voice.prompt_mel,
                                 voice.embedding)
        voc_tr = {}
        offline = ref.vocode(mel, True, voc_tr)[0].numpy()
        chunk_mask_mel = ref.run_flow(toks, voice, streaming=True, finalize=True, n_timesteps=10, cfg_rate=0.7)
    mel_bound = _mel_bound(ref.flow, 2 * (voice.K + len(toks)), mel)
    bound = _wav_bound(ref, voc_tr["magnitude_peak"], mel_bound)
    assert len(fast_chunk) > len(fast)
    whole = np.concatenate(fast)
    assert np.abs(np.concatenate(fast_chunk) - whole).max() <= bound
    assert whole.shape == offline.shape and np.abs(whole - offline).max() <= bound
    # the prompt on its own is a change of the computation, not rounding: against the model's chunk
    # mask (the prompt's tail seeing the first generated frames) and against exact's first chunk
    assert (mel - chunk_mask_mel).abs().max() > mel_bound
    assert np.abs(rec_exact[0]["mel"] - rec_fast[0]["mel"]).max() > mel_bound


def test_whole_prompt_cache_is_the_prompt_on_its_own(ref, voice):
    """The whole-prompt cache (``fast``): every prompt frame, advanced mid-chunk without closing
    the flow; its x equals the offline solve of the prompt tokens alone under the chunk mask."""
    pt = torch.from_numpy(voice.speech_tokens)[None]
    pf = torch.from_numpy(voice.prompt_mel)[None]
    emb = torch.from_numpy(voice.embedding)[None]
    whole = S.build_prompt_flow(ref.flow, ref.flow_noise, pt, pf, emb, whole_prompt=True)
    assert whole.frames == 2 * voice.K == 70 and not whole.closed and whole.whole_prompt
    chunks = S.build_prompt_flow(ref.flow, ref.flow_noise, pt, pf, emb)
    assert chunks.frames == 50 and not chunks.whole_prompt
    with pytest.raises(ValueError, match="whole_prompt=True"):
        _stream(ref, voice, _tokens(30), "fast", prompt_flow=chunks)
    with pytest.raises(ValueError, match="whole_prompt=False"):
        _stream(ref, voice, _tokens(30), "exact", prompt_flow=whole)
    with pytest.raises(ValueError, match="140 prompt mel frames"):
        S.build_prompt_flow(ref.flow, ref.flow_noise, torch.cat([pt, pt], 1), pf, emb, whole_prompt=True)


def test_prompt_cache_is_shared_between_requests(ref, voice):
    pt = torch.from_numpy(voice.speech_tokens)[None]
    pf = torch.from_numpy(voice.prompt_mel)[None]
    emb = torch.from_numpy(voice.embedding)[None]
    cache = S.build_prompt_flow(ref.flow, ref.flow_noise, pt, pf, emb, whole_prompt=True)
    frames, keys = cache.frames, [c.keys[0] for c in cache.caches]
    for seed in (1, 2):
        toks = _tokens(80, seed)
        shared = _stream(ref, voice, toks, "fast", prompt_flow=cache)
        fresh = _stream(ref, voice, toks, "fast")
        assert all(np.array_equal(a, b) for a, b in zip(shared, fresh))
    assert cache.frames == frames and all(k is c.keys[0] for k, c in zip(keys, cache.caches))


def test_reference_synthesize_stream_modes(ref, voice, tmp_path):
    kw = dict(seed=1, stream=True, min_tokens=70, max_tokens=70, n_timesteps=4)
    tr_rc = {}
    w_rc, c_rc = ref.synthesize("zero_shot", "Hello world.", voice, trace=tr_rc, **kw)
    tr = {}
    w_ex, c_ex = ref.synthesize("zero_shot", "Hello world.", voice, stream_mode="exact", trace=tr, **kw)
    peak = max(c["magnitude_peak"] for c in tr_rc["chunks"])
    frames = 2 * (voice.K + 70)
    mel_abs = max(_mel_bound(ref.flow, frames, c["mel"]) for c in tr_rc["chunks"])
    assert [c.shape for c in c_ex] == [c.shape for c in c_rc] and np.abs(w_ex - w_rc).max() <= _wav_bound(ref, peak, mel_abs)
    assert [c["attention"] for c in tr["chunks"]] == ["chunk", "full"]
    w_f, c_f = ref.synthesize("zero_shot", "Hello world.", voice, stream_mode="fast", stream_schedule="chunk", **kw)
    assert len(c_f) == 3 and w_f.shape == w_rc.shape              # 70 tokens: [:18] (the pad), [:43], final
    with pytest.raises(R.ReferenceError, match="needs stream mode 'fast'"):
        ref.synthesize("zero_shot", "Hello.", voice, stream_mode="exact", stream_schedule="chunk", **kw)
    # voice conversion streams in chunks too (upstream's loop does not care where tokens come from)
    src = tmp_path / "source.wav"
    R.write_wav(src, 0.3 * np.sin(2 * np.pi * 150 * np.arange(3 * 24000) / 24000), 24000)    # 75 tokens
    w_vc, c_vc = ref.synthesize("vc", None, voice, source_wav=src, stream=True, n_timesteps=2, stream_mode="exact")
    offline = ref.synthesize("vc", None, voice, source_wav=src, n_timesteps=2)
    assert len(c_vc) == 2 and w_vc.shape == offline.shape


def test_early_first_hop_changes_the_chunking_not_the_audio(ref, voice, monkeypatch):
    """The early first emission ends on an attention-chunk boundary, so 'fast' gives the same
    waveform with it as without it (float32 rounding only: the same frames, other GEMM shapes)."""
    toks = _tokens(70, seed=2)
    tr_early, tr_late = [], []
    c_early = _stream(ref, voice, toks, "fast", "chunk", n_timesteps=2, on_chunk=tr_early.append)
    monkeypatch.setattr(S, "EARLY_FIRST_HOP", 0)
    c_late = _stream(ref, voice, toks, "fast", "chunk", n_timesteps=2, on_chunk=tr_late.append)
    assert [c["token_end"] for c in tr_early] == [18, 43, 68, 70]
    assert [c["token_end"] for c in tr_late] == [43, 68, 70]
    w_early, w_late = np.concatenate(c_early), np.concatenate(c_late)
    assert w_early.shape == w_late.shape
    # Two float32 runs of the same frames under the same mask (other GEMM shapes): the mel bound of
    # the solve, then the vocoder's bound on the largest spectrum of either run.
    mel_e = np.concatenate([c["mel"] for c in tr_early], axis=1)
    mel_l = np.concatenate([c["mel"] for c in tr_late], axis=1)
    mel_abs = _mel_bound(ref.flow, 2 * (voice.K + 70), mel_l)
    assert np.abs(mel_e - mel_l).max() <= mel_abs
    peak = max(c["magnitude_peak"] for c in tr_early + tr_late)
    assert np.abs(w_early - w_late).max() <= _wav_bound(ref, peak, mel_abs)


def test_stream_plan_constant_hops():
    plan = S.stream_plan(130, 35, "chunk")                                # pad 15: emitted on its own
    assert [(c["offset"], c["token_end"], c["final"]) for c in plan] == [
        (0, 18, False), (15, 43, False), (40, 68, False), (65, 93, False), (90, 118, False), (115, 130, True)]
    # a pad below EARLY_FIRST_HOP joins the first full hop; no pad: 25
    assert [c["token_end"] for c in S.stream_plan(60, 21, "chunk")] == [32, 57, 60]   # pad 4: 29 + 3
    assert [c["token_end"] for c in S.stream_plan(60, 20, "chunk")] == [8, 33, 58, 60]  # pad 5: 5 + 3
    assert [c["token_end"] for c in S.stream_plan(60, 50, "chunk")] == [28, 53, 60]   # pad 0
    assert [c["token_end"] for c in S.stream_schedule_constant(130, 35, early_first_hop=0)] == [43, 68, 93, 118, 130]
    assert S.stream_plan(130, 35, "upstream") == R.stream_schedule(130, 35)
    with pytest.raises(ValueError, match="unknown schedule"):
        S.stream_plan(10, 5, "nope")
