"""Streaming without recompute: the incremental schedule of the flow and the vocoder (issue 11).

Upstream streams by re-running the flow over prompt + all tokens so far (chunk attention) and
HiFT over all mel so far, keeping only the new tail (spec §8, ``reference._stream_segment``).
This module is the PyTorch reference of doing the same work once per frame.  What is exactly
reusable, and why (docs/streaming.md has the derivation and the measurements):

* **DiT under the chunk mask.**  Query frame i attends key j iff ``j < (floor(i/C) + 1) C``
  (C = static_chunk_size = 50 frames, aligned at prompt frame 0).  The only other time-mixing
  part is the convolutional position embedding, which is causal (left pad 30, two k=31 convs,
  upstream ``CausalConvPositionEmbedding``).  Everything else is per frame.  So one DiT call's
  output at frame i depends on its inputs at frames ``< chunk_end(i)`` only.
* **The ODE.**  x_k = x_{k-1} + dt v(x_{k-1}), with the fixed noise indexed from frame 0 and the
  same t grid for every chunk, so x_k at frame i also depends only on inputs before chunk_end(i).
  Per ODE step and layer, the keys/values of finished chunks never change: they are cached
  (:class:`StepCache`) together with the position-embedding conv states (the last 30 inputs of
  each conv).  Both CFG slots are cached (slot 1 has mu = spks = cond = 0 but its x is the
  guided x, so it is as voice-dependent as slot 0 from step 2 on).
* **The flow encoder** (pre-lookahead conv): mu at token t depends on tokens t-2 .. t+3, so mel
  frames ``< 2(K - 3)`` depend on the prompt only; the chunks entirely below that
  (:func:`prompt_cache_frames`) are computed once per voice (the prompt cache).  The encoder
  itself costs nothing and is simply re-run over all tokens.
* **The final chunk.**  Upstream runs it with *full* attention over everything (prompt frames
  attend to generated ones), so nothing can be reused: ``exact`` recomputes the whole sequence
  once with the offline estimator, like upstream.  ``fast`` runs it chunk-causally from the
  caches (the distance is measured in docs/streaming.md).
* **The prompt's tail** (``fast`` only).  Under the chunk mask the frames of the attention chunk
  holding the prompt's end attend to the first generated frames, and the last prompt tokens' mu
  sees the first generated tokens, so ``exact`` computes that chunk with every request.  ``fast``
  encodes the prompt as if it stood alone instead - mu of the prompt tokens in the finalize form,
  every prompt frame attending to prompt frames only (:func:`isolated_prompt_mask`) - so the whole
  prompt is cached per voice and the first chunk runs only new frames through the DiT; its
  offline form is :func:`fast_offline_mel`.
* **The vocoder** is causal with a finite receptive field (every conv is causal; the two
  lookahead convs look right only; the ISTFT overlap is 16 samples), except for the NSF phase,
  a cumulative sum from sample 0: it is carried as its float64 running sum, which reproduces
  torch's CPU cumsum exactly (double accumulation, rounded per element), and the fixed source
  noise is indexed by absolute sample.  So each chunk runs HiFT on a window of the last
  :func:`hift_left_context_frames` + new frames and discards the samples the window's left edge
  influences (:class:`IncrementalVocoder`).

Modes (:func:`stream_segment`):

* ``recompute`` - upstream's loop (``reference._stream_segment``), kept for comparison;
* ``exact``     - same chunks as ``recompute`` within float32 parity: incremental chunk-attention
  chunks, then the final chunk by a full-attention recompute;
* ``fast``      - incremental everywhere, the final chunk chunk-causal, the prompt on its own.  Its mel
  does not depend on the emission schedule, so it may emit every attention chunk
  (``schedule="chunk"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .models.dit import DiT, apply_rope, chunk_mask, rope_freqs
from .models.flow import CausalMaskedDiffWithDiT, time_grid
from .models.hift import CausalHiFTGenerator

MODES = ("recompute", "exact", "fast")
SCHEDULES = ("upstream", "chunk")
# The ``chunk`` schedule emits the prompt's padding on its own when it is at least this many tokens:
# below that the first chunk would carry under ~0.15 s of audio once the vocoder keeps its lookahead
# frames back, not worth its own DiT pass. The C++ StreamSchedule::early_first_hop is the same value.
EARLY_FIRST_HOP = 5

__all__ = ["MODES", "SCHEDULES", "StepCache", "dit_incremental", "IncrementalFlow", "prompt_cache_frames",
           "isolated_prompt_mask", "fast_offline_mel",
           "hift_left_context_frames", "IncrementalVocoder", "stream_plan", "stream_segment",
           "kv_bytes_per_frame"]


# ---------------------------------------------------------------------------------------------
# the DiT, one ODE step over new frames with cached keys/values
# ---------------------------------------------------------------------------------------------

@dataclass
class StepCache:
    """Keys/values of every layer and the position-embedding conv states of the frames done, for
    one ODE step and both CFG slots.  keys/values: per layer [P, B, dim] (time-major, keys after
    RoPE); conv1/conv2: [B, dim, kernel - 1], the last inputs of the two causal convs (zeros at
    the start, which is their left padding)."""
    keys: List[torch.Tensor]
    values: List[torch.Tensor]
    conv1: torch.Tensor
    conv2: torch.Tensor

    @property
    def frames(self) -> int:
        return int(self.keys[0].shape[0]) if self.keys else 0

    @staticmethod
    def empty(dit: DiT, batch: int = 2, dtype=torch.float32) -> "StepCache":
        d, k = dit.cfg.dim, dit.cfg.conv_pos_kernel
        z = torch.zeros(0, batch, d, dtype=dtype)
        return StepCache([z] * dit.cfg.depth, [z] * dit.cfg.depth, torch.zeros(batch, d, k - 1, dtype=dtype),
                         torch.zeros(batch, d, k - 1, dtype=dtype))

    def extend(self, new: "StepCache") -> "StepCache":
        """The cache after ``new`` (the keys/values of the new frames and the new conv states)."""
        return StepCache([torch.cat([a, b], 0) for a, b in zip(self.keys, new.keys)],
                         [torch.cat([a, b], 0) for a, b in zip(self.values, new.values)], new.conv1, new.conv2)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.keys + self.values + [self.conv1, self.conv2])


def kv_bytes_per_frame(dit_cfg, n_timesteps: int = 10, batch: int = 2, bytes_per_value: int = 4) -> int:
    """Cache bytes per mel frame: layers x (K, V) x dim x CFG batch x ODE steps."""
    return dit_cfg.depth * 2 * dit_cfg.dim * batch * n_timesteps * bytes_per_value


def chunk_limits(first: int, count: int, chunk_size: int) -> torch.Tensor:
    """For absolute query frames first .. first+count-1: the exclusive key limit
    ``(floor(i / C) + 1) * C`` of the chunk mask."""
    idx = torch.arange(first, first + count)
    return (torch.div(idx, chunk_size, rounding_mode="floor") + 1) * chunk_size


def _conv_pos_incremental(cpe, h: torch.Tensor, cache: StepCache) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The causal conv position embedding on new frames h [B, S, dim] given the last kernel-1
    inputs of each conv: returns (embedding [B, S, dim], new conv1 state, new conv2 state)."""
    k1 = cpe.kernel - 1
    a = torch.cat([cache.conv1, h.transpose(1, 2)], dim=2)              # [B, dim, k-1 + S]
    h1 = cpe.conv1(a)                                                    # conv + Mish, [B, dim, S]
    b = torch.cat([cache.conv2, h1], dim=2)
    h2 = cpe.conv2(b)
    return h2.transpose(1, 2), a[:, :, a.shape[2] - k1:], b[:, :, b.shape[2] - k1:]


