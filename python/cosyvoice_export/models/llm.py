"""CosyVoice3 LLM: a Qwen2 decoder driven by ``inputs_embeds`` plus the speech tables.

Module names follow the released ``llm.pt`` keys (``llm.model.model.layers.{i}...``,
``llm.model.lm_head.weight``, ``llm_decoder.weight``, ``speech_embedding.weight``).

KV cache layout (chosen to match the planned ONNX graph): a list with one ``(k, v)`` pair
per layer, each tensor **BSNH** = ``[batch, past_len, n_kv_heads, head_dim]`` (e.g.
``[1, P, 2, 64]`` for the release), holding keys *after* RoPE.  ``past=None`` (or
``P = 0``) starts a sequence.  Positions are absolute: the new tokens get positions
``P .. P+S-1`` and attend causally to everything before them (spec §5.4).

Only eval-mode float32 inference is implemented.  torch 1.13 has neither
``F.scaled_dot_product_attention`` nor ``nn.RMSNorm``; both are written out here.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..hparams import LLMConfig, Qwen2Config

KVCache = List[Tuple[torch.Tensor, torch.Tensor]]

__all__ = ["KVCache", "RMSNorm", "Qwen2Attention", "Qwen2MLP", "Qwen2DecoderLayer", "Qwen2Model",
           "Qwen2ForCausalLM", "Qwen2Encoder", "CosyVoice3LM", "rope_cos_sin", "rotate_half"]


class RMSNorm(nn.Module):
    """Qwen2 RMSNorm: statistics in float32, ``weight * x / sqrt(mean(x^2) + eps)``."""

    def __init__(self, dim: int, eps: float, device=None):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim, device=device))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.to(torch.float32)
        var = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(var + self.eps)
        return self.weight * h.to(dtype)


def rope_cos_sin(positions: torch.Tensor, head_dim: int, theta: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Half-split RoPE tables for integer ``positions`` [S] -> cos, sin [S, head_dim] (float32).
    ``inv_freq_j = theta ** -(2j / head_dim)``; frequencies repeated as ``[f, f]`` halves."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim))
    freqs = positions.to(torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) on the two halves of the last dimension."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Qwen2Attention(nn.Module):
    def __init__(self, cfg: Qwen2Config, device=None):
        super().__init__()
        self.n_heads = cfg.num_attention_heads
        self.n_kv = cfg.num_key_value_heads
        self.head_dim = cfg.head_dim
        d = cfg.hidden_size
        self.q_proj = nn.Linear(d, self.n_heads * self.head_dim, bias=True, device=device)
        self.k_proj = nn.Linear(d, self.n_kv * self.head_dim, bias=True, device=device)
        self.v_proj = nn.Linear(d, self.n_kv * self.head_dim, bias=True, device=device)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, d, bias=False, device=device)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                past: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.n_heads, self.head_dim)
        k = self.k_proj(x).view(b, s, self.n_kv, self.head_dim)
        v = self.v_proj(x).view(b, s, self.n_kv, self.head_dim)
        c, sn = cos[None, :, None, :], sin[None, :, None, :]        # [1, S, 1, Dh]
        q = q * c + rotate_half(q) * sn
        k = k * c + rotate_half(k) * sn
        if past is not None:
            k = torch.cat([past[0], k], dim=1)
            v = torch.cat([past[1], v], dim=1)
        present = (k, v)                                              # BSNH
        p_len = k.shape[1] - s
        rep = self.n_heads // self.n_kv
        # GQA: query head h reads kv head h // rep
        kh = k.transpose(1, 2).repeat_interleave(rep, dim=1)         # [B, H, P+S, Dh]
        vh = v.transpose(1, 2).repeat_interleave(rep, dim=1)
        qh = q.transpose(1, 2)                                        # [B, H, S, Dh]
        scores = torch.matmul(qh, kh.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        # causal with absolute positions: query i (position p_len+i) sees keys j <= p_len+i
        qi = torch.arange(s, device=x.device)[:, None] + p_len
        kj = torch.arange(p_len + s, device=x.device)[None, :]
        scores = scores.masked_fill(kj > qi, float("-inf"))
        attn = torch.softmax(scores.to(torch.float32), dim=-1).to(qh.dtype)
        o = torch.matmul(attn, vh).transpose(1, 2).reshape(b, s, self.n_heads * self.head_dim)
        return self.o_proj(o), present


class Qwen2MLP(nn.Module):
    def __init__(self, cfg: Qwen2Config, device=None):
        super().__init__()
        d, m = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = nn.Linear(d, m, bias=False, device=device)
        self.up_proj = nn.Linear(d, m, bias=False, device=device)
        self.down_proj = nn.Linear(m, d, bias=False, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Qwen2DecoderLayer(nn.Module):
    def __init__(self, cfg: Qwen2Config, device=None):
        super().__init__()
        self.self_attn = Qwen2Attention(cfg, device)
        self.mlp = Qwen2MLP(cfg, device)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, device)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, device)

    def forward(self, x, cos, sin, past):
        h, present = self.self_attn(self.input_layernorm(x), cos, sin, past)
        x = x + h
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class Qwen2Model(nn.Module):
    def __init__(self, cfg: Qwen2Config, device=None):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size, device=device)
        self.layers = nn.ModuleList([Qwen2DecoderLayer(cfg, device) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, device)

    def forward(self, inputs_embeds: torch.Tensor, past: Optional[KVCache] = None) -> Tuple[torch.Tensor, KVCache]:
        s = inputs_embeds.shape[1]
        p_len = 0 if not past else past[0][0].shape[1]
        pos = torch.arange(p_len, p_len + s, device=inputs_embeds.device)
        cos, sin = rope_cos_sin(pos, self.cfg.head_dim, self.cfg.rope_theta)
        cos, sin = cos.to(inputs_embeds.dtype), sin.to(inputs_embeds.dtype)
        x = inputs_embeds
        presents: KVCache = []
        for i, layer in enumerate(self.layers):
            x, present = layer(x, cos, sin, past[i] if past else None)
            presents.append(present)
        return self.norm(x), presents


class Qwen2ForCausalLM(nn.Module):
    """Holds ``model`` and ``lm_head`` (tied to ``embed_tokens`` when the config says so;
    CosyVoice3 never uses ``lm_head``: it is here for the checkpoint's key set)."""

    def __init__(self, cfg: Qwen2Config, device=None):
        super().__init__()
        self.model = Qwen2Model(cfg, device)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False, device=device)
        self.tied = cfg.tie_word_embeddings
        self.tie_weights()

    def tie_weights(self) -> None:
        if self.tied:
            self.lm_head.weight = self.model.embed_tokens.weight


