"""``hift/hift_f0.onnx`` (§3.4) and ``hift/hift_generator.onnx`` (§3.5).

F0 predictor in float64.  Upstream runs it in float64 so that streaming chunks reproduce the
full pass.  ONNX Runtime's CPU provider has no double ``Conv`` or ``Elu`` kernel, so
:class:`F0Predictor64` writes each causal conv as im2col + ``MatMul`` (double MatMul is
available on CPU) and ELU as ``Where(x > 0, x, exp(x) - 1)``: the graph takes float32 mel,
computes in float64 and returns float32 f0, like ``CausalHiFTGenerator.f0``.
:class:`F0Predictor32` is the float32 alternative (plain Conv/Elu), kept for measurement.

Generator: :class:`HiftGenerator` takes the NSF excitation per harmonic (computed in C++),
merges it with the learned ``m_source.l_linear`` + tanh, takes the source STFT (n_fft 16,
hop 4, periodic Hann, centered with reflect padding) as a reflect ``Pad`` + strided ``Conv``
with a windowed-DFT basis (``torch.stft`` does not export at opset 17), runs the reference
``decode`` (finalize form), and returns ``real``/``imag`` of the spectrum ``torch.istft``
receives: ``min(exp(x_mag), 100) * cos/sin(sin(x_phase))``.  The ISTFT is done in C++.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.hift import CausalConvRNNF0Predictor, CausalHiFTGenerator, hann_window_periodic


def _elu(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0, x, torch.exp(x) - 1.0)


class F0Predictor64(nn.Module):
    """mel float32 [1, 80, T] -> f0 float32 [1, T], computed in float64 without Conv/Elu."""

    def __init__(self, pred: CausalConvRNNF0Predictor):
        super().__init__()
        convs = [pred.condnet[i] for i in range(0, len(pred.condnet), 2)]
        self.kernels = [c.kernel_size[0] for c in convs]
        self.pads = [(0, c.causal_padding) if c.causal_type == "right" else (c.causal_padding, 0) for c in convs]
        for c in convs:
            if c.dilation[0] != 1 or c.stride[0] != 1 or c.groups != 1:
                raise ValueError("F0 predictor convs must be plain stride-1 convs")
        # W [O, C, K] -> [O, K*C] with the tap index major, matching the im2col concat below
        self.w = nn.ParameterList([nn.Parameter(c.weight.detach().to(torch.float64).permute(0, 2, 1)
                                                .reshape(c.weight.shape[0], -1).contiguous(), requires_grad=False)
                                   for c in convs])
        self.b = nn.ParameterList([nn.Parameter(c.bias.detach().to(torch.float64)[:, None].contiguous(),
                                                requires_grad=False) for c in convs])
        self.cls_w = nn.Parameter(pred.classifier.weight.detach().to(torch.float64).t().contiguous(),
                                  requires_grad=False)
        self.cls_b = nn.Parameter(pred.classifier.bias.detach().to(torch.float64), requires_grad=False)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = mel.to(torch.float64)
        for k, pad, w, b in zip(self.kernels, self.pads, self.w, self.b):
            xp = F.pad(x, pad)
            taps = [xp[:, :, j:j - (k - 1)] if j < k - 1 else xp[:, :, j:] for j in range(k)]
            x = _elu(torch.matmul(w, torch.cat(taps, dim=1)) + b)          # [1, O, T]
        f0 = torch.matmul(x.transpose(1, 2), self.cls_w) + self.cls_b       # [1, T, 1]
        return torch.abs(f0.squeeze(-1)).to(torch.float32)


class F0Predictor32(nn.Module):
    """The float32 form: the reference network with float32 weights (Conv + Elu)."""

    def __init__(self, pred: CausalConvRNNF0Predictor):
        super().__init__()
        import copy
        self.pred = copy.deepcopy(pred).to(torch.float32)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.pred.condnet(mel)
        return torch.abs(self.pred.classifier(x.transpose(1, 2)).squeeze(-1))


def stft_basis(n_fft: int) -> torch.Tensor:
    """Conv1d weight [n_fft + 2, 1, n_fft]: rows 0..n_fft/2 give the real parts, the next
    n_fft/2 + 1 rows the imaginary parts of ``torch.stft(window=hann_periodic, onesided)``:
    ``X_k = sum_n w[n] x[n] exp(-2 pi i k n / N)``."""
    w = hann_window_periodic(n_fft).to(torch.float64).numpy()
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)[:, None]
    ang = 2.0 * np.pi * k * n / n_fft
    basis = np.concatenate([w * np.cos(ang), -w * np.sin(ang)], axis=0)
    return torch.from_numpy(basis.astype(np.float32))[:, None, :]


class HiftGenerator(nn.Module):
    """forward(mel [1, 80, T], harmonics [1, 480 T, 9]) -> (real, imag) [1, 9, 120 T + 1]."""

    def __init__(self, hift: CausalHiFTGenerator):
        super().__init__()
        self.hift = hift
        self.n_fft = hift.cfg.istft_n_fft
        self.hop = hift.cfg.istft_hop_len
        self.register_buffer("basis", stft_basis(self.n_fft), persistent=False)

    def forward(self, mel: torch.Tensor, harmonics: torch.Tensor):
        s = torch.tanh(self.hift.m_source.l_linear(harmonics)).transpose(1, 2)   # [1, 1, L]
        s = F.pad(s, (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        s_stft = F.conv1d(s, self.basis, stride=self.hop)                        # [1, 18, L/hop + 1]
        mag, phase = self.hift.decode(mel, s_stft, finalize=True)
        mag = torch.clamp(mag, max=1e2)
        return mag * torch.cos(phase), mag * torch.sin(phase)


def reference_spectrum(hift: CausalHiFTGenerator, mel: torch.Tensor, harmonics: torch.Tensor):
    """The same quantity from the reference modules (torch.stft, decode, the istft's clamp)."""
    with torch.no_grad():
        s = hift.m_source(harmonics).transpose(1, 2)
        mag, phase = hift.decode(mel, hift.stft(s), finalize=True)
        mag = torch.clamp(mag, max=1e2)
        return mag * torch.cos(phase), mag * torch.sin(phase)


def nsf_harmonics(f0: torch.Tensor, cfg, noise: np.ndarray) -> torch.Tensor:
    """The excitation the engine feeds the generator (src/engine/nsf_source.cc): per frame
    ``sin(2 pi * 480 * cumsum(rad))`` for voiced frames times sine_amp, plus noise_amp times
    the fixed uniform buffer.  f0 [1, T] -> [1, 480 T, 9] float32 (the pre-``l_linear`` part
    of ``CausalHiFTGenerator.source``)."""
    up = cfg.samples_per_frame
    tf = f0.shape[1]
    harm = torch.arange(1, cfg.n_harmonic_channels + 1, dtype=f0.dtype)
    rad = (f0[:, :, None] * harm / cfg.sampling_rate) % 1
    phase = torch.cumsum(rad.to(torch.float64), dim=1).to(f0.dtype) * 2 * np.pi * up
    uv = (f0[:, :, None] > cfg.nsf_voiced_threshold).to(f0.dtype)
    sines = torch.sin(phase) * cfg.nsf_alpha * uv
    amp = uv * cfg.nsf_sigma + (1 - uv) * cfg.nsf_alpha / 3
    rep = lambda z: z.repeat_interleave(up, dim=1)  # noqa: E731
    return rep(sines) + rep(amp) * torch.from_numpy(noise[:, :tf * up])


def f0_io(hift: CausalHiFTGenerator):
    """(input names, output names, declared shapes) of docs/bundle.md §3.4."""
    return ["mel"], ["f0"], {"mel": [1, hift.cfg.in_channels, "T"], "f0": [1, "T"]}


def generator_io(hift: CausalHiFTGenerator):
    """(input names, output names, declared shapes) of docs/bundle.md §3.5."""
    c = hift.cfg
    bins = c.istft_n_fft // 2 + 1
    return (["mel", "harmonics"], ["real", "imag"],
            {"mel": [1, c.in_channels, "T"], "harmonics": [1, "samples", c.n_harmonic_channels],
             "real": [1, bins, "frames"], "imag": [1, bins, "frames"]})