def dit_incremental(dit: DiT, x: torch.Tensor, mu: torch.Tensor, t: torch.Tensor, spks: torch.Tensor,
                    cond: torch.Tensor, cache: StepCache, chunk_size: Optional[int]
                    ) -> Tuple[torch.Tensor, StepCache]:
    """The DiT on S new frames at absolute positions P .. P+S-1 (P = cache.frames).

    x, mu, cond [B, 80, S]; t [B]; spks [B, 80].  New query frame i attends every cached frame and
    the new frames j with ``j < (floor(i/C) + 1) C`` (``chunk_size`` None: all new frames).
    Returns (velocity [B, 80, S], the new frames' cache entries: keys/values [S, B, dim] per layer
    and the new conv states).  Equals the rows P.. of :meth:`DiT.forward_chunked` over all P+S
    frames whenever the first P frames do not attend to the new ones, i.e. P is a multiple of C
    (or C is None and P = 0)."""
    cfg = dit.cfg
    p = cache.frames
    xt, mut, condt = x.transpose(1, 2), mu.transpose(1, 2), cond.transpose(1, 2)
    b, s = xt.shape[0], xt.shape[1]
    c = dit.time_embed(t)
    spk = spks[:, None, :].expand(-1, s, -1)
    h_in = dit.input_embed.proj(torch.cat([xt, condt, mut, spk], dim=-1))
    pos, conv1, conv2 = _conv_pos_incremental(dit.input_embed.conv_pos_embed, h_in, cache)
    h = pos + h_in
    freqs = rope_freqs(p + s, dit.rotary_embed.inv_freq)[p:]
    key_idx = torch.arange(p + s)
    if chunk_size is None:
        allowed = torch.ones(s, p + s, dtype=torch.bool)
    else:
        allowed = key_idx[None, :] < chunk_limits(p, s, chunk_size)[:, None]       # [S, P+S]
    heads, dh = cfg.heads, cfg.dim_head
    new_k, new_v = [], []
    for li, block in enumerate(dit.transformer_blocks):
        n, gate_msa, shift_mlp, scale_mlp, gate_mlp = block.attn_norm(h, c)
        a = block.attn
        q = apply_rope(a.to_q(n), freqs)
        k = apply_rope(a.to_k(n), freqs)
        v = a.to_v(n)
        new_k.append(k.transpose(0, 1))                                             # [S, B, dim]
        new_v.append(v.transpose(0, 1))
        k_all = torch.cat([cache.keys[li], new_k[-1]], 0).transpose(0, 1)           # [B, P+S, dim]
        v_all = torch.cat([cache.values[li], new_v[-1]], 0).transpose(0, 1)
        qh = q.view(b, s, heads, dh).transpose(1, 2)
        kh = k_all.reshape(b, p + s, heads, dh).transpose(1, 2)
        vh = v_all.reshape(b, p + s, heads, dh).transpose(1, 2)
        scores = torch.matmul(qh, kh.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
        scores = scores.masked_fill(~allowed, float("-inf"))
        o = torch.matmul(torch.softmax(scores, dim=-1), vh).transpose(1, 2).reshape(b, s, heads * dh)
        h = h + gate_msa.unsqueeze(1) * a.to_out[0](o)
        n2 = F.layer_norm(h, (h.shape[-1],), eps=1e-6) * (1 + scale_mlp[:, None]) + shift_mlp[:, None]
        h = h + gate_mlp.unsqueeze(1) * block.ff(n2)
    h = dit.norm_out(h, c)
    vel = dit.proj_out(h).transpose(1, 2)
    return vel, StepCache(new_k, new_v, conv1, conv2)


# ---------------------------------------------------------------------------------------------
# the ODE over new frames
# ---------------------------------------------------------------------------------------------

def prompt_cache_frames(n_prompt_tokens: int, chunk_size: int = 50, token_mel_ratio: int = 2,
                        pre_lookahead: int = 3) -> int:
    """Leading mel frames whose flow state depends on the voice only: whole attention chunks
    below frame ``ratio (K - lookahead)`` (mu at token t sees tokens up to t + lookahead, so the
    last prompt tokens' frames depend on the first generated tokens)."""
    clean = token_mel_ratio * (int(n_prompt_tokens) - pre_lookahead)
    return max(0, clean // chunk_size) * chunk_size


def ode_schedule(n_timesteps: int, scheduler: str = "cosine") -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """(t, dt) of every Euler step, accumulated exactly as ``CausalConditionalCFM.solve`` does
    (t += dt; dt = t_span[k + 1] - t) so that every chunk sees the same float32 values."""
    t_span = time_grid(n_timesteps, scheduler, torch.float32)
    t = t_span[0:1]
    dt = t_span[1] - t_span[0]
    out = []
    for step in range(1, n_timesteps + 1):
        out.append((t.clone(), dt.clone()))
        t = t + dt
        if step < n_timesteps:
            dt = t_span[step + 1] - t
    return out


class IncrementalFlow:
    """The CFM Euler/CFG solver advanced chunk by chunk with per-step caches.

    ``advance(mu, cond)`` integrates the next S frames (mu, cond [1, 80, S], the flow inputs of
    absolute frames P .. P+S-1; the noise is taken from the same frames) through all ODE steps and
    returns their final x [1, 80, S].  Every call but the last must end on a chunk boundary
    (frames already done never see later ones), except one with ``prompt_end`` (``fast``'s whole
    prompt): it may end mid-chunk and later frames may still follow, which its frames then never
    see.  ``attention`` None is full attention among the
    new frames (only valid from an empty cache: it is the offline solver)."""

    def __init__(self, flow: CausalMaskedDiffWithDiT, noise: torch.Tensor, spks: torch.Tensor,
                 n_timesteps: int = 10, cfg_rate: float = 0.7, chunk_size: Optional[int] = None,
                 kv_dtype: torch.dtype = torch.float32):
        self.dit = flow.decoder.estimator
        self.noise = noise
        self.spks = spks
        self.cfg_rate = float(cfg_rate)
        self.chunk = int(chunk_size if chunk_size is not None else self.dit.cfg.static_chunk_size)
        self.steps = ode_schedule(n_timesteps, flow.cfg.cfm.t_scheduler)
        self.kv_dtype = kv_dtype
        self.caches = [StepCache.empty(self.dit, 2, kv_dtype) for _ in self.steps]
        self.frames = 0
        self.closed = False                      # a call ended mid-chunk: no further frames
        self.whole_prompt = False                # built by build_prompt_flow(whole_prompt=True)

    def fork(self) -> "IncrementalFlow":
        """A copy sharing the cached tensors (they are never modified in place): the prompt cache
        of a voice is forked for each request."""
        other = object.__new__(IncrementalFlow)
        other.__dict__.update(self.__dict__)
        other.caches = list(self.caches)
        return other

    def cache_bytes(self) -> int:
        return sum(c.nbytes() for c in self.caches)

    def advance(self, mu: torch.Tensor, cond: torch.Tensor, prompt_end: bool = False) -> torch.Tensor:
        if self.closed:
            raise ValueError(f"the flow ended mid-chunk at frame {self.frames}; no frames can follow")
        s = mu.shape[2]
        p = self.frames
        if p + s > self.noise.shape[2]:
            raise ValueError(f"noise has {self.noise.shape[2]} frames, need {p + s}")
        x = self.noise[:, :, p:p + s].to(mu.dtype)
        mu_in = torch.cat([mu, torch.zeros_like(mu)], dim=0)
        cond_in = torch.cat([cond, torch.zeros_like(cond)], dim=0)
        spks_in = torch.cat([self.spks, torch.zeros_like(self.spks)], dim=0)
        cfg = self.cfg_rate
        with torch.no_grad():
            for k, (t, dt) in enumerate(self.steps):
                cache = self.caches[k]
                if self.kv_dtype != torch.float32:
                    cache = StepCache([c.float() for c in cache.keys], [c.float() for c in cache.values],
                                      cache.conv1, cache.conv2)
                v, new = dit_incremental(self.dit, torch.cat([x, x], 0), mu_in, torch.cat([t, t], 0), spks_in,
                                         cond_in, cache, self.chunk)
                if self.kv_dtype != torch.float32:
                    new = StepCache([c.to(self.kv_dtype) for c in new.keys], [c.to(self.kv_dtype) for c in new.values],
                                    new.conv1, new.conv2)
                self.caches[k] = self.caches[k].extend(new)
                v = (1.0 + cfg) * v[0:1] - cfg * v[1:2]
                x = x + dt * v
        self.frames = p + s
        if self.frames % self.chunk and not prompt_end:
            self.closed = True
        return x.float()


# ---------------------------------------------------------------------------------------------
# the vocoder on a sliding window
# ---------------------------------------------------------------------------------------------

def _resblock_left(kernels: Sequence[int], dilations: Sequence[Sequence[int]]) -> int:
    """Left receptive field in samples of the widest of a stage's ResBlocks: per dilation d a
    conv (k, d) then a conv (k, 1), all causal."""
    return max(sum((k - 1) * d + (k - 1) for d in ds) for k, ds in zip(kernels, dilations))


def hift_left_context_frames(cfg) -> int:
    """Mel frames of left context after which the generator's output no longer depends on where
    its input window starts (the causal convs' zero padding, the source STFT's reflect padding,
    the stage-3 reflection pad and the ISTFT's first frames all act at the window start).

    Conservative bound, walking the stages in output-sample units of each stage's rate:
    ``extent`` is how far (in mel frames) a window-start effect can reach after each part; the
    source branch enters every stage with its own extent (STFT edge + strided downsampling conv
    + its ResBlocks).  Verified by perturbation in python/tests/test_streaming.py."""
    rate = 1.0                                          # samples per mel frame at the current stage
    hop = cfg.istft_hop_len
    stft_rate = cfg.samples_per_frame / hop             # STFT frames per mel frame (120)
    extent = 0.0                                        # conv_pre only looks right
    down = [1] + list(cfg.upsample_rates[::-1][:-1])
    cum = list(np.cumprod(down)[::-1])
    for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes)):
        rate *= u
        extent += 1 + (k - 1) / rate                    # nearest upsampling (1 frame) + the causal conv
        if i == len(cfg.upsample_rates) - 1:
            extent += 1 / rate                          # ReflectionPad1d((1, 0))
        # source branch at this stage: STFT reflect edge (n_fft/2 samples), the (strided) conv and
        # its ResBlock, all measured from the window start
        stride = int(cum[i])
        src = (cfg.istft_n_fft / 2) / cfg.samples_per_frame + (2 * stride - 1 + stride) / stft_rate
        src += _resblock_left(cfg.source_resblock_kernel_sizes[i:i + 1],
                              cfg.source_resblock_dilation_sizes[i:i + 1]) / rate
        extent = max(extent, src)
        extent += _resblock_left(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes) / rate
    extent += 6 / rate                                  # conv_post (k = 7, causal)
    extent += cfg.istft_n_fft / cfg.samples_per_frame   # ISTFT overlap and its first-frame trim
    return int(math.ceil(extent))


