"""CosyVoice3 vocoder: ``CausalHiFTGenerator`` (NSF source + ISTFTNet), spec §7 and
spec-verification §(8).

Weight norm is folded: every conv holds a plain ``weight`` (the checkpoint loader folds
``g * v / ||v||``).  Module names follow ``hift.pt`` without the ``parametrizations``
level (``conv_pre.weight``, ``resblocks.{r}.convs1.{j}.weight``, ...); the modules that
are weight-normed in the release carry ``weight_normed = True`` (see
:func:`weight_norm_module_names`).

The F0 predictor's parameters are float64 (upstream runs it with ``.to(float64)`` so that
streaming chunks reproduce the full pass); everything else is float32.

Pieces, in pipeline order (what the exporter can put into separate graphs):

* :meth:`CausalHiFTGenerator.f0`     mel [B, 80, T] -> f0 [B, T'] Hz (T' = T, or T - 3 when
  not finalizing)                                            -> ``f0_predictor`` graph
* :meth:`CausalHiFTGenerator.source` f0 + fixed uniform noise [1, >= 480 T', 9] -> excitation
  s [B, 1, 480 T']                                           -> C++
* :meth:`CausalHiFTGenerator.stft`   s -> s_stft [B, 18, 120 T' + 1]  (n_fft 16, hop 4, center)
* :meth:`CausalHiFTGenerator.decode` mel [B, 80, Tg], s_stft -> (magnitude, phase) each
  [B, 9, 120 Tg' + 1]                                        -> ``generator`` graph
* :meth:`CausalHiFTGenerator.istft`  (magnitude, phase) -> waveform [B, 480 Tg']
* :meth:`CausalHiFTGenerator.inference` all of it, with the ``finalize`` bookkeeping:
  480 T samples, or 480 (T - 8) when not finalizing.
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..hparams import F0PredictorConfig, HiFTConfig

__all__ = ["CausalConv1d", "CausalConv1dDownSample", "CausalConv1dUpsample", "Snake", "ResBlock",
           "CausalConvRNNF0Predictor", "SourceModuleHnNSF", "CausalHiFTGenerator", "hann_window_periodic",
           "weight_norm_module_names"]


class CausalConv1d(nn.Conv1d):
    """Stride-1 conv with causal padding ``(k - 1) * dilation``.  ``causal_type='left'`` pads
    zeros on the left.  ``'right'`` looks ahead: zeros on the right, or, with ``context``
    (the next ``causal_padding`` real frames), those frames instead."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, dilation: int = 1, causal_type: str = "left",
                 weight_normed: bool = True, device=None, dtype=None):
        super().__init__(in_ch, out_ch, kernel_size, stride=1, padding=0, dilation=dilation,
                         device=device, dtype=dtype)
        # upstream: int((k*d - d) / 2) * 2 + (k + 1) % 2, which is (k - 1) * d for every conv used here
        self.causal_padding = int((kernel_size * dilation - dilation) / 2) * 2 + (kernel_size + 1) % 2
        if causal_type not in ("left", "right"):
            raise ValueError(causal_type)
        self.causal_type = causal_type
        self.weight_normed = weight_normed

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None) -> torch.Tensor:
        p = self.causal_padding
        if context is not None and context.shape[2] > 0:
            if self.causal_type != "right" or context.shape[2] != p:
                raise ValueError(f"context must be {p} right-side frames")
            x = torch.cat([x, context], dim=2)
        elif self.causal_type == "left":
            x = F.pad(x, (p, 0))
        else:
            x = F.pad(x, (0, p))
        return super().forward(x)


class CausalConv1dDownSample(nn.Conv1d):
    """Left pad ``stride - 1`` zeros, then a strided conv (kernel 2 * stride)."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int, device=None):
        super().__init__(in_ch, out_ch, kernel_size, stride=stride, padding=0, device=device)
        self.causal_padding = stride - 1
        self.weight_normed = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.causal_padding, 0)))


class CausalConv1dUpsample(nn.Conv1d):
    """Nearest upsampling by ``stride``, left pad ``k - 1`` zeros, stride-1 conv."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int, device=None):
        super().__init__(in_ch, out_ch, kernel_size, stride=1, padding=0, device=device)
        self.up = stride
        self.causal_padding = kernel_size - 1
        self.weight_normed = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=float(self.up), mode="nearest")
        return super().forward(F.pad(x, (self.causal_padding, 0)))


