"""``llm/llm.onnx`` (docs/bundle.md §3.1): the Qwen2 stack with a BSNH KV cache.

:class:`LlmStep` is the module that is traced.  It computes exactly what
``CosyVoice3LM.forward`` + ``logits`` compute for the last position, written for ONNX
Runtime's CPU provider:

* q/k/v and gate/up projections are each one MatMul over concatenated weights (one GEMV
  per layer instead of three/two when decoding);
* RMSNorm is written as ``x / sqrt(mean(x^2) + eps) * w``, the pattern ORT fuses into
  ``SimplifiedLayerNormalization``;
* RoPE tables and the causal mask are built once per call from the positions
  ``P .. P+S-1``, ``P`` taken from the shape of ``past_key_0``;
* grouped-query attention without repeating K/V: the ``rep = n_heads / n_kv`` query heads
  that share a KV head are stacked along the query axis, so the scores are one batched
  MatMul ``[1, n_kv, rep*S, hd] x [1, n_kv, hd, P+S]``;
* only the last position goes through the final norm and ``llm_decoder``.
"""

from __future__ import annotations

import math
from typing import List, Tuple

import torch
from torch import nn

from ..models.llm import CosyVoice3LM


def _rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    var = x.pow(2).mean(-1, keepdim=True)
    return x / torch.sqrt(var + eps) * w


class _Layer(nn.Module):
    def __init__(self, layer, n_heads: int, n_kv: int, head_dim: int):
        super().__init__()
        a, m = layer.self_attn, layer.mlp
        with torch.no_grad():
            self.w_qkv = nn.Parameter(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight], 0).t().contiguous(),
                                      requires_grad=False)
            self.b_qkv = nn.Parameter(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias], 0), requires_grad=False)
            self.w_o = nn.Parameter(a.o_proj.weight.t().contiguous(), requires_grad=False)
            self.w_gu = nn.Parameter(torch.cat([m.gate_proj.weight, m.up_proj.weight], 0).t().contiguous(),
                                     requires_grad=False)
            self.w_down = nn.Parameter(m.down_proj.weight.t().contiguous(), requires_grad=False)
        self.ln_in = layer.input_layernorm.weight
        self.ln_post = layer.post_attention_layernorm.weight
        self.eps = layer.input_layernorm.eps
        self.n_heads, self.n_kv, self.hd = n_heads, n_kv, head_dim
        self.inter = m.gate_proj.weight.shape[0]


