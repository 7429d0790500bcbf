"""The tests' float32 error model (cosyvoice_export/fp32_bounds.py, docs/parity.md) and their thread count.

Every numeric tolerance in these tests is written as a bound from this model next to its assertion;
none is a value observed on one machine.
"""
from __future__ import annotations

import math
import os

from cosyvoice_export.fp32_bounds import (FN_ULPS, U, U64, attention_depth, chain, dit_depth,  # noqa: F401
                                          euler_cfg_gain, fft_depth, gamma, llm_depth, pair, vs64,
                                          weight_depth)


def threads() -> int:
    """COSYVOICE_TEST_THREADS (default 1): intra-op threads of the tests' ONNX Runtime sessions and
    torch (conftest.py sets torch's; it and the Makefile set OPENBLAS/OMP_NUM_THREADS from it)."""
    value = os.environ.get("COSYVOICE_TEST_THREADS", "1")
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"COSYVOICE_TEST_THREADS={value!r}: expected a positive integer")
    return n


# ---- log-spectral features: error amplified by the log of each band's energy -------------------

def fft_bin_error(n_fft: int) -> float:
    """Relative (to the frame's l1 norm A = sum |windowed samples|) error bound of one float32 FFT bin
    (fft_depth), plus the windowing of the samples (window value FN_ULPS + 1, product 1)."""
    return gamma(fft_depth(n_fft) + FN_ULPS + 2)


def log_band_bound(E, F, dX, n_bins: int, floor: float, magnitude: bool = False, dF: float = 0.0, S=None):
    """Elementwise bound on |log(band energy) computed in float32 - log(exact)|, natural log.

    E: exact band energies sum_k f_k P_k (P_k = |X_k|^2, or |X_k| with ``magnitude``), [..., bands, frames]
    broadcastable with F (sum_k f_k per band) and dX (bin error per frame, fft_bin_error(n) * A).
    |X + dX|^2 - |X|^2 <= 2|X| dX + dX^2 and sum_k f_k |X_k| <= sqrt(F E) (Cauchy-Schwarz), or |dX|
    for magnitudes; the weighted sum of n_bins terms and the squaring/sqrt add gamma(n_bins + FN + 3) E;
    weights with absolute errors dF over bins of energy S add dF S. The log turns dE into dE / E, and
    a floor c (log(max(E, c))) caps it at dE / max(E, c) (max is monotone and 1-Lipschitz)."""
    import numpy as np

    E = np.asarray(E, dtype=np.float64)
    if magnitude:
        dE = dX * F
    else:
        dE = 2.0 * dX * np.sqrt(F * E) + dX * dX * F
    dE = dE + gamma(n_bins + FN_ULPS + 3) * E
    if dF:
        dE = dE + dF * S
    return dE / np.maximum(E, floor)


def assert_within(got, want, bound, what=""):
    """|got - want| <= bound elementwise, naming the worst element relative to its bound."""
    import numpy as np

    diff = np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))
    bound = np.broadcast_to(np.asarray(bound, np.float64), diff.shape)
    ratio = diff / np.maximum(bound, np.finfo(np.float64).tiny)
    worst = np.unravel_index(int(np.argmax(ratio)), diff.shape)
    assert ratio[worst] <= 1.0, (f"{what}: |diff| {diff[worst]:.3g} > bound {bound[worst]:.3g} at {worst} "
                                 f"(max |diff| {diff.max():.3g})")


def hift_wave_bound(hift, magnitude):
    """Two float32 runs of the vocoder on different lengths: the spectra differ by at most the
    generator's derived relative bound (export/bundle.py tol_generator) of their peak, and the inverse
    STFT amplifies an absolute spectrum error by <= 18/16 * 2/1.5 = 1.5 (see test_export.py) and adds
    its own rounding. F0 is computed in float64 and rounded to float32, so both runs see the same F0
    unless a float64 difference (~1e-16 relative) crosses a float32 rounding boundary (probability
    ~1e-9 per value), and the same excitation."""
    from cosyvoice_export.export.bundle import tol_generator

    peak = float(magnitude.abs().max().clamp(max=100.0))
    return 1.5 * tol_generator(hift)["real"].value * peak + pair(chain(18, 4, 1, transcendental=1), peak)