def f0_left_context_frames(hift: CausalHiFTGenerator) -> int:
    """F0 at frame t sees mel frames t-8 .. t+3 (4 causal k=3 convs after the k=4 lookahead)."""
    convs = [hift.f0_predictor.condnet[i] for i in range(0, len(hift.f0_predictor.condnet), 2)]
    return sum(c.causal_padding for c in convs if c.causal_type == "left")


class IncrementalVocoder:
    """HiFT over growing mel without re-running it over everything.

    State: the mel so far (only the last left-context frames are ever read), the float64 running
    sum of the NSF phase increments (carried, as torch's CPU cumsum accumulates in double), f0 of
    the frames done, and the number of samples emitted.  ``push(mel, final)`` appends mel frames
    and returns the samples that upstream's ``hift.inference(all mel, finalize)`` would add:
    ``480 (T - 8)`` samples in total while streaming, ``480 T`` at the end."""

    def __init__(self, hift: CausalHiFTGenerator, noise_fn: Callable[[int], torch.Tensor],
                 left_context: Optional[int] = None):
        self.hift = hift
        self.cfg = hift.cfg
        self.noise_fn = noise_fn
        self.left = hift_left_context_frames(hift.cfg) if left_context is None else int(left_context)
        self.f0_left = f0_left_context_frames(hift)
        self.mel = torch.zeros(1, self.cfg.in_channels, 0)
        self.f0 = torch.zeros(1, 0)                       # f0 of frames 0 .. f0_done-1
        self.phase_sum = torch.zeros(1, 1, self.cfg.n_harmonic_channels, dtype=torch.float64)
        self.phase = torch.zeros(1, 0, self.cfg.n_harmonic_channels)   # float32 cumsum per frame
        self.emitted_frames = 0
        self.finished = False
        self.frames_processed = 0                          # generator work, in mel frames (for the bench)

    def _extend_f0(self, upto: int, final: bool) -> None:
        done = self.f0.shape[1]
        if upto <= done:
            return
        lo = max(0, done - self.f0_left)
        hi = self.mel.shape[2]
        f0 = self.hift.f0(self.mel[:, :, lo:hi], finalize=final)[:, done - lo:upto - lo]
        self.f0 = torch.cat([self.f0, f0], dim=1)
        # NSF phase increments, carried in float64 like torch's CPU cumsum (models/hift.py)
        harm = torch.arange(1, self.cfg.n_harmonic_channels + 1, dtype=f0.dtype)
        rad = (f0[:, :, None] * harm / self.cfg.sampling_rate) % 1
        cum = torch.cumsum(torch.cat([self.phase_sum, rad.to(torch.float64)], dim=1), dim=1)[:, 1:]
        self.phase_sum = cum[:, -1:]
        self.phase = torch.cat([self.phase, cum.to(f0.dtype)], dim=1)

    def _harmonics(self, lo: int, hi: int) -> torch.Tensor:
        """The NSF excitation of frames lo .. hi-1 ([1, 480 (hi - lo), 9]): ``CausalHiFTGenerator.harmonics``
        written per frame from the carried phase and the noise at absolute samples."""
        cfg = self.cfg
        up = cfg.samples_per_frame
        f0 = self.f0[:, lo:hi]
        phase = self.phase[:, lo:hi] * 2 * np.pi
        phase = phase * up
        sines = torch.sin(phase) * cfg.nsf_alpha
        uv = (f0[:, :, None] > cfg.nsf_voiced_threshold).to(f0.dtype)
        noise_amp = uv * cfg.nsf_sigma + (1 - uv) * cfg.nsf_alpha / 3
        noise = self.noise_fn(hi * up)[:, lo * up:hi * up].to(f0.dtype)
        rep = lambda z: z.repeat_interleave(up, dim=1)          # noqa: E731
        return rep(sines) * rep(uv) + rep(noise_amp) * noise

    def push(self, mel: torch.Tensor, final: bool = False) -> torch.Tensor:
        """Append mel [1, 80, S]; returns the new samples [N] (float32, clamped)."""
        if self.finished:
            raise ValueError("the vocoder was finalized")
        cfg = self.cfg
        with torch.no_grad():
            self.mel = torch.cat([self.mel, mel.float()], dim=2)
            t = self.mel.shape[2]
            la = cfg.f0_lookahead
            f0_end = t if final else t - la              # f0 frames upstream's pass has
            out_end = t if final else t - cfg.lookahead_frames
            if out_end <= self.emitted_frames:
                self.finished = final
                return torch.zeros(0)
            self._extend_f0(f0_end, final)
            w0 = max(0, self.emitted_frames - self.left)
            harm = self._harmonics(w0, f0_end)
            s_stft = self.hift.stft(self.hift.m_source(harm).transpose(1, 2))
            mel_g = self.mel[:, :, w0:f0_end]
            mag, ph = self.hift.decode(mel_g, s_stft, finalize=final)
            # the largest spectrum magnitude (clipped at 100, as the ISTFT sees it) over the window: the
            # scale of the waveform's float32 bound (goldens), an upper bound for the emitted part
            self.magnitude_peak = float(torch.clamp(mag, max=1e2).max())
            wav = self.hift.istft(mag, ph)
            if not final:
                wav = wav[:, :-cfg.samples_per_frame]
            wav = torch.clamp(wav, -cfg.audio_limit, cfg.audio_limit)[0]
            up = cfg.samples_per_frame
            new = wav[(self.emitted_frames - w0) * up:(out_end - w0) * up]
            self.frames_processed += f0_end - w0
            self.emitted_frames = out_end
            self.finished = final
            return new.clone()


