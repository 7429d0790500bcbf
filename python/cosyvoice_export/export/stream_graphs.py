"""``flow/flow_estimator_chunk.onnx``: one DiT evaluation over new frames with cached keys/values
(docs/bundle.md §3.8, docs/streaming.md).

:class:`FlowEstimatorChunk` is :func:`cosyvoice_export.streaming.dit_incremental` written for the
exporter: the S new frames sit at absolute positions P .. P+S-1, where P is the length of the
``past_key_*`` inputs; they attend every past frame and the new frames allowed by the chunk mask
``j < (floor(i/c) + 1) c`` (c = ``max(attention_chunk, 1)``; any c >= P+S is full attention).
The causal convolutional position embedding continues from ``conv_state_1``/``conv_state_2``
(the last ``kernel - 1`` inputs of its two convolutions; zeros at the start, which is their left
padding).

The cache layout is time-major, ``[P, B, dim]`` per layer (keys after RoPE), so that the engine
keeps one buffer ``[max_frames, B, dim]`` per layer and ODE step, passes its first P rows as the
past (a dense view) and binds the ``new_key_*``/``new_value_*`` outputs to the next S rows: the
cache is never copied by the engine.  With P = 0 and ``attention_chunk >= S`` the graph is the
offline estimator (``flow_estimator.onnx``), with the cache of the frames as extra outputs.
"""

from __future__ import annotations

import math
from typing import List

import torch
import torch.nn.functional as F
from torch import nn

from ..models.dit import DiT
from ..models.flow import CausalMaskedDiffWithDiT


