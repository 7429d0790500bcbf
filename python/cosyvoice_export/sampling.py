"""Seeded RNG and the repetition-aware (RAS) speech-token sampler of the reference pipeline.

Upstream CosyVoice3 samples with ``torch.multinomial`` on the global torch RNG, which no other
runtime can reproduce.  This project therefore *defines* its own sampler, implemented here and
re-implemented bit-for-bit by the C++ engine; the exact definition is in docs/determinism.md and is
summarised in the docstrings below.  Everything is plain Python (ints with 64-bit masking, floats
that are IEEE doubles, ``math.exp``), so the arithmetic is the same as C++ ``uint64_t``/``double``
code that evaluates the same expressions in the same order.

Public API
    SplitMix64(seed).next_u64()
    Xoshiro256StarStar(seed) / .from_state(s) : next_u64(), next_double(), state
    categorical(weights, rng) -> int
    ras_step(logits, decoded, step, min_len, rng, *, params..., trace=None) -> int
    RasSampler(seed, ...).step(logits, decoded, step, min_len) -> int
    is_stop_token(tok, speech_token_size=6561) -> bool
    length_limits(n_tts_text_tokens, min_ratio=2, max_ratio=20) -> (min_len, max_len)
    SilentTokenFilter(max_run=5).push(tok) -> bool
    decode_loop(next_logits, min_len, max_len, sampler) -> generator of emitted tokens
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

MASK64 = (1 << 64) - 1

# CosyVoice3 speech vocabulary: 6561 FSQ codes, then 200 special ids (sos 6561, eos 6562,
# task_id 6563, fill 6564, 6565..6760 reserved).  Every id >= 6561 stops decoding.
SPEECH_TOKEN_SIZE = 6561
SPEECH_VOCAB_SIZE = 6561 + 200

# yaml: sampling = ras_sampling(top_p=0.8, top_k=25, win_size=10, tau_r=0.1)
DEFAULT_TOP_P = 0.8
DEFAULT_TOP_K = 25
DEFAULT_WIN_SIZE = 10
DEFAULT_TAU_R = 0.1

# cosyvoice/cli/model.py: silent_tokens and max_silent_token_num
SILENT_TOKENS = (1, 2, 28, 29, 55, 248, 494, 2241, 2242, 2322, 2323)
MAX_SILENT_RUN = 5


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


class SplitMix64:
    """Vigna's splitmix64.c: state += 0x9e3779b97f4a7c15, then the two xor-shift-multiply rounds."""

    def __init__(self, seed: int):
        self.state = seed & MASK64

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