# ---------------------------------------------------------------------------------------------
# schedules and the streaming driver
# ---------------------------------------------------------------------------------------------

def stream_plan(n_tokens: int, n_prompt_tokens: int, schedule: str = "upstream", pre_lookahead: int = 3,
                hop: int = 25, max_hop: int = 100, scale: int = 2) -> List[Dict[str, int]]:
    """The chunks a finished segment of ``n_tokens`` is emitted in: ``{offset, hop, token_end, final}``.

    ``upstream``: spec §8 (hop 25 + pad, then doubling to 100), = ``reference.stream_schedule``.
    ``chunk``: one attention chunk (``hop`` tokens) per emission: with incremental work there is no
    reason to grow the hop, and smaller hops keep playback fed.  The first emission ends at the first
    attention-chunk boundary after the prompt: the ``pad`` tokens alone, when there are at least
    ``EARLY_FIRST_HOP`` of them (those frames share their attention chunk only with the prompt's
    tail, so under the chunk mask they are final once the lookahead tokens exist), else 25 + pad
    as upstream.  The first audio then waits for pad + 3 tokens instead of 25 + pad + 3."""
    if schedule == "upstream":
        from .reference import stream_schedule
        return stream_schedule(n_tokens, n_prompt_tokens, pre_lookahead, hop, max_hop, scale)
    if schedule != "chunk":
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {', '.join(SCHEDULES)}")
    return stream_schedule_constant(n_tokens, n_prompt_tokens, pre_lookahead, hop)