class Snake(nn.Module):
    """``x + 1 / (alpha + 1e-9) * sin(alpha * x)^2`` with a per-channel linear-scale alpha."""

    def __init__(self, channels: int, device=None):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(channels, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.alpha.unsqueeze(0).unsqueeze(-1)
        return x + (1.0 / (a + 1e-9)) * torch.pow(torch.sin(x * a), 2)


class ResBlock(nn.Module):
    """For each dilation d: x += conv_{k,1}(Snake(conv_{k,d}(Snake(x)))); causal (left) convs."""

    def __init__(self, channels: int, kernel_size: int, dilations, device=None):
        super().__init__()
        self.convs1 = nn.ModuleList([CausalConv1d(channels, channels, kernel_size, d, device=device)
                                     for d in dilations])
        self.convs2 = nn.ModuleList([CausalConv1d(channels, channels, kernel_size, 1, device=device)
                                     for _ in dilations])
        self.activations1 = nn.ModuleList([Snake(channels, device) for _ in dilations])
        self.activations2 = nn.ModuleList([Snake(channels, device) for _ in dilations])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2, a1, a2 in zip(self.convs1, self.convs2, self.activations1, self.activations2):
            x = c2(a2(c1(a1(x)))) + x
        return x


class CausalConvRNNF0Predictor(nn.Module):
    """condnet: conv k4 'right' (3 frames lookahead) + 4 x conv k3 'left', ELU after each;
    then Linear(C -> 1) and abs.  Parameters in float64."""

    def __init__(self, cfg: F0PredictorConfig, device=None):
        super().__init__()
        dt = torch.float64
        c = cfg.cond_channels
        layers: List[nn.Module] = [CausalConv1d(cfg.in_channels, c, 4, causal_type="right", device=device, dtype=dt),
                                   nn.ELU()]
        for _ in range(4):
            layers += [CausalConv1d(c, c, 3, causal_type="left", device=device, dtype=dt), nn.ELU()]
        self.condnet = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, cfg.num_class, device=device, dtype=dt)

    @property
    def lookahead(self) -> int:
        return self.condnet[0].causal_padding

    def forward(self, mel: torch.Tensor, finalize: bool = True) -> torch.Tensor:
        """mel [B, 80, T] (any float dtype; computed in float64) -> f0 [B, T'] float64."""
        x = mel.to(torch.float64)
        la = self.lookahead
        if finalize:
            x = self.condnet[0](x)
        else:
            x = self.condnet[0](x[:, :, :-la], context=x[:, :, -la:])
        for layer in self.condnet[1:]:
            x = layer(x)
        return torch.abs(self.classifier(x.transpose(1, 2)).squeeze(-1))


class SourceModuleHnNSF(nn.Module):
    """Merges the 9 sine/noise channels: ``tanh(l_linear(sine_waves))``."""

    def __init__(self, n_harmonic_channels: int, device=None):
        super().__init__()
        self.l_linear = nn.Linear(n_harmonic_channels, 1, device=device)

    def forward(self, sine_waves: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.l_linear(sine_waves))


def hann_window_periodic(n: int) -> torch.Tensor:
    """scipy ``get_window('hann', n, fftbins=True)`` (float64 cosine sum, then float32)."""
    fac = np.linspace(-np.pi, np.pi, n + 1)
    w = 0.5 * np.cos(0 * fac) + 0.5 * np.cos(1 * fac)
    return torch.from_numpy(w[:n].astype(np.float32))


