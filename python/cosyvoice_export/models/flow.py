"""The CosyVoice3 flow: token encoder + CFM Euler solver with CFG around the DiT (spec §6).

Module names follow ``flow.pt``: ``input_embedding``, ``spk_embed_affine_layer``,
``pre_lookahead_layer.conv{1,2}``, ``decoder.estimator.*``.

Pieces the exporter can wrap separately:

* :meth:`CausalMaskedDiffWithDiT.embed_speaker` : embedding [1, 192] -> spks [1, 80]
* :meth:`CausalMaskedDiffWithDiT.encode_tokens` : all tokens [1, L] -> mu [1, 80, 2L'] with
  L' = L (finalize) or L - 3 (the last 3 tokens are only right context)
* :meth:`CausalMaskedDiffWithDiT.encode`        : the two above plus ``cond`` and ``mask``
* :meth:`CausalConditionalCFM.solve`            : the Euler/CFG loop calling the DiT
  (the ONNX side exports only the DiT; the loop lives in C++)
* :meth:`CausalMaskedDiffWithDiT.inference`     : everything, returning the generated mel

The initial noise is an input (the fixed seed-0 ``randn(1, 80, 15000)`` buffer of upstream
is produced elsewhere); the first T frames are used.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..hparams import CFMConfig, FlowConfig, PreLookaheadConfig
from .dit import DiT

__all__ = ["PreLookaheadLayer", "CausalConditionalCFM", "CausalMaskedDiffWithDiT", "FlowInputs", "time_grid"]


class PreLookaheadLayer(nn.Module):
    """conv1 (kernel L+1, sees L future tokens) -> leaky_relu(0.01) -> causal conv2 (kernel 3)
    -> + input.  Tensors [B, T, C].

    ``context=None`` (finalize): L zero frames are padded on the right; output length T.
    With ``context`` [B, L, C] (the L real future tokens): output length T.
    """

    def __init__(self, cfg: PreLookaheadConfig, device=None):
        super().__init__()
        self.lookahead = cfg.pre_lookahead_len
        self.conv1 = nn.Conv1d(cfg.in_channels, cfg.channels, cfg.pre_lookahead_len + 1, device=device)
        self.conv2 = nn.Conv1d(cfg.channels, cfg.in_channels, 3, device=device)

    def forward(self, inputs: torch.Tensor, context: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = inputs.transpose(1, 2)
        if context is None or context.shape[1] == 0:
            h = F.pad(h, (0, self.lookahead))
        else:
            if context.shape[1] != self.lookahead:
                raise ValueError(f"context must hold {self.lookahead} frames, got {context.shape[1]}")
            h = torch.cat([h, context.transpose(1, 2)], dim=2)
        h = F.leaky_relu(self.conv1(h), 0.01)
        h = self.conv2(F.pad(h, (2, 0)))
        return h.transpose(1, 2) + inputs


def time_grid(n_timesteps: int, scheduler: str = "cosine", dtype=torch.float32) -> torch.Tensor:
    """t_k for k = 0..n, computed in ``dtype`` (float32 upstream): cosine ``1 - cos(k/n * pi/2)``."""
    t = torch.linspace(0, 1, n_timesteps + 1, dtype=dtype)
    if scheduler == "cosine":
        t = 1 - torch.cos(t * 0.5 * math.pi)
    return t


class CausalConditionalCFM(nn.Module):
    """Holds the DiT as ``estimator`` (key prefix ``decoder.estimator.``)."""

    def __init__(self, cfm: CFMConfig, estimator: DiT):
        super().__init__()
        self.cfm = cfm
        self.estimator = estimator

    def solve(self, noise: torch.Tensor, mu: torch.Tensor, mask: torch.Tensor, spks: torch.Tensor,
              cond: torch.Tensor, n_timesteps: Optional[int] = None, cfg_rate: Optional[float] = None,
              streaming: bool = False, chunk_size: Union[int, torch.Tensor, None] = None,
              temperature: float = 1.0, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Euler with classifier-free guidance (batch 1 in, batch-2 estimator calls).

        ``noise`` [1, 80, >= T] (the first T frames are used), ``mu``/``cond`` [1, 80, T],
        ``mask`` [1, 1, T], ``spks`` [1, 80].  Slot 0 of each estimator call is conditional,
        slot 1 has mu, spks and cond zero; ``v = (1 + cfg) v0 - cfg v1``; ``x += dt v``.
        ``chunk_size`` overrides the attention chunk (else ``streaming`` selects
        static_chunk_size or full attention); ``attn_mask`` [T, T] bool replaces the mask altogether.
        Returns x [1, 80, T] (float32).
        """
        n = self.cfm.n_timesteps if n_timesteps is None else int(n_timesteps)
        cfg = self.cfm.inference_cfg_rate if cfg_rate is None else float(cfg_rate)
        t_len = mu.shape[2]
        if noise.shape[2] < t_len:
            raise ValueError(f"noise has {noise.shape[2]} frames, need {t_len}")
        x = noise[:, :, :t_len].to(mu.dtype) * temperature
        t_span = time_grid(n, self.cfm.t_scheduler, mu.dtype).to(mu.device)
        if chunk_size is None and streaming:
            chunk_size = self.estimator.cfg.static_chunk_size
        mask_in = torch.cat([mask, mask], dim=0)
        mu_in = torch.cat([mu, torch.zeros_like(mu)], dim=0)
        spks_in = torch.cat([spks, torch.zeros_like(spks)], dim=0)
        cond_in = torch.cat([cond, torch.zeros_like(cond)], dim=0)
        # t is accumulated as upstream does (t += dt; dt = t_span[k+1] - t)
        t = t_span[0:1]
        dt = t_span[1] - t_span[0]
        for step in range(1, n + 1):
            x_in = torch.cat([x, x], dim=0)
            t_in = torch.cat([t, t], dim=0)
            v = self.estimator.forward_chunked(x_in, mask_in, mu_in, t_in, spks_in, cond_in, chunk_size, attn_mask)
            v_cond, v_uncond = v[0:1], v[1:2]
            v = (1.0 + cfg) * v_cond - cfg * v_uncond
            x = x + dt * v
            t = t + dt
            if step < n:
                dt = t_span[step + 1] - t
        return x.float()