def stream_schedule_constant(n_tokens: int, n_prompt_tokens: int, pre_lookahead: int = 3,
                             hop: int = 25, early_first_hop: int = None) -> List[Dict[str, int]]:
    """The ``chunk`` schedule (:func:`stream_plan`); ``early_first_hop`` 0 turns the early first
    emission off (the first hop is then 25 + pad, as upstream's)."""
    early = EARLY_FIRST_HOP if early_first_hop is None else early_first_hop
    pad = int(math.ceil(n_prompt_tokens / hop) * hop - n_prompt_tokens)
    first = pad if 0 < early <= pad else hop + pad
    out: List[Dict[str, int]] = []
    offset = 0
    while True:
        hop_now = first if offset == 0 else hop
        if n_tokens - offset >= hop_now + pre_lookahead:
            out.append({"offset": offset, "hop": hop_now, "token_end": offset + hop_now + pre_lookahead,
                        "final": False})
            offset += hop_now
        else:
            break
    out.append({"offset": offset, "hop": n_tokens - offset, "token_end": n_tokens, "final": True})
    return out


@dataclass
class StreamWork:
    """What a streamed segment cost: DiT frame-steps (frames x ODE steps, CFG batch included),
    vocoder generator frames, and the peak cache size."""
    dit_frames: int = 0
    vocoder_frames: int = 0
    cache_bytes: int = 0
    chunks: List[Dict] = field(default_factory=list)