class CausalHiFTGenerator(nn.Module):
    def __init__(self, cfg: HiFTConfig, device=None):
        super().__init__()
        self.cfg = cfg
        base = cfg.base_channels
        nfft = cfg.istft_n_fft
        n_up = len(cfg.upsample_rates)
        # registration order = upstream's state_dict order (f0_predictor last)
        self.m_source = SourceModuleHnNSF(cfg.n_harmonic_channels, device)
        self.conv_pre = CausalConv1d(cfg.in_channels, base, cfg.conv_pre_look_right + 1, causal_type="right",
                                     device=device)
        self.ups = nn.ModuleList([
            CausalConv1dUpsample(base // 2 ** i, base // 2 ** (i + 1), k, u, device)
            for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes))])
        # source branch: the STFT frame rate is reduced to each stage's rate
        down_rates = [1] + list(cfg.upsample_rates[::-1][:-1])
        cum = np.cumprod(down_rates)[::-1]
        self.source_downs = nn.ModuleList()
        self.source_resblocks = nn.ModuleList()
        for i, (u, k, d) in enumerate(zip(cum, cfg.source_resblock_kernel_sizes, cfg.source_resblock_dilation_sizes)):
            ch = base // 2 ** (i + 1)
            u = int(u)
            if u == 1:
                self.source_downs.append(CausalConv1d(nfft + 2, ch, 1, weight_normed=False, device=device))
            else:
                self.source_downs.append(CausalConv1dDownSample(nfft + 2, ch, u * 2, u, device))
            self.source_resblocks.append(ResBlock(ch, k, d, device))
        self.resblocks = nn.ModuleList()
        for i in range(n_up):
            ch = base // 2 ** (i + 1)
            for k, d in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes):
                self.resblocks.append(ResBlock(ch, k, d, device))
        self.conv_post = CausalConv1d(base // 2 ** n_up, nfft + 2, 7, device=device)
        self.f0_predictor = CausalConvRNNF0Predictor(cfg.f0_predictor, device)
        self.eval()

    # ---- F0 ----------------------------------------------------------------------------------
    def f0(self, mel: torch.Tensor, finalize: bool = True) -> torch.Tensor:
        """mel [B, 80, T] float32 -> f0 [B, T'] float32 (computed in float64)."""
        return self.f0_predictor(mel, finalize).to(mel.dtype)

    # ---- source (NSF, SineGen2 causal) ----------------------------------------------------------
    def harmonics(self, f0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """f0 [B, Tf] Hz (float32), noise: the fixed uniform [0, 1) buffer [1 or B, >= L, 9]
        -> the NSF excitation per harmonic before the learned merge, [B, L, 9] with L = 480 Tf
        (what the C++ engine computes and feeds to the generator graph).

        Upstream upsamples f0 ×480 (nearest), builds per-sample ``rad = (f0 h / sr) % 1``,
        linearly resamples it ÷480 (which reads two samples of the same block, so it equals
        the frame value, and never reads sample 0, so ``rand_ini`` has no effect), takes
        ``cumsum * 2 * pi``, multiplies by 480 and nearest-upsamples ×480.  The same values
        are computed here per frame and repeated.  The float32 cumsum is accumulated in
        float64 and rounded per element, as torch's CPU kernel does (spec-verification C.1).
        """
        cfg = self.cfg
        up = cfg.samples_per_frame
        b, tf = f0.shape
        length = tf * up
        if noise.shape[1] < length or noise.shape[2] != cfg.n_harmonic_channels:
            raise ValueError(f"noise must be [1, >= {length}, {cfg.n_harmonic_channels}], got {list(noise.shape)}")
        harm = torch.arange(1, cfg.n_harmonic_channels + 1, dtype=f0.dtype, device=f0.device)
        fn = f0[:, :, None] * harm                                   # [B, Tf, H]
        rad = (fn / cfg.sampling_rate) % 1
        phase = torch.cumsum(rad.to(torch.float64), dim=1).to(f0.dtype) * 2 * np.pi
        phase = phase * up
        sines = torch.sin(phase) * cfg.nsf_alpha                      # [B, Tf, H]
        uv = (f0[:, :, None] > cfg.nsf_voiced_threshold).to(f0.dtype)  # [B, Tf, 1]
        noise_amp = uv * cfg.nsf_sigma + (1 - uv) * cfg.nsf_alpha / 3
        rep = lambda z: z.repeat_interleave(up, dim=1)                # noqa: E731  nearest ×480
        return rep(sines) * rep(uv) + rep(noise_amp) * noise[:, :length].to(f0.dtype)

    def source(self, f0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """f0 [B, Tf] -> excitation s [B, 1, 480 Tf]: the harmonics merged by ``m_source``."""
        return self.m_source(self.harmonics(f0, noise)).transpose(1, 2)

    # ---- STFT / ISTFT ---------------------------------------------------------------------------
    def _window(self, device) -> torch.Tensor:
        return hann_window_periodic(self.cfg.istft_n_fft).to(device)

    def stft(self, s: torch.Tensor) -> torch.Tensor:
        """s [B, 1, L] -> [B, n_fft + 2, L / hop + 1]: real parts of bins 0..n_fft/2, then imaginary."""
        n, hop = self.cfg.istft_n_fft, self.cfg.istft_hop_len
        spec = torch.stft(s.squeeze(1), n, hop, n, window=self._window(s.device), center=True,
                          pad_mode="reflect", return_complex=True)
        spec = torch.view_as_real(spec)
        return torch.cat([spec[..., 0], spec[..., 1]], dim=1)

    def istft(self, magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """magnitude (clipped at 100), phase [B, n_fft/2 + 1, F] -> waveform [B, hop (F - 1)]."""
        n, hop = self.cfg.istft_n_fft, self.cfg.istft_hop_len
        magnitude = torch.clamp(magnitude, max=1e2)
        spec = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
        return torch.istft(spec, n, hop, n, window=self._window(magnitude.device), center=True)

    # ---- generator ------------------------------------------------------------------------------
    def decode(self, mel: torch.Tensor, s_stft: torch.Tensor, finalize: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
        """mel [B, 80, Tg], s_stft [B, 18, 120 Tg + 1] -> (magnitude = exp(x[:9]), phase = sin(x[9:])).

        ``finalize=False``: the last ``conv_pre_look_right`` (4) frames are only right context
        of conv_pre and the matching 480 STFT frames are dropped, so the outputs cover
        Tg - 4 frames."""
        cfg = self.cfg
        r = cfg.conv_pre_look_right
        if finalize or r == 0:
            x = self.conv_pre(mel)
        else:
            x = self.conv_pre(mel[:, :, :-r], context=mel[:, :, -r:])
            s_stft = s_stft[:, :, :-(math.prod(cfg.upsample_rates) * r)]
        n_k = len(cfg.resblock_kernel_sizes)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, cfg.lrelu_slope))
            if i == len(self.ups) - 1:
                x = F.pad(x, (1, 0), mode="reflect")         # ReflectionPad1d((1, 0))
            si = self.source_resblocks[i](self.source_downs[i](s_stft))
            x = x + si
            xs = None
            for j in range(n_k):
                y = self.resblocks[i * n_k + j](x)
                xs = y if xs is None else xs + y
            x = xs / n_k
        x = self.conv_post(F.leaky_relu(x))                  # default slope 0.01 here
        half = cfg.istft_n_fft // 2 + 1
        return torch.exp(x[:, :half, :]), torch.sin(x[:, half:, :])

    def inference(self, mel: torch.Tensor, noise: torch.Tensor, finalize: bool = True,
                  trace: Optional[dict] = None) -> torch.Tensor:
        """mel [B, 80, T] -> waveform [B, 480 T] (finalize) or [B, 480 (T - 8)], clamped to
        ±audio_limit.  ``noise`` is the fixed uniform source-noise buffer [1, >= 480 T, 9].
        ``trace`` (a dict) receives the intermediates: f0, harmonics, magnitude, phase."""
        with torch.no_grad():
            f0 = self.f0(mel, finalize)
            harm = self.harmonics(f0, noise)
            s_stft = self.stft(self.m_source(harm).transpose(1, 2))
            mel_g = mel if finalize else mel[:, :, :-self.f0_predictor.lookahead]
            mag, ph = self.decode(mel_g, s_stft, finalize)
            wav = self.istft(mag, ph)
            if not finalize:
                wav = wav[:, :-self.cfg.samples_per_frame]
            if trace is not None:
                trace.update(f0=f0, harmonics=harm, magnitude=mag, phase=ph)
            return torch.clamp(wav, -self.cfg.audio_limit, self.cfg.audio_limit)


def weight_norm_module_names(model: nn.Module) -> List[str]:
    """Names of the convs that the release stores with weight-norm parametrizations."""
    return [name for name, m in model.named_modules() if getattr(m, "weight_normed", False)]