class FlowEstimatorChunk(nn.Module):
    """forward(x, mu, t, spks, cond, attention_chunk, conv_state_1, conv_state_2,
    past_key_0, past_value_0, ..., past_key_{L-1}, past_value_{L-1})
    -> (velocity, new_conv_state_1, new_conv_state_2, new_key_0, new_value_0, ...)."""

    def __init__(self, dit: DiT):
        super().__init__()
        self.dit = dit
        self.heads = dit.cfg.heads
        self.dim_head = dit.cfg.dim_head
        self.dim = dit.cfg.dim
        self.depth = dit.cfg.depth
        self.state = dit.cfg.conv_pos_kernel - 1
        self.register_buffer("ln_w", torch.ones(self.dim), persistent=False)
        self.register_buffer("ln_b", torch.zeros(self.dim), persistent=False)

    def _ln(self, x):
        return F.layer_norm(x, (self.dim,), self.ln_w, self.ln_b, eps=1e-6)

    def _rope(self, x, cos, sin):
        r = self.dim_head                       # head 0 only, GPT-J pairs (x-transformers layout)
        xr = x[..., :r]
        pairs = xr.reshape(x.shape[0], -1, r // 2, 2)
        rot = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).reshape(x.shape[0], -1, r)
        return torch.cat((xr * cos + rot * sin, x[..., r:]), dim=-1)

    def forward(self, x, mu, t, spks, cond, attention_chunk, conv_state_1, conv_state_2, *past):
        d = self.dit
        b, s = x.shape[0], x.shape[2]
        p = past[0].shape[0]
        x, mu, cond = x.transpose(1, 2), mu.transpose(1, 2), cond.transpose(1, 2)            # [B, S, C]
        emb = d.time_embed(t)
        spk = spks.unsqueeze(1).expand(b, s, spks.shape[1])
        h_in = d.input_embed.proj(torch.cat([x, cond, mu, spk], dim=-1))                     # [B, S, dim]
        cpe = d.input_embed.conv_pos_embed
        a = torch.cat([conv_state_1, h_in.transpose(1, 2)], dim=2)                           # [B, dim, 30 + S]
        h1 = cpe.conv1(a)
        bb = torch.cat([conv_state_2, h1], dim=2)
        h = cpe.conv2(bb).transpose(1, 2) + h_in
        new_state_1 = a[:, :, -self.state:]
        new_state_2 = bb[:, :, -self.state:]
        # absolute positions and the chunk mask of the new queries over all P + S keys
        pos = torch.arange(s, dtype=torch.int64) + p
        ang = pos.to(torch.float32)[:, None] * d.rotary_embed.inv_freq[None, :].to(torch.float32)
        freqs = torch.stack((ang, ang), dim=-1).reshape(s, -1)                               # [S, dim_head]
        cos, sin = freqs.cos(), freqs.sin()
        c = torch.clamp(attention_chunk, min=1)
        limit = (torch.div(pos, c, rounding_mode="floor") + 1) * c
        key_idx = torch.arange(p + s, dtype=torch.int64)
        blocked = key_idx[None, :] >= limit[:, None]                                          # [S, P+S]
        bias = torch.zeros(blocked.shape, dtype=torch.float32).masked_fill(blocked, float("-inf"))
        new_kv: List[torch.Tensor] = []
        for li, block in enumerate(d.transformer_blocks):
            h, k_new, v_new = self._block(block, h, emb, bias, cos, sin, past[2 * li], past[2 * li + 1])
            new_kv += [k_new, v_new]
        scale, shift = torch.chunk(d.norm_out.linear(F.silu(emb)), 2, dim=1)
        h = self._ln(h) * (1 + scale)[:, None, :] + shift[:, None, :]
        return (d.proj_out(h).transpose(1, 2), new_state_1, new_state_2, *new_kv)

    def _block(self, block, x, emb, bias, cos, sin, past_k, past_v):
        p6 = block.attn_norm.linear(F.silu(emb))
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = torch.chunk(p6, 6, dim=1)
        h = self._ln(x) * (1 + scale_msa[:, None]) + shift_msa[:, None]
        a = block.attn
        b = h.shape[0]
        q = self._rope(a.to_q(h), cos, sin)                                 # [B, S, dim]
        k = self._rope(a.to_k(h), cos, sin)
        v = a.to_v(h)
        k_new, v_new = k.transpose(0, 1), v.transpose(0, 1)                 # [S, B, dim], the cache rows
        k_all = torch.cat([past_k, k_new], dim=0)                           # [P+S, B, dim]
        v_all = torch.cat([past_v, v_new], dim=0)
        n = k_all.shape[0]
        qh = q.reshape(b, -1, self.heads, self.dim_head).transpose(1, 2)                       # [B, H, S, dh]
        kh = k_all.reshape(n, b, self.heads, self.dim_head).permute(1, 2, 3, 0)                # [B, H, dh, P+S]
        vh = v_all.reshape(n, b, self.heads, self.dim_head).permute(1, 2, 0, 3)                # [B, H, P+S, dh]
        scores = torch.matmul(qh * (1.0 / math.sqrt(self.dim_head)), kh) + bias
        o = torch.matmul(torch.softmax(scores, dim=-1), vh)
        o = a.to_out[0](o.transpose(1, 2).reshape(b, -1, self.heads * self.dim_head))
        x = x + gate_msa.unsqueeze(1) * o
        h = self._ln(x) * (1 + scale_mlp[:, None]) + shift_mlp[:, None]
        return x + gate_mlp.unsqueeze(1) * block.ff(h), k_new, v_new


def chunk_io(flow: CausalMaskedDiffWithDiT):
    """(input names, output names, declared shapes) of docs/bundle.md §3.8."""
    cfg = flow.cfg.dit
    m = flow.cfg.output_size
    btm = ["B", m, "S"]
    st = ["B", cfg.dim, cfg.conv_pos_kernel - 1]
    ins = ["x", "mu", "t", "spks", "cond", "attention_chunk", "conv_state_1", "conv_state_2"]
    outs = ["velocity", "new_conv_state_1", "new_conv_state_2"]
    shapes = {"x": btm, "mu": btm, "t": ["B"], "spks": ["B", m], "cond": btm, "attention_chunk": [],
              "conv_state_1": st, "conv_state_2": st, "velocity": btm, "new_conv_state_1": st,
              "new_conv_state_2": st}
    for i in range(cfg.depth):
        for kind in ("key", "value"):
            ins.append(f"past_{kind}_{i}")
            outs.append(f"new_{kind}_{i}")
            shapes[f"past_{kind}_{i}"] = ["P", "B", cfg.dim]
            shapes[f"new_{kind}_{i}"] = ["S", "B", cfg.dim]
    return ins, outs, shapes