def build_prompt_flow(flow: CausalMaskedDiffWithDiT, noise: torch.Tensor, prompt_tokens: torch.Tensor,
                      prompt_feat: torch.Tensor, embedding: torch.Tensor, n_timesteps: int = 10,
                      cfg_rate: float = 0.7, kv_dtype: torch.dtype = torch.float32,
                      whole_prompt: bool = False) -> IncrementalFlow:
    """The per-voice prompt cache: an :class:`IncrementalFlow` advanced over the voice-only
    chunks (:func:`prompt_cache_frames`, ``exact``), or with ``whole_prompt`` over every prompt
    frame with the prompt on its own (``fast``).  prompt_tokens [1, K] int, prompt_feat [1, 2K, 80],
    embedding [1, 192]."""
    with torch.no_grad():
        spks = flow.embed_speaker(embedding)
        inc = IncrementalFlow(flow, noise, spks, n_timesteps, cfg_rate, kv_dtype=kv_dtype)
        inc.whole_prompt = whole_prompt
        k = prompt_tokens.shape[1]
        if whole_prompt:
            p0 = flow.cfg.token_mel_ratio * k
            if prompt_feat.shape[1] != p0:
                raise ValueError(f"the whole-prompt cache needs {p0} prompt mel frames (2 per token), "
                                 f"got {prompt_feat.shape[1]}")
        else:
            p0 = prompt_cache_frames(k, inc.chunk, flow.cfg.token_mel_ratio, flow.cfg.pre_lookahead_len)
        if p0 > 0:
            mu = flow.encode_tokens(prompt_tokens.long(), finalize=True)[:, :, :p0]
            cond = prompt_feat[:, :p0].transpose(1, 2)
            inc.advance(mu, cond, prompt_end=whole_prompt)
        return inc