class Xoshiro256StarStar:
    """xoshiro256** 1.0 (Blackman & Vigna) seeded with 4 successive SplitMix64 outputs of the seed.

    ``next_double()`` = ``(next_u64() >> 11) * 2**-53``: a double in [0, 1) with 53 random bits.
    """

    __slots__ = ("s", "draws")

    def __init__(self, seed: int):
        sm = SplitMix64(seed)
        self.s = [sm.next_u64() for _ in range(4)]
        self.draws = 0  # number of next_u64() calls so far (diagnostics only)

    @classmethod
    def from_state(cls, state: Sequence[int]) -> "Xoshiro256StarStar":
        if len(state) != 4:
            raise ValueError("xoshiro256** state must have 4 words, got %d" % len(state))
        if all((w & MASK64) == 0 for w in state):
            raise ValueError("xoshiro256** state must not be all zero")
        r = cls.__new__(cls)
        r.s = [int(w) & MASK64 for w in state]
        r.draws = 0
        return r

    @property
    def state(self) -> tuple:
        return tuple(self.s)

    def next_u64(self) -> int:
        s = self.s
        result = (_rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        self.draws += 1
        return result

    def next_double(self) -> float:
        # (x >> 11) < 2**53 is exactly representable; the product is an exact scaling.
        return (self.next_u64() >> 11) * (1.0 / 9007199254740992.0)


def categorical(weights: Sequence[float], rng: Xoshiro256StarStar) -> int:
    """Draw index i with probability w_i / sum(w), consuming exactly one double.

    total = sequential float64 sum of w (index order); u = next_double() * total;
    return the first i whose running float64 prefix sum is > u; if there is none (rounding),
    return the last i with w_i > 0.  Weights must be finite and >= 0 with a positive total.
    """
    total = 0.0
    for w in weights:
        total += w
    if not (total > 0.0) or math.isinf(total):
        raise ValueError("categorical draw needs finite non-negative weights with a positive sum (sum=%r)" % total)
    u = rng.next_double() * total
    run = 0.0
    for i, w in enumerate(weights):
        run += w
        if run > u:
            return i
    for i in range(len(weights) - 1, -1, -1):
        if weights[i] > 0.0:
            return i
    raise AssertionError("unreachable: positive total but no positive weight")


def softmax64(logits: Iterable[float]) -> List[float]:
    """Float64 softmax: subtract the max, math.exp each, divide each by the sequential sum."""
    xs = [float(x) for x in logits]  # float32 -> float64 is exact
    for x in xs:
        if math.isnan(x):
            raise ValueError("NaN in logits")
    m = max(xs)
    if m == -math.inf:
        raise ValueError("all logits are -inf")
    if m == math.inf:
        raise ValueError("+inf in logits")
    e = [math.exp(x - m) for x in xs]  # exp(-inf) == 0.0
    total = 0.0
    for v in e:
        total += v
    return [v / total for v in e]


def is_stop_token(tok: int, speech_token_size: int = SPEECH_TOKEN_SIZE) -> bool:
    """Any id >= speech_token_size (6561..6760 for CosyVoice3) stops decoding and is not emitted."""
    return tok >= speech_token_size


def _step_distribution(logits, step: int, min_len: int, speech_token_size: int):
    """(masked float64 logits, their softmax, ids by descending probability then id) for one step.
    The definition is on float32 logits: round whatever comes in to float32, then widen exactly;
    below min_len the stop ids (>= speech_token_size) are masked."""
    xs = np.asarray(logits, dtype=np.float32).reshape(-1).astype(np.float64).tolist()
    if step < min_len:
        for j in range(speech_token_size, len(xs)):
            xs[j] = -math.inf
    p = softmax64(xs)
    return xs, p, sorted(range(len(xs)), key=lambda j: (-p[j], j))


def ras_step(logits, decoded: Sequence[int], step: int, min_len: int, rng: Xoshiro256StarStar, *,
             top_p: float = DEFAULT_TOP_P, top_k: int = DEFAULT_TOP_K, win_size: int = DEFAULT_WIN_SIZE,
             tau_r: float = DEFAULT_TAU_R, speech_token_size: int = SPEECH_TOKEN_SIZE,
             trace: Optional[dict] = None) -> int:
    """One repetition-aware sampling step; consumes 1 or 2 doubles of ``rng``.

    logits: the scores of one step, length V (6761), taken as float32 (other inputs are rounded to
    float32 first).  Log-probabilities work equally (softmax is shift invariant).  decoded: the tokens emitted so far (never prompt tokens).
    (a) step < min_len: every id >= speech_token_size gets -inf (upstream HEAD masks only 6561;
        this deliberately blocks every stop id, as before upstream commit 0e62489).
    (b) p = softmax64(logits).
    (c) nucleus: order ids by p descending, ties by lower id; walk it taking an id while
        cum < top_p and count < top_k, then cum += p; categorical draw over the kept p in that order.
    (d) rep = occurrences of the drawn id in decoded[-win_size:]; if rep >= win_size * tau_r,
        set its p to 0 and, if the remaining total is > 0, draw again over all p in id order.
    """
    _, p, order = _step_distribution(logits, step, min_len, speech_token_size)
    kept_ids: List[int] = []
    kept_p: List[float] = []
    cum = 0.0
    for j in order:
        if cum < top_p and len(kept_ids) < top_k:
            kept_ids.append(j)
            kept_p.append(p[j])
            cum += p[j]
        else:
            break
    tok = kept_ids[categorical(kept_p, rng)]
    nucleus_tok = tok

    window = list(decoded[-win_size:]) if win_size > 0 else []
    rep = sum(1 for t in window if t == tok)
    fallback = rep >= win_size * tau_r
    if fallback:
        w = list(p)
        w[tok] = 0.0
        total = 0.0
        for v in w:
            total += v
        if total > 0.0:
            tok = categorical(w, rng)
    if trace is not None:
        trace.update(kept=kept_ids, nucleus_token=nucleus_tok, rep=rep, fallback=fallback, token=tok)
    return tok


def _draw_margin(weights: Sequence[float], r: float) -> Tuple[int, float]:
    """The index a categorical draw with uniform ``r`` picks from ``weights`` and how far, in logit
    units, the weights' logits may move before the draw can change: the running fraction
    q = R_j / T of a boundary j moves by at most 4 delta q (1 - q) when every logit moves by <= delta
    (first order: R_j and T - R_j each change by a factor within e^(+-2 delta))."""
    total = 0.0
    for w in weights:
        total += w
    run, idx = 0.0, None
    margin = math.inf
    for i, w in enumerate(weights):
        before = run / total
        run += w
        q = run / total
        if idx is None and run > r * total:
            idx = i
            for b in (before, q):          # the two boundaries bracketing r
                if 0.0 < b < 1.0:
                    margin = min(margin, abs(b - r) / (4.0 * b * (1.0 - b)))
    if idx is None:
        idx = max(i for i, w in enumerate(weights) if w > 0.0)
    return idx, margin


def ras_step_margin(logits, decoded: Sequence[int], step: int, min_len: int, rng: Xoshiro256StarStar, *,
                    top_p: float = DEFAULT_TOP_P, top_k: int = DEFAULT_TOP_K, win_size: int = DEFAULT_WIN_SIZE,
                    tau_r: float = DEFAULT_TAU_R, speech_token_size: int = SPEECH_TOKEN_SIZE) -> Tuple[int, float]:
    """:func:`ras_step` (same token, same draws from ``rng``) plus its *stability margin*: the largest
    delta such that moving every logit by at most delta cannot change the token (to first order).

    Another implementation whose logits differ from these by less than the margin at every step
    samples the same sequence; where a difference reaches the margin, the sequences may part
    legitimately (a near tie; docs/determinism.md §8). The margin is the minimum over what decides
    the step: the draw's position between its two bracketing boundaries (:func:`_draw_margin`), the
    order of the drawn id and its neighbours in the sorted list (half their logit gap), the nucleus
    cut ``cum < top_p`` (|cum - top_p| / (2 cum)), and the fallback draw when one happens."""
    xs, p, order = _step_distribution(logits, step, min_len, speech_token_size)
    V = len(xs)
    kept_ids: List[int] = []
    kept_p: List[float] = []
    cum = 0.0
    margin = math.inf
    for j in order:
        if cum < top_p and len(kept_ids) < top_k:
            if cum > 0.0:
                margin = min(margin, abs(cum - top_p) / (2.0 * cum))
            kept_ids.append(j)
            kept_p.append(p[j])
            cum += p[j]
        else:
            break
    if len(kept_ids) < top_k:
        margin = min(margin, abs(cum - top_p) / (2.0 * cum))
    k, m = _draw_margin(kept_p, rng.next_double())
    margin = min(margin, m)
    for a in (k - 1, k):                     # the drawn id against its neighbours in the order
        if a >= 0 and a + 1 < min(len(kept_ids) + 1, V) and math.isfinite(xs[order[a + 1]]):
            margin = min(margin, (xs[order[a]] - xs[order[a + 1]]) / 2.0)
    tok = kept_ids[k]
    window = list(decoded[-win_size:]) if win_size > 0 else []
    if sum(1 for t in window if t == tok) >= win_size * tau_r:
        w = list(p)
        w[tok] = 0.0
        if sum(w) > 0.0:
            tok, m = _draw_margin(w, rng.next_double())
            margin = min(margin, m)
    return tok, margin


def replay_margins(logits, tokens: Sequence[int], stop: Optional[int], seed: int, min_len: int,
                   **params) -> List[float]:
    """The stability margin of every step of a decode that sampled ``tokens`` (then ``stop``, if any)
    from ``logits`` [steps, V] with ``seed``; raises if the replay does not sample the same."""
    rng = Xoshiro256StarStar(seed)
    want = list(tokens) + ([stop] if stop is not None else [])
    margins: List[float] = []
    for i, row in enumerate(logits):
        tok, m = ras_step_margin(row, list(tokens[:i]), i, min_len, rng, **params)
        if i >= len(want) or tok != want[i]:
            raise ValueError(f"replay differs at step {i}: sampled {tok}, expected {want[i] if i < len(want) else None}")
        margins.append(m)
    return margins


class RasSampler:
    """A xoshiro256** stream plus the RAS parameters; ``step`` is :func:`ras_step`."""

    def __init__(self, seed: int, *, top_p: float = DEFAULT_TOP_P, top_k: int = DEFAULT_TOP_K,
                 win_size: int = DEFAULT_WIN_SIZE, tau_r: float = DEFAULT_TAU_R,
                 speech_token_size: int = SPEECH_TOKEN_SIZE):
        self.rng = Xoshiro256StarStar(seed)
        self.params = dict(top_p=top_p, top_k=top_k, win_size=win_size, tau_r=tau_r,
                           speech_token_size=speech_token_size)

    def step(self, logits, decoded: Sequence[int], step: int, min_len: int, trace: Optional[dict] = None) -> int:
        return ras_step(logits, decoded, step, min_len, self.rng, trace=trace, **self.params)

    def is_stop(self, tok: int) -> bool:
        return is_stop_token(tok, self.params["speech_token_size"])


def length_limits(n_tts_text_tokens: int, min_ratio: float = 2, max_ratio: float = 20):
    """(min_len, max_len) = (int(n * min_ratio), int(n * max_ratio)), n = tts_text tokens only.

    The prompt text (zero-shot transcript, instruct2 instruction) does not count; in cross-lingual
    mode the system prompt is part of tts_text and does count (upstream llm.py)."""
    n = int(n_tts_text_tokens)
    if n < 0:
        raise ValueError("negative token count")
    return int(n * min_ratio), int(n * max_ratio)


class SilentTokenFilter:
    """Upstream llm_job's silent-token run limit, applied to the tokens sent to the flow.

    The counter increments on every silent token and resets on a non-silent one; a token is
    dropped while the counter is > max_run (so the first 5 of a run are kept).  The LLM itself
    still saw the dropped tokens (they stay in its ``decoded`` history)."""

    def __init__(self, max_run: int = MAX_SILENT_RUN, silent_tokens: Iterable[int] = SILENT_TOKENS):
        self.max_run = max_run
        self.silent = frozenset(int(t) for t in silent_tokens)
        self.run = 0

    def push(self, tok: int) -> bool:
        """Feed one emitted token; True if it is passed on to the flow."""
        if tok in self.silent:
            self.run += 1
            return self.run <= self.max_run
        self.run = 0
        return True

    def filter(self, tokens: Iterable[int]) -> List[int]:
        return [t for t in tokens if self.push(t)]


def decode_loop(next_logits: Callable[[Optional[int]], Sequence[float]], min_len: int, max_len: int,
                sampler: RasSampler) -> Iterator[int]:
    """The upstream decode loop around the sampler (spec §5.4).

    ``next_logits(prev)`` returns the step's logits; ``prev`` is None at step 0 (prefill) and the
    previously emitted token afterwards.  Runs at most max_len steps; a stop id ends the loop and
    is not yielded.  Yields every emitted token (apply SilentTokenFilter to what goes to the flow).
    """
    out: List[int] = []
    prev: Optional[int] = None
    for i in range(max_len):
        tok = sampler.step(next_logits(prev), out, i, min_len)
        if sampler.is_stop(tok):
            return
        yield tok
        out.append(tok)
        prev = tok
