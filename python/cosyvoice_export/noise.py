"""The two fixed noise tensors of CosyVoice3 (spec §6.3, §7.3; verification §3.B).

flow_noise()            flow ``rand_noise``: torch.manual_seed(0); torch.randn(1, 80, 15000).
                        Gaussian samples come from torch's vectorised Box-Muller, whose bits depend
                        on the torch build and CPU kernels, so the C++ engine does not regenerate it:
                        the exporter ships this tensor in the model bundle as a file.
hift_source_noise(n)    HiFT ``sine_waves[:, :n, :]``: the uniform float32 stream of MT19937 seeded 0
                        (init_genrand) after skipping 5,052,970 32-bit outputs, value
                        (u32 & 0xFFFFFF) * 2**-24, harmonic index fastest.  Integer-derived, so it is
                        bit-exact everywhere; C++ uses std::mt19937(0) + discard(5052970).

The MT19937 here is a plain numpy implementation (vectorised twist), independent of torch.
"""
from __future__ import annotations

import numpy as np

FLOW_NOISE_SHAPE = (1, 80, 15000)
FLOW_NOISE_SEED = 0

HIFT_NOISE_SEED = 0
HIFT_NOISE_SKIP = 5_052_970      # 32-bit outputs consumed by model construction before sine_waves
HIFT_NOISE_MAX_SAMPLES = 7_200_000  # sine_waves is [1, 7_200_000, 9]
HIFT_HARMONICS = 9

_N, _M = 624, 397
_UPPER, _LOWER, _MATRIX_A = np.uint32(0x80000000), np.uint32(0x7FFFFFFF), np.uint32(0x9908B0DF)


def flow_noise():
    """``torch.randn(1, 80, 15000)`` after seed 0, drawn from a private generator (the global torch
    RNG is untouched).  Returns a float32 torch.Tensor; the flow uses ``[:, :, :T]`` of it."""
    import torch

    g = torch.Generator(device="cpu")
    g.manual_seed(FLOW_NOISE_SEED)
    return torch.randn(*FLOW_NOISE_SHAPE, generator=g, dtype=torch.float32)


class MT19937:
    """Matsumoto & Nishimura's MT19937 (32-bit), seeded with init_genrand(seed).

    Same stream as C++ ``std::mt19937(seed)`` and torch's CPU generator after ``manual_seed(seed)``."""

    def __init__(self, seed: int = 0):
        mt = np.empty(_N, dtype=np.uint32)
        x = seed & 0xFFFFFFFF
        mt[0] = x
        for i in range(1, _N):
            x = (1812433253 * (x ^ (x >> 30)) + i) & 0xFFFFFFFF
            mt[i] = x
        self.mt = mt
        self.idx = _N  # index of the next untempered word in self.mt; _N means "twist first"

    def _twist(self) -> None:
        mt = self.mt
        # new[i] = old-or-new[i+397 mod 624] ^ f(new-or-old[i] upper bit, old[i+1] lower bits).
        # new[i] for i in [0,227) reads old[i+397]; [227,454) reads new[i-227]; [454,623) reads new[i-227];
        # i = 623 reads new[0] as its "next" word.  Each block only reads values that are final already.
        def block(lo, hi):
            y = (mt[lo:hi] & _UPPER) | (mt[lo + 1:hi + 1] & _LOWER)
            mag = np.where((y & np.uint32(1)) != 0, _MATRIX_A, np.uint32(0))
            return y >> np.uint32(1), mag

        y, mag = block(0, 227)
        mt[0:227] = mt[397:624] ^ y ^ mag
        y, mag = block(227, 454)
        mt[227:454] = mt[0:227] ^ y ^ mag
        y, mag = block(454, 623)
        mt[454:623] = mt[227:396] ^ y ^ mag
        y = (mt[623] & _UPPER) | (mt[0] & _LOWER)
        mt[623] = mt[396] ^ (y >> np.uint32(1)) ^ (_MATRIX_A if (y & np.uint32(1)) else np.uint32(0))
        self.idx = 0

    @staticmethod
    def _temper(y: np.ndarray) -> np.ndarray:
        y = y ^ (y >> np.uint32(11))
        y = y ^ ((y << np.uint32(7)) & np.uint32(0x9D2C5680))
        y = y ^ ((y << np.uint32(15)) & np.uint32(0xEFC60000))
        return y ^ (y >> np.uint32(18))

    def discard(self, n: int) -> None:
        """Advance by n outputs (twists without tempering)."""
        if n < 0:
            raise ValueError("discard count must be >= 0")
        avail = _N - self.idx
        if n <= avail:
            self.idx += n
            return
        n -= avail
        self.idx = _N
        while n >= _N:
            self._twist()
            n -= _N
        self._twist()
        self.idx = n

    def random_u32(self, n: int) -> np.ndarray:
        """The next n tempered 32-bit outputs as a uint32 array."""
        out = np.empty(n, dtype=np.uint32)
        pos = 0
        while pos < n:
            if self.idx >= _N:
                self._twist()
            take = min(_N - self.idx, n - pos)
            out[pos:pos + take] = self.mt[self.idx:self.idx + take]
            self.idx += take
            pos += take
        return self._temper(out)

    def copy(self) -> "MT19937":
        c = MT19937.__new__(MT19937)
        c.mt = self.mt.copy()
        c.idx = self.idx
        return c


def u32_to_unit_float32(u: np.ndarray) -> np.ndarray:
    """torch's CPU uniform float: (u32 & 0xFFFFFF) * 2**-24 (exact in float32)."""
    return ((u & np.uint32(0xFFFFFF)).astype(np.float32) * np.float32(2.0 ** -24)).astype(np.float32)


_skipped_state = None


def _hift_noise_rng() -> MT19937:
    global _skipped_state
    if _skipped_state is None:
        r = MT19937(HIFT_NOISE_SEED)
        r.discard(HIFT_NOISE_SKIP)
        _skipped_state = r
    return _skipped_state.copy()


def hift_source_noise(num_samples: int, harmonics: int = HIFT_HARMONICS) -> np.ndarray:
    """``sine_waves[:, :num_samples, :]`` of the upstream CausalHiFTGenerator: float32 [1, n, harmonics].

    num_samples is the output sample count at 24 kHz (480 per mel frame), at most 7,200,000."""
    n = int(num_samples)
    if n < 0 or n > HIFT_NOISE_MAX_SAMPLES:
        raise ValueError("HiFT source noise has %d samples; asked for %d" % (HIFT_NOISE_MAX_SAMPLES, n))
    if harmonics != HIFT_HARMONICS:
        # The buffer is [1, 7.2M, 9] with the harmonic index fastest; other widths would change the layout.
        raise ValueError("the upstream buffer has %d harmonics, got %d" % (HIFT_HARMONICS, harmonics))
    u = _hift_noise_rng().random_u32(n * harmonics)
    return u32_to_unit_float32(u).reshape(1, n, harmonics)
