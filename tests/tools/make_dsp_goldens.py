#!/usr/bin/env python3
"""Reference values for the vocoder's C++ DSP, computed with PyTorch itself at test time.

usage: /usr/bin/python3 tests/tools/make_dsp_goldens.py OUT_DIR
Writes:
  source_noise_head.npy  float32 [2000, 9]: torch's uniform stream after seed 0 and 5,052,970 draws
                         (upstream's fixed HiFT `sine_waves` buffer, spec-verification §3.B)
  istft_real.npy, istft_imag.npy  float32 [9, F]: random one-sided spectra
  istft_out.npy          float32 [4*(F-1)]: torch.istft(n_fft=16, hop=4, periodic hann, center=True)
"""
import os
import sys

import numpy as np
import torch


def main(out):
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    torch.rand(5052970, generator=g)
    head = torch.rand(1, 2000, 9, generator=g)[0]
    np.save(os.path.join(out, "source_noise_head.npy"), head.numpy().astype(np.float32))

    rs = np.random.RandomState(1234)
    frames = 301
    mag = np.exp(rs.uniform(-3, 2, size=(9, frames))).astype(np.float32)
    phase = rs.uniform(-1, 1, size=(9, frames)).astype(np.float32)
    real = (mag * np.cos(phase)).astype(np.float32)
    imag = (mag * np.sin(phase)).astype(np.float32)
    spec = torch.complex(torch.from_numpy(real), torch.from_numpy(imag))[None]
    window = torch.hann_window(16, periodic=True)
    y = torch.istft(spec, 16, 4, 16, window=window, center=True)[0]
    np.save(os.path.join(out, "istft_real.npy"), real)
    np.save(os.path.join(out, "istft_imag.npy"), imag)
    np.save(os.path.join(out, "istft_out.npy"), y.numpy().astype(np.float32))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