class LlmStep(nn.Module):
    """forward(inputs_embeds [1,S,H], past_key_0, past_value_0, ...) ->
    (logits [1,V], new_key_0, new_value_0, ...), keys after RoPE, BSNH."""

    def __init__(self, lm: CosyVoice3LM):
        super().__init__()
        q = lm.cfg.qwen
        self.n_layers = q.num_hidden_layers
        self.n_heads, self.n_kv, self.hd = q.num_attention_heads, q.num_key_value_heads, q.head_dim
        self.rep = self.n_heads // self.n_kv
        self.layers = nn.ModuleList([_Layer(l, self.n_heads, self.n_kv, self.hd) for l in lm.qwen.layers])
        self.norm_w = lm.qwen.norm.weight
        self.eps = lm.qwen.norm.eps
        self.w_dec = nn.Parameter(lm.llm_decoder.weight.detach().t().contiguous(), requires_grad=False)
        inv = 1.0 / (q.rope_theta ** (torch.arange(0, self.hd, 2, dtype=torch.int64).to(torch.float32) / self.hd))
        self.register_buffer("inv_freq", inv, persistent=False)
        self.scale = 1.0 / math.sqrt(self.hd)

    def forward(self, inputs_embeds: torch.Tensor, *past: torch.Tensor):
        nh, nkv, hd, rep = self.n_heads, self.n_kv, self.hd, self.rep
        s = inputs_embeds.shape[1]
        p = past[0].shape[1]
        pos = torch.arange(s, dtype=torch.int64) + p                         # [S]
        freqs = pos.to(torch.float32)[:, None] * self.inv_freq[None, :]      # [S, hd/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos()[None, :, None, :]                                    # [1, S, 1, hd]
        sin = emb.sin()[None, :, None, :]
        key_pos = torch.arange(p + s, dtype=torch.int64)                     # [P+S]
        masked = key_pos[None, :] > pos[:, None]                             # [S, P+S]
        bias = torch.zeros(masked.shape, dtype=torch.float32).masked_fill(masked, float("-inf"))
        bias = bias.repeat(rep, 1)                                           # [rep*S, P+S], row r*S+i
        half = hd // 2
        x = inputs_embeds
        new: List[torch.Tensor] = []
        for i, L in enumerate(self.layers):
            h = _rms_norm(x, L.ln_in, L.eps)
            qkv = torch.matmul(h, L.w_qkv) + L.b_qkv
            q, k, v = torch.split(qkv, [nh * hd, nkv * hd, nkv * hd], dim=-1)
            q = q.reshape(1, -1, nh, hd)
            k = k.reshape(1, -1, nkv, hd)
            v = v.reshape(1, -1, nkv, hd)
            q = q * cos + torch.cat((-q[..., half:], q[..., :half]), dim=-1) * sin
            k = k * cos + torch.cat((-k[..., half:], k[..., :half]), dim=-1) * sin
            new += [k, v]
            k_all = torch.cat((past[2 * i], k), dim=1)                       # [1, P+S, nkv, hd]
            v_all = torch.cat((past[2 * i + 1], v), dim=1)
            # query head g*rep + r reads kv head g: [1, S, nkv, rep, hd] -> [1, nkv, rep*S, hd]
            qg = q.reshape(1, -1, nkv, rep, hd).permute(0, 2, 3, 1, 4).reshape(1, nkv, -1, hd)
            scores = torch.matmul(qg * self.scale, k_all.permute(0, 2, 3, 1)) + bias
            attn = torch.softmax(scores, dim=-1)
            o = torch.matmul(attn, v_all.permute(0, 2, 1, 3))                # [1, nkv, rep*S, hd]
            o = o.reshape(1, nkv, rep, -1, hd).permute(0, 3, 1, 2, 4).reshape(1, -1, nh * hd)
            x = x + torch.matmul(o, L.w_o)
            h = _rms_norm(x, L.ln_post, L.eps)
            g, u = torch.split(torch.matmul(h, L.w_gu), [L.inter, L.inter], dim=-1)
            x = x + torch.matmul(g * torch.sigmoid(g) * u, L.w_down)
        last = x[:, -1, :]                                                   # [1, H]
        logits = torch.matmul(_rms_norm(last, self.norm_w, self.eps), self.w_dec)
        return (logits.reshape(1, self.w_dec.shape[1]), *new)   # a constant shape: declared [1, V]


def io(lm: CosyVoice3LM) -> Tuple[List[str], List[str], dict]:
    """(input names, output names, declared shapes) of docs/bundle.md §3.1."""
    q = lm.cfg.qwen
    kv = [q.num_key_value_heads, q.head_dim]
    ins, outs = ["inputs_embeds"], ["logits"]
    shapes = {"inputs_embeds": [1, "S", q.hidden_size], "logits": [1, lm.cfg.speech_vocab_rows]}
    for i in range(q.num_hidden_layers):
        ins += [f"past_key_{i}", f"past_value_{i}"]
        outs += [f"new_key_{i}", f"new_value_{i}"]
        shapes.update({f"past_key_{i}": [1, "P"] + kv, f"past_value_{i}": [1, "P"] + kv,
                       f"new_key_{i}": [1, "S"] + kv, f"new_value_{i}": [1, "S"] + kv})
    return ins, outs, shapes


def example_inputs(lm: CosyVoice3LM, s: int = 3, p: int = 2, gen=None) -> tuple:
    q = lm.cfg.qwen
    x = torch.randn(1, s, q.hidden_size, generator=gen) * 0.02
    past = []
    for _ in range(q.num_hidden_layers):
        past += [torch.randn(1, p, q.num_key_value_heads, q.head_dim, generator=gen) for _ in range(2)]
    return (x, *past)
