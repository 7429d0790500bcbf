"""Text-in streaming (bistream.py) against a line-by-line port of upstream's
``Qwen2LM.inference_bistream`` (llm.py at ace7c47, fed by the frontend's one-token-at-a-time text
generator), with this project's two sampler deviations applied inside the port exactly where
upstream samples (every special id but fill masked while interleaving; any stop id ends the final
phase) and the final-phase length cap.  Same LLM, same seeded sampler: the token sequences must be
identical."""

import numpy as np
import pytest
import torch

from cosyvoice_export import bistream as B
from cosyvoice_export import sampling

EOP = 151646


def upstream_bistream(llm, text_tokens, prompt_text, prompt_speech_token, seed, max_len):
    """The structure of upstream's generator, variable for variable (cache, lm_input, text_cache,
    prompt_speech_token_emb, next_fill_index, out_tokens)."""
    cfg = llm.cfg
    s = cfg.sampling
    sampler = sampling.RasSampler(seed, top_p=s.top_p, top_k=s.top_k, win_size=s.win_size, tau_r=s.tau_r)
    mix = cfg.mix_ratio
    sts, fill = cfg.speech_token_size, cfg.fill_token
    emb_t = lambda ids: llm.embed_text(torch.tensor(ids, dtype=torch.long))[None]     # noqa: E731
    emb_s = lambda ids: llm.embed_speech(torch.tensor(ids, dtype=torch.long))[None]   # noqa: E731

    def sampling_ids(logp, out_tokens, interleaving):
        logp = logp.copy()
        if interleaving:                                     # deviation: upstream masks only sos, raises on others
            keep = logp[fill]
            logp[sts:] = -np.inf
            logp[fill] = keep
        return sampler.step(logp, out_tokens, 0, 0)

    cache = None

    def forward_one_step(x):
        nonlocal cache
        with torch.no_grad():
            h, cache = llm(x, cache)
            return llm.logits(h[0, -1]).numpy()

    sos_emb, task_id_emb = emb_s([cfg.sos]), emb_s([cfg.task_id])
    prompt_speech_token_emb = emb_s(prompt_speech_token) if prompt_speech_token else torch.zeros(1, 0, 64)
    lm_input = sos_emb
    out_tokens, yielded = [], []
    eop_index = prompt_text.index(EOP)
    lm_input = torch.cat([lm_input, emb_t(prompt_text[:eop_index + 1])], dim=1)
    text_cache = emb_t(prompt_text[eop_index + 1:]) if len(prompt_text) > eop_index + 1 else torch.zeros(1, 0, 64)
    next_fill_index = (int(len(prompt_speech_token) / mix[1]) + 1) * mix[1] - len(prompt_speech_token)
    for this_text in text_tokens:
        text_cache = torch.cat([text_cache, emb_t([this_text])], dim=1)
        while prompt_speech_token_emb.size(1) != 0:
            if text_cache.size(1) >= mix[0]:
                lm_input_text, lm_input_speech = text_cache[:, :mix[0]], prompt_speech_token_emb[:, :mix[1]]
                lm_input = torch.cat([lm_input, lm_input_text, lm_input_speech], dim=1)
                text_cache, prompt_speech_token_emb = text_cache[:, mix[0]:], prompt_speech_token_emb[:, mix[1]:]
            else:
                break
        if prompt_speech_token_emb.size(1) == 0:
            if (len(out_tokens) != 0 and out_tokens[-1] == fill) or (len(out_tokens) == 0 and lm_input.size(1) == 1):
                if text_cache.size(1) >= mix[0]:
                    lm_input_text = text_cache[:, :mix[0]]
                    if len(out_tokens) != 0 and out_tokens[-1] == fill:
                        lm_input = lm_input_text
                    else:
                        lm_input = torch.cat([lm_input, lm_input_text], dim=1)
                    text_cache = text_cache[:, mix[0]:]
                else:
                    continue
            while True:
                logp = forward_one_step(lm_input)
                if next_fill_index != -1 and len(out_tokens) == next_fill_index:
                    top_ids = fill
                    next_fill_index += (mix[1] + 1)
                else:
                    top_ids = sampling_ids(logp, out_tokens, True)
                if top_ids == fill:
                    next_fill_index = len(out_tokens) + mix[1] + 1
                out_tokens.append(top_ids)
                if top_ids >= sts:
                    assert top_ids == fill
                    break
                yielded.append(top_ids)
                lm_input = emb_s([top_ids])
    lm_input = torch.cat([lm_input, text_cache, task_id_emb], dim=1)
    while len(yielded) < max_len:                             # deviation: a cap (upstream has none)
        logp = forward_one_step(lm_input)
        top_ids = sampling_ids(logp, out_tokens, False)
        out_tokens.append(top_ids)
        if top_ids >= sts:                                    # deviation: any stop id ends it
            break
        yielded.append(top_ids)
        lm_input = emb_s([top_ids])
    return yielded, out_tokens


def _text(n, seed):
    return np.random.default_rng(seed).integers(100, 150000, n).tolist()