def isolated_prompt_mask(total: int, prompt_frames: int, chunk_size: int) -> torch.Tensor:
    """[T, T] bool, ``fast``'s attention: the chunk mask, except that prompt frames attend to
    prompt frames only (the prompt encoded as if it stood alone)."""
    m = chunk_mask(total, chunk_size)
    m[:prompt_frames, prompt_frames:] = False
    return m


def fast_offline_mel(flow: CausalMaskedDiffWithDiT, noise: torch.Tensor, tokens: Sequence[int],
                     prompt_tokens: np.ndarray, prompt_feat: np.ndarray, embedding: np.ndarray,
                     n_timesteps: int = 10, cfg_rate: float = 0.7) -> torch.Tensor:
    """What ``fast`` streaming computes, in one offline pass: the flow under
    :func:`isolated_prompt_mask`, with the prompt frames' mu from the prompt tokens alone (finalize
    form) and the rest from all tokens (finalize).  Returns the generated mel [1, 80, 2N]."""
    ptok = torch.from_numpy(np.asarray(prompt_tokens, dtype=np.int64))[None]
    pfeat = torch.from_numpy(np.ascontiguousarray(prompt_feat, dtype=np.float32))[None]
    emb = torch.from_numpy(np.asarray(embedding, dtype=np.float32))[None]
    with torch.no_grad():
        inp = flow.encode(torch.tensor([list(tokens)], dtype=torch.int32), ptok.int(), pfeat, emb, True)
        p = inp.mel_len1
        mu = inp.mu.clone()
        mu[:, :, :p] = flow.encode_tokens(ptok, finalize=True)[:, :, :p]
        mask = isolated_prompt_mask(mu.shape[2], p, flow.decoder.estimator.cfg.static_chunk_size)
        x = flow.decoder.solve(noise, mu, inp.mask, inp.spks, inp.cond, n_timesteps, cfg_rate, attn_mask=mask)
        return x[:, :, p:].float()


