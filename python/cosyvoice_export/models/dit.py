"""The DiT velocity estimator of the CosyVoice3 flow (spec §6.4, spec-verification §(7)).

Module names follow ``flow.pt`` under ``decoder.estimator.`` (e.g.
``transformer_blocks.{i}.attn.to_q``, ``ff.ff.0.0``, ``ff.ff.2``, ``rotary_embed.inv_freq``).
Dropout slots of the original ``nn.Sequential``/``ModuleList`` are kept as ``nn.Identity``
so that the indices in the key names stay the same.

Tensors are [B, C, T] at the interface and [B, T, C] inside.

Attention masks (bool, True = attend) are built by :func:`attention_mask`:

* offline: the key padding mask repeated over the queries (all true for B = 1);
* chunked (streaming): additionally ``j < (floor(i / C) + 1) * C`` with absolute frame
  indices, i.e. block-causal over chunks of C frames starting at frame 0.  Upstream's
  ``num_decoding_left_chunks`` is ignored there too (all left chunks are visible).

:meth:`DiT.forward` takes upstream's ``streaming`` flag (C = ``static_chunk_size``);
:meth:`DiT.forward_chunked` takes C explicitly (an int or a 0-d integer tensor, so an
ONNX graph can take it as an input); C >= T gives full attention.
"""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..hparams import DiTConfig

__all__ = ["DiT", "attention_mask", "chunk_mask", "rope_freqs", "apply_rope", "rotate_pairs",
           "timestep_features"]


def timestep_features(t: torch.Tensor, dim: int = 256, scale: float = 1000.0) -> torch.Tensor:
    """Sinusoidal features of the flow time t [B] -> [B, dim]: half = dim/2 frequencies
    ``exp(-j * ln(10000) / (half - 1))``; ``[sin(scale*t*f), cos(scale*t*f)]``."""
    half = dim // 2
    step = math.log(10000) / (half - 1)
    freqs = torch.exp(torch.arange(half, device=t.device).float() * -step)
    arg = scale * t.unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat((arg.sin(), arg.cos()), dim=-1)


def rope_freqs(seq_len: int, inv_freq: torch.Tensor) -> torch.Tensor:
    """x-transformers layout: angles [T, rot_dim] interleaved ``[f0, f0, f1, f1, ...]``."""
    t = torch.arange(seq_len, device=inv_freq.device).to(torch.float32)
    ang = t[:, None] * inv_freq[None, :].to(torch.float32)           # [T, rot_dim/2]
    return torch.stack((ang, ang), dim=-1).flatten(-2)


def rotate_pairs(x: torch.Tensor) -> torch.Tensor:
    """GPT-J pair rotation: (x[2j], x[2j+1]) -> (-x[2j+1], x[2j])."""
    pairs = x.unflatten(-1, (-1, 2))
    return torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)