class Qwen2Encoder(nn.Module):
    def __init__(self, cfg: Qwen2Config, device=None):
        super().__init__()
        self.model = Qwen2ForCausalLM(cfg, device)


class CosyVoice3LM(nn.Module):
    """The LLM part of CosyVoice3.

    * :meth:`forward` runs the Qwen2 decoder on embeddings with an optional KV cache and
      returns the hidden states after the final RMSNorm.
    * :meth:`logits` applies ``llm_decoder`` (no bias) -> ``[..., 6761]``.
    * :meth:`embed_text` / :meth:`embed_speech` look up the two tables;
      :meth:`prompt_embeds` builds ``[sos] + text + [task_id] + prompt speech``.
    """

    def __init__(self, cfg: LLMConfig, device=None):
        super().__init__()
        self.cfg = cfg
        q = cfg.qwen
        # registration order = upstream's state_dict order: llm, llm_decoder, speech_embedding
        self.llm = Qwen2Encoder(q, device)
        self.llm_decoder = nn.Linear(cfg.llm_output_size, cfg.speech_vocab_rows, bias=False, device=device)
        self.speech_embedding = nn.Embedding(cfg.speech_vocab_rows, cfg.llm_input_size, device=device)
        self.eval()

    # names the checkpoint loader uses for the tie
    TIED_KEYS = {"llm.model.lm_head.weight": "llm.model.model.embed_tokens.weight"}

    @property
    def qwen(self) -> Qwen2Model:
        return self.llm.model.model

    def tie_weights(self) -> None:
        self.llm.model.tie_weights()

    def forward(self, inputs_embeds: torch.Tensor, past: Optional[KVCache] = None) -> Tuple[torch.Tensor, KVCache]:
        """``inputs_embeds`` [B, S, D], ``past`` per layer (k, v) [B, P, n_kv, Dh] or None
        -> (hidden after the final norm [B, S, D], new cache with P+S positions)."""
        return self.qwen(inputs_embeds, past)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.llm_decoder(hidden)

    def log_probs(self, hidden_last: torch.Tensor) -> torch.Tensor:
        """log_softmax over the 6761 speech classes (what upstream samples from)."""
        return torch.log_softmax(self.logits(hidden_last), dim=-1)

    def embed_text(self, ids: torch.Tensor) -> torch.Tensor:
        return self.qwen.embed_tokens(ids)

    def embed_speech(self, ids: torch.Tensor) -> torch.Tensor:
        return self.speech_embedding(ids)

    def prompt_embeds(self, text_ids: Sequence[int], prompt_speech_ids: Sequence[int] = ()) -> torch.Tensor:
        """``[E_s(sos)] ++ E_t(text_ids) ++ [E_s(task_id)] ++ E_s(prompt_speech_ids)`` -> [1, S, D]."""
        dev = self.speech_embedding.weight.device
        t = torch.as_tensor(list(text_ids), dtype=torch.long, device=dev)
        sp = torch.as_tensor(list(prompt_speech_ids), dtype=torch.long, device=dev)
        parts = [self.embed_speech(torch.tensor([self.cfg.sos], device=dev)),
                 self.embed_text(t),
                 self.embed_speech(torch.tensor([self.cfg.task_id], device=dev)),
                 self.embed_speech(sp)]
        return torch.cat(parts, dim=0)[None]
