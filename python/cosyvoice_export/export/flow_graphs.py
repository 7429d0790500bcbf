"""``flow/flow_encoder.onnx`` (§3.2) and ``flow/flow_estimator.onnx`` (§3.3).

:class:`FlowEncoder` is the token encoder in its "finalize" form (3 zero frames of right
context) plus the speaker projection; it reuses the reference modules and only writes the
x2 frame repetition as expand+reshape (``repeat_interleave`` traces badly).

:class:`FlowEstimator` is the DiT with the attention mask built in-graph from the
``attention_chunk`` input: query i may attend key j iff ``j < (floor(i/c) + 1) * c`` with
``c = max(attention_chunk, 1)``; any ``c >= T`` is full attention.  The mask is an
additive bias (0 / -inf) computed once per call.  Every frame is valid (the engine never pads),
so the reference's padding mask and its "zero the rows the last query cannot see" step are
identities and are left out.  RoPE (x-transformers layout) is applied to the first
``dim_head`` channels of q and k, i.e. head 0 only, as upstream does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..models.dit import DiT, rope_freqs
from ..models.flow import CausalMaskedDiffWithDiT


class FlowEncoder(nn.Module):
    """forward(token int64 [1, L], embedding [1, 192]) -> (mu [1, 80, ratio*L], spks [1, 80])."""

    def __init__(self, flow: CausalMaskedDiffWithDiT):
        super().__init__()
        self.flow = flow
        self.ratio = flow.cfg.token_mel_ratio
        self.channels = flow.cfg.input_size

    def forward(self, token: torch.Tensor, embedding: torch.Tensor):
        f = self.flow
        spks = f.embed_speaker(embedding)
        e = f.input_embedding(torch.clamp(token, min=0))                  # [1, L, 80]
        h = f.pre_lookahead_layer(e)                                      # finalize: zero right context
        b, t, c = h.shape
        h = h.unsqueeze(2).expand(b, t, self.ratio, c).reshape(1, -1, self.channels)
        return h.transpose(1, 2), spks


class FlowEstimator(nn.Module):
    """forward(x, mu, t, spks, cond, attention_chunk) -> velocity [B, 80, T]."""

    def __init__(self, dit: DiT):
        super().__init__()
        self.dit = dit
        self.heads = dit.cfg.heads
        self.dim_head = dit.cfg.dim_head
        self.dim = dit.cfg.dim
        # explicit unit scale / zero shift: torch 1.13's opset-17 layer_norm leaves the required
        # Scale input of LayerNormalization empty when there is no weight
        self.register_buffer("ln_w", torch.ones(self.dim), persistent=False)
        self.register_buffer("ln_b", torch.zeros(self.dim), persistent=False)

    def _ln(self, x):
        # the reference passes (x.shape[-1],), which the tracer cannot keep constant
        return F.layer_norm(x, (self.dim,), self.ln_w, self.ln_b, eps=1e-6)

    def forward(self, x, mu, t, spks, cond, attention_chunk):
        d = self.dit
        x, mu, cond = x.transpose(1, 2), mu.transpose(1, 2), cond.transpose(1, 2)   # [B, T, C]
        n = x.shape[1]
        # c >= T gives floor(i/c) = 0 and a limit c >= T for every row: full attention, so
        # min(attention_chunk, T) need not be taken explicitly
        c = torch.clamp(attention_chunk, min=1)
        idx = torch.arange(n, dtype=torch.int64)
        limit = (torch.div(idx, c, rounding_mode="floor") + 1) * c
        blocked = idx[None, :] >= limit[:, None]                                       # [T, T]
        bias = torch.zeros(blocked.shape, dtype=torch.float32).masked_fill(blocked, float("-inf"))
        freqs = rope_freqs(n, d.rotary_embed.inv_freq)                                 # [T, dim_head]
        cos, sin = freqs.cos(), freqs.sin()
        emb = d.time_embed(t)
        h = d.input_embed(x, cond, mu, spks)
        for block in d.transformer_blocks:
            h = self._block(block, h, emb, bias, cos, sin)
        scale, shift = torch.chunk(d.norm_out.linear(F.silu(emb)), 2, dim=1)          # scale first
        h = self._ln(h) * (1 + scale)[:, None, :] + shift[:, None, :]
        return d.proj_out(h).transpose(1, 2)

    def _rope(self, x, cos, sin):
        r = self.dim_head                      # rotary width = dim_head channels, i.e. head 0
        xr = x[..., :r]
        pairs = xr.reshape(x.shape[0], -1, r // 2, 2)                     # GPT-J pairs (x[2j], x[2j+1])
        rot = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).reshape(x.shape[0], -1, r)
        return torch.cat((xr * cos + rot * sin, x[..., r:]), dim=-1)

    def _block(self, block, x, emb, bias, cos, sin):
        p = block.attn_norm.linear(F.silu(emb))
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = torch.chunk(p, 6, dim=1)
        h = self._ln(x) * (1 + scale_msa[:, None]) + shift_msa[:, None]
        a = block.attn
        b = h.shape[0]
        q = self._rope(a.to_q(h), cos, sin).reshape(b, -1, self.heads, self.dim_head).transpose(1, 2)
        k = self._rope(a.to_k(h), cos, sin).reshape(b, -1, self.heads, self.dim_head).permute(0, 2, 3, 1)
        v = a.to_v(h).reshape(b, -1, self.heads, self.dim_head).transpose(1, 2)
        scores = torch.matmul(q * (1.0 / math.sqrt(self.dim_head)), k) + bias
        o = torch.matmul(torch.softmax(scores, dim=-1), v)
        o = a.to_out[0](o.transpose(1, 2).reshape(b, -1, self.heads * self.dim_head))
        x = x + gate_msa.unsqueeze(1) * o
        h = self._ln(x) * (1 + scale_mlp[:, None]) + shift_mlp[:, None]
        return x + gate_mlp.unsqueeze(1) * block.ff(h)


def encoder_io(flow: CausalMaskedDiffWithDiT):
    """(input names, output names, declared shapes) of docs/bundle.md §3.2."""
    m = flow.cfg.output_size
    return (["token", "embedding"], ["mu", "spks"],
            {"token": [1, "L"], "embedding": [1, flow.cfg.spk_embed_dim], "mu": [1, m, "T"], "spks": [1, m]})


def estimator_io(flow: CausalMaskedDiffWithDiT):
    """(input names, output names, declared shapes) of docs/bundle.md §3.3."""
    btm = ["B", flow.cfg.output_size, "T"]
    return (["x", "mu", "t", "spks", "cond", "attention_chunk"], ["velocity"],
            {"x": btm, "mu": btm, "t": ["B"], "spks": ["B", flow.cfg.output_size], "cond": btm,
             "attention_chunk": [], "velocity": btm})


def encoder_example(flow: CausalMaskedDiffWithDiT, length: int = 7, gen=None):
    tok = torch.randint(0, flow.cfg.vocab_size, (1, length), generator=gen, dtype=torch.int64)
    return tok, torch.randn(1, flow.cfg.spk_embed_dim, generator=gen)


def estimator_example(flow: CausalMaskedDiffWithDiT, b: int = 2, t: int = 13, gen=None):
    c = flow.cfg.output_size
    r = lambda *s: torch.randn(*s, generator=gen)  # noqa: E731
    return (r(b, c, t), r(b, c, t), torch.rand(b, generator=gen), r(b, c), r(b, c, t),
            torch.tensor(5, dtype=torch.int64))