def apply_rope(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Rotate the first ``rot_dim`` channels of x [B, T, C] (i.e. head 0 only when applied
    before the head split, as upstream does); channels >= rot_dim pass through."""
    rot = freqs.shape[-1]
    xr, xp = x[..., :rot], x[..., rot:]
    xr = xr * freqs.cos() + rotate_pairs(xr) * freqs.sin()
    return torch.cat((xr, xp), dim=-1)


def chunk_mask(size: int, chunk_size: Union[int, torch.Tensor], device=None) -> torch.Tensor:
    """[T, T] bool: query i may attend key j iff ``j < (floor(i / C) + 1) * C``."""
    idx = torch.arange(size, device=device)
    limit = (torch.div(idx, chunk_size, rounding_mode="floor") + 1) * chunk_size
    return idx[None, :] < limit[:, None]


def attention_mask(mask: torch.Tensor, chunk_size: Union[int, torch.Tensor, None]) -> torch.Tensor:
    """``mask`` [B, 1, T] (1 = valid frame) -> [B, 1, T, T] bool.  ``chunk_size`` None gives
    the offline (pad-mask only) form.  Rows with no visible key are set all-true, as
    upstream's ``add_optional_chunk_mask`` does (those rows are zeroed after attention)."""
    m = mask.bool()                                             # [B, 1, T]
    t = m.shape[-1]
    if chunk_size is None:
        full = m.expand(m.shape[0], t, t)
    else:
        full = m & chunk_mask(t, chunk_size, m.device)[None]
    empty = full.sum(dim=-1, keepdim=True) == 0
    full = full | empty
    return full.unsqueeze(1)


class _TimestepEmbedding(nn.Module):
    def __init__(self, cfg: DiTConfig, device=None):
        super().__init__()
        self.freq_dim = cfg.freq_embed_dim
        self.scale = cfg.time_scale
        self.time_mlp = nn.Sequential(nn.Linear(cfg.freq_embed_dim, cfg.dim, device=device), nn.SiLU(),
                                      nn.Linear(cfg.dim, cfg.dim, device=device))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.time_mlp(timestep_features(t, self.freq_dim, self.scale).to(t.dtype))


class _CausalConvPositionEmbedding(nn.Module):
    def __init__(self, cfg: DiTConfig, device=None):
        super().__init__()
        k, g, d = cfg.conv_pos_kernel, cfg.conv_pos_groups, cfg.dim
        self.kernel = k
        self.conv1 = nn.Sequential(nn.Conv1d(d, d, k, groups=g, device=device), nn.Mish())
        self.conv2 = nn.Sequential(nn.Conv1d(d, d, k, groups=g, device=device), nn.Mish())

    def forward(self, x: torch.Tensor) -> torch.Tensor:      # [B, T, C]
        h = x.transpose(1, 2)
        h = self.conv1(F.pad(h, (self.kernel - 1, 0)))
        h = self.conv2(F.pad(h, (self.kernel - 1, 0)))
        return h.transpose(1, 2)


class _InputEmbedding(nn.Module):
    def __init__(self, cfg: DiTConfig, device=None):
        super().__init__()
        self.proj = nn.Linear(cfg.mel_dim * 2 + cfg.mu_dim + cfg.spk_dim, cfg.dim, device=device)
        self.conv_pos_embed = _CausalConvPositionEmbedding(cfg, device)

    def forward(self, x, cond, mu, spks):                     # [B, T, C] each, spks [B, C]
        spk = spks[:, None, :].expand(-1, x.shape[1], -1)
        h = self.proj(torch.cat([x, cond, mu, spk], dim=-1))   # order: x, cond, mu, spk
        return self.conv_pos_embed(h) + h


class _RotaryEmbedding(nn.Module):
    def __init__(self, dim_head: int, base: float, device=None):
        super().__init__()
        # persistent buffer: flow.pt holds decoder.estimator.rotary_embed.inv_freq
        inv = 1.0 / (base ** (torch.arange(0, dim_head, 2).float() / dim_head))
        self.register_buffer("inv_freq", inv.to(device) if device is not None else inv)


class _AdaLayerNormZero(nn.Module):
    def __init__(self, dim: int, device=None):
        super().__init__()
        self.linear = nn.Linear(dim, dim * 6, device=device)

    def forward(self, x, emb):
        p = self.linear(F.silu(emb))
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = torch.chunk(p, 6, dim=1)
        x = F.layer_norm(x, (x.shape[-1],), eps=1e-6) * (1 + scale_msa[:, None]) + shift_msa[:, None]
        return x, gate_msa, shift_mlp, scale_mlp, gate_mlp


class _AdaLayerNormZeroFinal(nn.Module):
    def __init__(self, dim: int, device=None):
        super().__init__()
        self.linear = nn.Linear(dim, dim * 2, device=device)

    def forward(self, x, emb):
        scale, shift = torch.chunk(self.linear(F.silu(emb)), 2, dim=1)    # scale first
        return F.layer_norm(x, (x.shape[-1],), eps=1e-6) * (1 + scale)[:, None, :] + shift[:, None, :]


class _FeedForward(nn.Module):
    def __init__(self, dim: int, mult: float, device=None):
        super().__init__()
        inner = int(dim * mult)
        self.ff = nn.Sequential(
            nn.Sequential(nn.Linear(dim, inner, device=device), nn.GELU(approximate="tanh")),
            nn.Identity(),                       # dropout slot (index 1)
            nn.Linear(inner, dim, device=device))

    def forward(self, x):
        return self.ff(x)


class _Attention(nn.Module):
    def __init__(self, cfg: DiTConfig, device=None):
        super().__init__()
        inner = cfg.heads * cfg.dim_head
        self.heads = cfg.heads
        self.to_q = nn.Linear(cfg.dim, inner, device=device)
        self.to_k = nn.Linear(cfg.dim, inner, device=device)
        self.to_v = nn.Linear(cfg.dim, inner, device=device)
        self.to_out = nn.ModuleList([nn.Linear(inner, cfg.dim, device=device), nn.Identity()])

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q = apply_rope(self.to_q(x), freqs)      # RoPE before the head split: head 0 only
        k = apply_rope(self.to_k(x), freqs)
        v = self.to_v(x)
        dh = q.shape[-1] // self.heads
        q = q.view(b, t, self.heads, dh).transpose(1, 2)
        k = k.view(b, t, self.heads, dh).transpose(1, 2)
        v = v.view(b, t, self.heads, dh).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
        scores = scores.masked_fill(~attn_mask, float("-inf"))
        o = torch.matmul(torch.softmax(scores, dim=-1), v)
        o = o.transpose(1, 2).reshape(b, t, self.heads * dh)
        o = self.to_out[0](o)
        keep = attn_mask[:, 0, -1].unsqueeze(-1)                 # upstream: rows by the last query's mask
        return o.masked_fill(~keep, 0.0)


class _DiTBlock(nn.Module):
    def __init__(self, cfg: DiTConfig, device=None):
        super().__init__()
        self.attn_norm = _AdaLayerNormZero(cfg.dim, device)
        self.attn = _Attention(cfg, device)
        self.ff = _FeedForward(cfg.dim, cfg.ff_mult, device)

    def forward(self, x, c, attn_mask, freqs):
        h, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.attn_norm(x, c)
        x = x + gate_msa.unsqueeze(1) * self.attn(h, attn_mask, freqs)
        h = F.layer_norm(x, (x.shape[-1],), eps=1e-6) * (1 + scale_mlp[:, None]) + shift_mlp[:, None]
        return x + gate_mlp.unsqueeze(1) * self.ff(h)


class DiT(nn.Module):
    def __init__(self, cfg: DiTConfig, device=None):
        super().__init__()
        self.cfg = cfg
        self.time_embed = _TimestepEmbedding(cfg, device)
        self.input_embed = _InputEmbedding(cfg, device)
        self.rotary_embed = _RotaryEmbedding(cfg.dim_head, cfg.rope_base, device)
        self.transformer_blocks = nn.ModuleList([_DiTBlock(cfg, device) for _ in range(cfg.depth)])
        self.norm_out = _AdaLayerNormZeroFinal(cfg.dim, device)
        self.proj_out = nn.Linear(cfg.dim, cfg.mel_dim, device=device)
        self.eval()

    def forward(self, x: torch.Tensor, mask: torch.Tensor, mu: torch.Tensor, t: torch.Tensor,
                spks: torch.Tensor, cond: torch.Tensor, streaming: bool = False) -> torch.Tensor:
        """Upstream's signature: x, mu, cond [B, 80, T]; mask [B, 1, T]; t [B] (or 0-d);
        spks [B, 80] -> velocity [B, 80, T].  ``streaming`` uses C = static_chunk_size."""
        return self.forward_chunked(x, mask, mu, t, spks, cond,
                                    self.cfg.static_chunk_size if streaming else None)

    def forward_chunked(self, x: torch.Tensor, mask: torch.Tensor, mu: torch.Tensor, t: torch.Tensor,
                        spks: torch.Tensor, cond: torch.Tensor,
                        chunk_size: Union[int, torch.Tensor, None],
                        attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Like :meth:`forward` with an explicit attention chunk C (frames); None or C >= T
        means full attention.  ``attn_mask`` [T, T] bool (True = attend) replaces the chunk mask
        (the reference of ``fast`` streaming's prompt, which attends to prompt frames only)."""
        x, mu, cond = x.transpose(1, 2), mu.transpose(1, 2), cond.transpose(1, 2)
        b, seq_len = x.shape[0], x.shape[1]
        if t.ndim == 0:
            t = t.repeat(b)
        c = self.time_embed(t)
        h = self.input_embed(x, cond, mu, spks)
        freqs = rope_freqs(seq_len, self.rotary_embed.inv_freq)
        if attn_mask is None:
            attn_mask = attention_mask(mask, chunk_size)
        else:
            attn_mask = (mask.bool().expand(b, seq_len, seq_len) & attn_mask[None]).unsqueeze(1)
        for block in self.transformer_blocks:
            h = block(h, c, attn_mask, freqs)
        h = self.norm_out(h, c)
        return self.proj_out(h).transpose(1, 2)
