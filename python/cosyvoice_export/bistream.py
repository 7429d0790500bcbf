"""Text-in streaming ("bistream"): upstream's ``Qwen2LM.inference_bistream`` for CosyVoice3, as a
state machine fed text token by token (docs/streaming.md §"Text-in streaming").

Upstream (llm.py, ``inference_bistream``; frontend ``_extract_text_token_generator``) takes the
text as a generator of strings, tokenizes **each string on its own** and feeds the LLM loop one
text token at a time.  The LLM input interleaves text and speech in the ratio mix_ratio = [5, 15]
(the layout it was trained on, ``prepare_lm_input_target``): after each 5 text tokens come 15
speech tokens and then the ``fill`` token (6564), which means "more text now".  So:

1. ``lm_input = [sos] + E_t(prompt[:eop + 1])`` (the system/instruction part up to and including
   ``<|endofprompt|>``); the rest of the prompt text (the zero-shot transcript) starts the text
   cache; ``next_fill = (K // 15 + 1) * 15 - K`` with K prompt speech tokens.
2. For every arriving text token: append it to the cache; while prompt speech tokens remain and
   the cache holds 5 text tokens, append 5 text + 15 prompt speech embeddings.  Once the prompt
   speech is used up: if the last output was ``fill`` (or nothing was decoded and the input is
   just ``[sos]``, a CosyVoice2 condition that never holds for CosyVoice3), 5 cached text tokens
   are needed (else wait for more text) and become the next input; then decode until a ``fill``:
   it is forced when the output count reaches ``next_fill`` (then ``next_fill += 16``), and a
   sampled ``fill`` sets ``next_fill = len(out) + 16``.  ``fill`` is appended to the output list
   (it is in the repetition window) but not emitted.
3. When the text ends: feed ``lm_input + text cache + [task_id]`` and decode until a stop token.

Reproduced as upstream does it (quirks, documented rather than fixed, so that the same inputs give
upstream's token sequence):

* after the first decode, step 3 feeds the variable ``lm_input`` again, i.e. the last input the
  LLM already consumed (usually the last speech token) is fed a second time;
* prompt speech tokens still waiting when the text ends are dropped;
* with instruct2 (no prompt speech, K = 0) the first decode starts before any text is fed;
* with K a multiple of 15 the first fill comes after 15 more speech tokens, not immediately.

Deviations (upstream raises or never ends there):

* while interleaving, upstream masks only ``sos`` and raises on any other special token; here every
  special id except ``fill`` is masked (the sampler never draws them);
* in the final phase upstream stops on ``eos`` and raises on other special ids; here any id in
  6561..6760 stops (as in the normal decode loop);
* upstream's final phase has no length limit; here the emitted speech tokens are capped at
  ``max_token_text_ratio`` (20) times the number of text tokens fed (the text-derived cap of the
  normal mode), or ``max_tokens`` when given.

Sampling is the project's seeded RAS sampler (docs/determinism.md) with the request seed (one
segment: no sentence splitting or normalisation happens in this mode, as upstream skips
``text_normalize`` for a generator).
"""

from __future__ import annotations

from typing import Callable, Iterable, List, Optional, Sequence

import numpy as np
import torch

from . import sampling

__all__ = ["BistreamLM", "bistream_tokens"]