@pytest.mark.parametrize("k,n_text,transcript", [(35, 40, 6), (30, 23, 3), (0, 12, 0), (7, 3, 2)])
def test_bistream_equals_upstream_loop(tiny_llm, k, n_text, transcript):
    prompt = _text(5, 1) + [EOP] + _text(transcript, 2)
    speech = np.random.default_rng(3).integers(0, 6561, k).tolist()
    text = _text(n_text, 4)
    cap = 3 * n_text + 12                                   # the final phase's cap (upstream: none)
    want, want_out = upstream_bistream(tiny_llm, text, prompt, speech, seed=9, max_len=cap)
    b = B.BistreamLM(tiny_llm, prompt, speech, seed=9, max_tokens=cap)
    got = []
    for lo, hi in ((0, 1), (1, 9), (9, 9), (9, n_text)):          # pieces of any size, empty ones too
        got += b.push(text[lo:hi])
    got += b.finish()
    assert got == want and b.out == want_out
    fills = [i for i, t in enumerate(b.out) if t == tiny_llm.cfg.fill_token]
    assert fills, "the interleaved phase ends every group with fill"
    # upstream's forced schedule: the first fill after (K // 15 + 1) * 15 - K outputs, then every 16
    first = (k // 15 + 1) * 15 - k
    if len(text) + transcript >= 5 * (-(-k // 15)) + 5:                # enough text for a decode
        assert fills[0] <= first
    assert all(t < 6561 for t in got)


def test_bistream_pieces_do_not_matter_only_tokens(tiny_llm):
    prompt = _text(4, 5) + [EOP] + _text(7, 6)
    speech = np.random.default_rng(7).integers(0, 6561, 20).tolist()
    text = _text(23, 8)
    one = B.bistream_tokens(tiny_llm, [text], prompt, speech, seed=1, max_tokens=60)
    many = B.bistream_tokens(tiny_llm, [[t] for t in text], prompt, speech, seed=1, max_tokens=60)
    assert one == many


def test_bistream_interleaving_layout(tiny_llm):
    """What the LLM is fed: [sos] + system part, then 5 text + 15 prompt speech groups while both
    last, decoded speech after them; upstream's quirks as documented (the last input is fed again
    when the text ends)."""
    fed = []

    def forward(x):
        fed.append(x.shape[1])
        return np.zeros(6761, np.float32)                      # uniform: the sampler picks anything allowed

    prompt = [11, 12, EOP, 21, 22]                              # 3 system ids, a 2-token transcript
    speech = list(range(100, 130))                              # K = 30: two whole groups
    b = B.BistreamLM(tiny_llm, prompt, speech, seed=0, forward=forward)
    assert b.push([1, 2, 3]) == [] and fed == []               # 5 text tokens -> first group only then
    out = b.push(list(range(4, 9)))                             # 10 text tokens: both groups, then decode
    assert fed[0] == 1 + 3 + 2 * (5 + 15)                       # one prefill: sos + system + 2 groups
    assert len(out) == 15 and b.out[-1] == tiny_llm.cfg.fill_token   # K % 15 == 0: 15 more tokens, then fill
    n = len(fed)
    assert b.push([9]) == [] and len(fed) == n                  # 1 cached text token: wait
    assert len(b.push([10, 11, 12, 13])) == 15                  # 5: fed as one input, then 15 speech + fill
    assert fed[n] == 5
    m = len(fed)
    b.max_tokens = b.emitted + 4
    tail = b.finish()
    assert fed[m] == 1 + 0 + 1                                  # the quirk: last input again, empty cache, task_id
    assert len(tail) == 4
    with pytest.raises(ValueError, match="after finish"):
        b.push([1])
    with pytest.raises(ValueError, match="endofprompt"):
        B.BistreamLM(tiny_llm, [1, 2], [], seed=0)


def test_reference_text_stream(tiny_dir):
    from cosyvoice_export import reference as R
    with R.ReferencePipeline(tiny_dir, log=None) as ref:
        voice = ref.prepare_voice("/usr/share/sounds/alsa/Front_Center.wav", "Front center.")
        pieces = ["Hello there, ", "this text arrives ", "in pieces", " while it is written."]
        tr = {}
        wav = ref.synthesize_text_stream("zero_shot", pieces, voice, seed=2, max_tokens=60, n_timesteps=2, trace=tr)
        assert tr["pieces"] == [ref.encode(p) for p in pieces]
        assert wav.shape == (960 * len(tr["flow_tokens"]),) and np.all(np.abs(wav) <= 0.99)
        # the LLM part is the state machine on the same ids
        prompt_ids = ref.encode(ref.prompt_string("zero_shot", voice))
        want = B.bistream_tokens(ref.llm, tr["pieces"], prompt_ids, voice.speech_tokens.tolist(), seed=2, max_tokens=60)
        assert tr["tokens"] == want
        w2, chunks = ref.synthesize_text_stream("zero_shot", pieces, voice, seed=2, max_tokens=60, n_timesteps=2,
                                                stream=True, stream_mode="exact")
        assert np.array_equal(np.concatenate(chunks), w2) and w2.shape == wav.shape     # same tokens, streamed
        tr2 = {}
        ref.synthesize_text_stream("instruct2", ["Speak."], voice, instruct="Slowly.", seed=1, max_tokens=20,
                                   n_timesteps=2, trace=tr2)
        assert 0 < len(tr2["tokens"]) <= 20
        with pytest.raises(R.ReferenceError, match="zero_shot and instruct2"):
            ref.synthesize_text_stream("cross_lingual", ["x"], voice)
        with pytest.raises(R.ReferenceError, match="empty text"):
            ref.synthesize_text_stream("zero_shot", ["", ""], voice)