class FlowInputs(NamedTuple):
    mu: torch.Tensor       # [1, 80, T]   token encoding (prompt + generated), T = 2 * tokens
    mask: torch.Tensor     # [1, 1, T]    all ones
    spks: torch.Tensor     # [1, 80]      projected speaker embedding
    cond: torch.Tensor     # [1, 80, T]   prompt mel in the first mel_len1 frames, zeros after
    mel_len1: int          # prompt mel frames (= prompt_feat.shape[1])


class CausalMaskedDiffWithDiT(nn.Module):
    def __init__(self, cfg: FlowConfig, device=None):
        super().__init__()
        self.cfg = cfg
        # registration order = upstream's state_dict order
        self.input_embedding = nn.Embedding(cfg.vocab_size, cfg.input_size, device=device)
        self.spk_embed_affine_layer = nn.Linear(cfg.spk_embed_dim, cfg.output_size, device=device)
        self.pre_lookahead_layer = PreLookaheadLayer(cfg.pre_lookahead, device)
        self.decoder = CausalConditionalCFM(cfg.cfm, DiT(cfg.dit, device))
        self.eval()

    def embed_speaker(self, embedding: torch.Tensor) -> torch.Tensor:
        """[B, 192] CAM++ embedding -> L2-normalised (eps 1e-12) -> Linear -> [B, 80]."""
        return self.spk_embed_affine_layer(F.normalize(embedding, dim=1, eps=1e-12))

    def encode_tokens(self, tokens: torch.Tensor, finalize: bool = True) -> torch.Tensor:
        """All speech tokens (prompt first) [1, L] -> mu [1, 80, ratio * L'].

        ``finalize=False``: the last ``pre_lookahead_len`` tokens are only right context of
        the conv, so L' = L - 3.  Negative ids are clamped to 0 (upstream's padding id)."""
        e = self.input_embedding(torch.clamp(tokens, min=0))
        la = self.cfg.pre_lookahead_len
        if finalize:
            h = self.pre_lookahead_layer(e)
        else:
            if e.shape[1] <= la:
                raise ValueError(f"finalize=False needs more than {la} tokens, got {e.shape[1]}")
            h = self.pre_lookahead_layer(e[:, :-la], context=e[:, -la:])
        h = h.repeat_interleave(self.cfg.token_mel_ratio, dim=1)
        return h.transpose(1, 2).contiguous()

    def encode(self, token: torch.Tensor, prompt_token: torch.Tensor, prompt_feat: torch.Tensor,
               embedding: torch.Tensor, finalize: bool = True) -> FlowInputs:
        """Everything the ODE needs.  ``prompt_feat`` [1, mel_len1, 80]: its length (not 2K)
        sets how many leading frames of ``cond`` hold the prompt mel and how many output
        frames are dropped (spec-verification D2; differs from 2K only in VC mode)."""
        if token.shape[0] != 1:
            raise ValueError("batch size must be 1")
        spks = self.embed_speaker(embedding)
        mu = self.encode_tokens(torch.cat([prompt_token, token], dim=1).long(), finalize)
        t_len = mu.shape[2]
        mel_len1 = prompt_feat.shape[1]
        if mel_len1 > t_len:
            raise ValueError(f"prompt_feat has {mel_len1} frames but the tokens give only {t_len}")
        cond = torch.zeros(1, t_len, self.cfg.output_size, dtype=mu.dtype, device=mu.device)
        cond[:, :mel_len1] = prompt_feat
        mask = torch.ones(1, 1, t_len, dtype=mu.dtype, device=mu.device)
        return FlowInputs(mu, mask, spks, cond.transpose(1, 2).contiguous(), mel_len1)

    def inference(self, token: torch.Tensor, prompt_token: torch.Tensor, prompt_feat: torch.Tensor,
                  embedding: torch.Tensor, noise: torch.Tensor, streaming: bool = False, finalize: bool = True,
                  n_timesteps: int = 10, cfg_rate: float = 0.7,
                  chunk_size: Union[int, torch.Tensor, None] = None) -> torch.Tensor:
        """token [1, N], prompt_token [1, K], prompt_feat [1, mel_len1, 80], embedding [1, 192],
        noise [1, 80, >= T] -> generated mel [1, 80, T - mel_len1] with
        T = 2(K + N) (finalize) or 2(K + N - 3)."""
        with torch.no_grad():
            inp = self.encode(token, prompt_token, prompt_feat, embedding, finalize)
            x = self.decoder.solve(noise, inp.mu, inp.mask, inp.spks, inp.cond, n_timesteps, cfg_rate,
                                   streaming=streaming, chunk_size=chunk_size)
            return x[:, :, inp.mel_len1:].float()