class BistreamLM:
    """The bistream decode loop as a state machine.

    ``push(ids)`` feeds text token ids (one tokenized text piece) and returns the speech tokens
    emitted meanwhile; ``finish()`` ends the text and returns the rest.  ``llm`` is a
    ``CosyVoice3LM``; ``prompt_ids`` the tokenized prompt (system prompt + ``<|endofprompt|>`` +
    transcript, or the instruct2 instruction); ``prompt_speech`` the voice's speech tokens (zero-shot)
    or empty.  ``forward(embeds)`` may replace the LLM call (for tests); it gets [1, S, D] embeddings
    and returns the logits of the last position."""

    def __init__(self, llm, prompt_ids: Sequence[int], prompt_speech: Sequence[int], seed: int,
                 endofprompt_id: int = 151646, max_tokens: Optional[int] = None,
                 forward: Optional[Callable[[torch.Tensor], np.ndarray]] = None):
        cfg = llm.cfg
        self.llm = llm
        self.cfg = cfg
        self.mix_text, self.mix_speech = int(cfg.mix_ratio[0]), int(cfg.mix_ratio[1])
        self.fill = cfg.fill_token
        s = cfg.sampling
        self.sampler = sampling.RasSampler(seed, top_p=s.top_p, top_k=s.top_k, win_size=s.win_size, tau_r=s.tau_r,
                                           speech_token_size=cfg.speech_token_size)
        ids = list(prompt_ids)
        if endofprompt_id not in ids:
            raise ValueError("bistream: the prompt must contain <|endofprompt|> (upstream asserts it)")
        eop = ids.index(endofprompt_id)
        self._cache = None
        self._forward = forward or self._llm_forward
        # the variable upstream calls lm_input: what the next forward feeds (or, after a decode, fed last)
        self.lm_input = torch.cat([self._speech([cfg.sos]), self._text(ids[:eop + 1])], dim=1)
        self.text_cache: List[int] = ids[eop + 1:]
        self.prompt_speech: List[int] = list(prompt_speech)
        k = len(self.prompt_speech)
        self.next_fill = (k // self.mix_speech + 1) * self.mix_speech - k
        self.out: List[int] = []                # sampled ids, fill included (the RAS window sees them)
        self.emitted = 0
        self.text_fed = 0
        self.max_tokens = max_tokens
        self.finished = False
        self.fed_positions = 0                  # LLM positions consumed (for the bench)
        # per entry of ``out``: the step's stability margin (inf when forced; sampling.ras_step_margin,
        # docs/determinism.md §8) and its largest |logit|, for the goldens' near-tie check
        self.margins: List[float] = []
        self.logit_peaks: List[float] = []

    # ---- LLM --------------------------------------------------------------------------------------
    def _text(self, ids: Sequence[int]) -> torch.Tensor:
        return self.llm.embed_text(torch.as_tensor(list(ids), dtype=torch.long))[None]

    def _speech(self, ids: Sequence[int]) -> torch.Tensor:
        return self.llm.embed_speech(torch.as_tensor(list(ids), dtype=torch.long))[None]

    def _llm_forward(self, embeds: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            h, self._cache = self.llm(embeds, self._cache)
            return self.llm.logits(h[0, -1]).float().numpy()

    def _step(self) -> np.ndarray:
        self.fed_positions += self.lm_input.shape[1]
        return self._forward(self.lm_input)

    # ---- interleaved phase ------------------------------------------------------------------------
    def push(self, ids: Iterable[int]) -> List[int]:
        """Feed one text piece's token ids; returns the speech tokens emitted while doing so."""
        if self.finished:
            raise ValueError("bistream: text pushed after finish()")
        emitted: List[int] = []
        for t in ids:
            self.text_fed += 1
            emitted += self._push_one(int(t))
        return emitted

    def _push_one(self, tok: int) -> List[int]:
        m5, m15 = self.mix_text, self.mix_speech
        self.text_cache.append(tok)
        while self.prompt_speech:
            if len(self.text_cache) < m5:
                break
            self.lm_input = torch.cat([self.lm_input, self._text(self.text_cache[:m5]),
                                       self._speech(self.prompt_speech[:m15])], dim=1)
            self.text_cache, self.prompt_speech = self.text_cache[m5:], self.prompt_speech[m15:]
        if self.prompt_speech:
            return []
        after_fill = bool(self.out) and self.out[-1] == self.fill
        if after_fill or (not self.out and self.lm_input.shape[1] == 1):
            if len(self.text_cache) < m5:
                return []                                       # wait for more text
            text5 = self._text(self.text_cache[:m5])
            self.lm_input = text5 if after_fill else torch.cat([self.lm_input, text5], dim=1)
            self.text_cache = self.text_cache[m5:]
        return self._decode_until_fill()

    def _decode_until_fill(self) -> List[int]:
        emitted: List[int] = []
        sts = self.cfg.speech_token_size
        while True:
            logits = self._step()
            if self.next_fill != -1 and len(self.out) == self.next_fill:
                tok = self.fill
                self.next_fill += self.mix_speech + 1
                self.margins.append(float("inf"))
            else:
                masked = np.asarray(logits, dtype=np.float32).copy()
                keep = masked[self.fill]
                masked[sts:] = -np.inf                          # deviation: upstream masks sos and raises on the others
                masked[self.fill] = keep
                tok = self._sample(masked)
            self.logit_peaks.append(float(np.abs(np.asarray(logits, dtype=np.float32)).max()))
            if tok == self.fill:
                self.next_fill = len(self.out) + self.mix_speech + 1
            self.out.append(tok)
            if tok >= sts:                                       # only fill can get here
                return emitted
            emitted.append(tok)
            self.emitted += 1
            self.lm_input = self._speech([tok])

    def _sample(self, logits: np.ndarray) -> int:
        """The sampler's step (same token, same draws) and its stability margin."""
        tok, margin = sampling.ras_step_margin(logits, self.out, 0, 0, self.sampler.rng, **self.sampler.params)
        self.margins.append(float(margin))
        return tok

    # ---- final phase ------------------------------------------------------------------------------
    def max_len(self) -> int:
        cap = int(self.text_fed * self.cfg.max_token_text_ratio)
        return min(cap, int(self.max_tokens)) if self.max_tokens else cap

    def finish(self) -> List[int]:
        """The text has ended: ``lm_input + text cache + [task_id]``, then decode until a stop id."""
        if self.finished:
            return []
        self.finished = True
        cfg = self.cfg
        self.lm_input = torch.cat([self.lm_input, self._text(self.text_cache), self._speech([cfg.task_id])], dim=1)
        self.text_cache = []
        emitted: List[int] = []
        limit = self.max_len()
        while self.emitted < limit:
            logits = self._step()
            tok = self._sample(np.asarray(logits, dtype=np.float32))
            self.logit_peaks.append(float(np.abs(np.asarray(logits, dtype=np.float32)).max()))
            self.out.append(tok)
            if self.sampler.is_stop(tok):
                break
            emitted.append(tok)
            self.emitted += 1
            self.lm_input = self._speech([tok])
        return emitted


def bistream_tokens(llm, pieces: Iterable[Sequence[int]], prompt_ids: Sequence[int], prompt_speech: Sequence[int],
                    seed: int, **kw) -> List[int]:
    """All speech tokens of a bistream request whose text arrives as ``pieces`` (token id lists)."""
    b = BistreamLM(llm, prompt_ids, prompt_speech, seed, **kw)
    out: List[int] = []
    for p in pieces:
        out += b.push(p)
    return out + b.finish()