def stream_segment(flow: CausalMaskedDiffWithDiT, hift: CausalHiFTGenerator, noise: torch.Tensor,
                   hift_noise: Callable[[int], torch.Tensor], tokens: Sequence[int], prompt_tokens: np.ndarray,
                   prompt_feat: np.ndarray, embedding: np.ndarray, mode: str = "exact", schedule: str = "upstream",
                   n_timesteps: int = 10, cfg_rate: float = 0.7, prompt_flow: Optional[IncrementalFlow] = None,
                   work: Optional[StreamWork] = None, on_chunk: Optional[Callable[[Dict], None]] = None,
                   kv_dtype: torch.dtype = torch.float32) -> List[np.ndarray]:
    """One segment streamed incrementally (``exact`` or ``fast``; ``recompute`` lives in
    ``reference._stream_segment``).  Returns the emitted chunks (float32 arrays); their
    concatenation is the segment's waveform.  ``prompt_flow``: the voice's prompt cache
    (:func:`build_prompt_flow`), built here when None.  ``on_chunk`` receives each chunk's record
    (schedule entry, mel, samples) as soon as it is emitted."""
    if mode not in ("exact", "fast"):
        raise ValueError(f"stream_segment runs 'exact' or 'fast', got {mode!r}")
    ratio = flow.cfg.token_mel_ratio
    la = flow.cfg.pre_lookahead_len
    ptok = torch.from_numpy(np.asarray(prompt_tokens, dtype=np.int64))[None]
    pfeat = torch.from_numpy(np.ascontiguousarray(prompt_feat, dtype=np.float32))[None]
    emb = torch.from_numpy(np.asarray(embedding, dtype=np.float32))[None]
    k = ptok.shape[1]
    mel_len1 = pfeat.shape[1]
    whole_prompt = mode == "fast"
    if prompt_flow is None:
        prompt_flow = build_prompt_flow(flow, noise, ptok, pfeat, emb, n_timesteps, cfg_rate, kv_dtype=kv_dtype,
                                        whole_prompt=whole_prompt)
    elif getattr(prompt_flow, "whole_prompt", False) != whole_prompt:
        raise ValueError(f"stream mode {mode!r} needs a prompt cache built with whole_prompt={whole_prompt}")
    inc = prompt_flow.fork()
    voc = IncrementalVocoder(hift, hift_noise)
    work = work if work is not None else StreamWork()
    x_done = torch.zeros(1, flow.cfg.output_size, 0)     # final x of the frames after the prompt cache
    x_base = inc.frames
    plan = stream_plan(len(tokens), k, schedule, la)
    chunks: List[np.ndarray] = []

    def cond_for(lo: int, hi: int) -> torch.Tensor:
        c = torch.zeros(1, flow.cfg.output_size, hi - lo)
        a, b = lo, min(hi, mel_len1)
        if b > a:
            c[:, :, :b - a] = pfeat[0, a:b].transpose(0, 1)
        return c

    with torch.no_grad():
        for c in plan:
            final = c["final"]
            all_tok = torch.cat([ptok, torch.tensor([list(tokens[:c["token_end"]])], dtype=torch.int64)], dim=1)
            start = mel_len1 + ratio * c["offset"]              # first mel frame this chunk emits
            if final and mode == "exact":
                # upstream's final chunk: full attention over everything, nothing reusable
                inp = flow.encode(torch.tensor([list(tokens)], dtype=torch.int32), ptok.int(), pfeat, emb, True)
                x = flow.decoder.solve(noise, inp.mu, inp.mask, inp.spks, inp.cond, n_timesteps, cfg_rate,
                                       chunk_size=None)
                mel = x[:, :, start:]
                work.dit_frames += x.shape[2] * n_timesteps
            else:
                mu = flow.encode_tokens(all_tok, finalize=final)
                end = mu.shape[2]
                lo = inc.frames
                if end > lo:
                    x = inc.advance(mu[:, :, lo:end], cond_for(lo, end))
                    work.dit_frames += (end - lo) * n_timesteps
                    x_done = torch.cat([x_done, x], dim=2)
                mel = x_done[:, :, start - x_base:end - x_base]
                work.cache_bytes = max(work.cache_bytes, inc.cache_bytes())
            wav = voc.push(mel, final)
            new = wav.numpy().astype(np.float32)
            chunks.append(new)
            rec = dict(c, mel_frames=int(mel.shape[2]), samples=int(new.shape[0]), mel=mel[0].numpy().copy(),
                       wav=new, attention="full" if (final and mode == "exact") else "chunk",
                       magnitude_peak=getattr(voc, "magnitude_peak", 0.0))
            work.chunks.append({kk: vv for kk, vv in rec.items() if kk not in ("mel", "wav")})
            if on_chunk is not None:
                on_chunk(rec)
    work.vocoder_frames += voc.frames_processed
    return chunks