def chunk_example(flow: CausalMaskedDiffWithDiT, b: int = 2, s: int = 13, p: int = 7, gen=None):
    """Random inputs of the graph (a non-empty past: the tracer must see P as a dimension)."""
    cfg = flow.cfg.dit
    c = flow.cfg.output_size
    r = lambda *sh: torch.randn(*sh, generator=gen)  # noqa: E731
    past = [r(p, b, cfg.dim) for _ in range(2 * cfg.depth)]
    return (r(b, c, s), r(b, c, s), torch.rand(b, generator=gen), r(b, c), r(b, c, s),
            torch.tensor(5, dtype=torch.int64), r(b, cfg.dim, cfg.conv_pos_kernel - 1),
            r(b, cfg.dim, cfg.conv_pos_kernel - 1), *past)


# ---- export + parity (docs/bundle.md §3.8) ----------------------------------------------------------

# (S new frames, P cached frames, attention chunk): a first chunk from an empty cache, chunks after
# a cache (aligned), two chunks at once, a final partial chunk, full attention from scratch (the
# offline estimator) and a single frame
CHUNK_CASES = ((50, 0, 50), (50, 100, 50), (100, 50, 50), (7, 150, 50), (57, 0, 1 << 30), (1, 50, 50))


def tol_chunk(flow: CausalMaskedDiffWithDiT) -> dict:
    """The chunked DiT against the incremental reference: two float32 evaluations of the DiT's chain
    over the longest case (past + new frames), relative (fp32_bounds.dit_depth; docs/parity.md)."""
    from .. import fp32_bounds as FB
    from .parity import Tolerance

    frames = max(s + p for s, p, _ in CHUNK_CASES)
    return {"*": Tolerance("rel", FB.pair(FB.dit_depth(flow.decoder.estimator, frames)))}


def chunk_parity(flow: CausalMaskedDiffWithDiT, graph, gen: torch.Generator, log=print, tolerance=None) -> dict:
    """Runs the exported graph (an ``OrtGraph``) against :func:`streaming.dit_incremental` on
    :data:`CHUNK_CASES` with both CFG batch sizes; velocity and caches within :func:`tol_chunk`."""
    from ..streaming import StepCache, dit_incremental
    from .parity import GraphCheck, Tolerance

    tol = tolerance or tol_chunk(flow)
    chk = GraphCheck("flow/flow_estimator_chunk.onnx", "float32", tol, log)
    dit = flow.decoder.estimator
    ins, _, _ = chunk_io(flow)
    for s, p, c in CHUNK_CASES:
        for b in (1, 2):
            ex = list(chunk_example(flow, b=b, s=s, p=p, gen=gen))
            ex[5] = torch.tensor(c, dtype=torch.int64)
            cache = StepCache(list(ex[8::2]), list(ex[9::2]), ex[6], ex[7])
            with torch.no_grad():
                v, new = dit_incremental(dit, ex[0], ex[1], ex[2], ex[3], ex[4], cache, c)
            ref = {"velocity": v, "new_conv_state_1": new.conv1, "new_conv_state_2": new.conv2}
            for i in range(dit.cfg.depth):
                ref[f"new_key_{i}"], ref[f"new_value_{i}"] = new.keys[i], new.values[i]
            got = graph.run({n: t.numpy() for n, t in zip(ins, ex)})
            chk.compare(f"S={s} P={p} B={b} chunk={min(c, 99999)}", got, {k: t.numpy() for k, t in ref.items()})
    return chk.finish()


def export_chunk_graph(flow: CausalMaskedDiffWithDiT, path, threads: int = 2, log=print, producer_version: str = ""):
    """Writes ``flow_estimator_chunk.onnx`` for ``flow`` at ``path`` and checks it; returns the
    parity record (for ``config.json`` ``checks``)."""
    from pathlib import Path
    from ..ort import OrtGraph
    from . import onnx_io

    gen = torch.Generator().manual_seed(20251123)
    ins, outs, shapes = chunk_io(flow)
    p = onnx_io.export_graph(FlowEstimatorChunk(flow.decoder.estimator), chunk_example(flow, gen=gen), Path(path),
                             "flow_estimator_chunk", ins, outs, shapes, producer_version=producer_version)
    g = OrtGraph(p, threads=threads)
    try:
        return chunk_parity(flow, g, gen, log)
    finally:
        g.close()
