"""Fixed noise sources: flow randn and the HiFT uniform source noise (verification §3.B).

Tiers: the C++ standard's MT19937 check value, numpy's own MT19937, torch's CPU generator, and a
compiled std::mt19937(0) + discard(5052970) (what the C++ engine will use).
"""
import numpy as np
import pytest

import _front_helpers as H
from cosyvoice_export import noise as N


def test_mt19937_standard_check_value():
    # [rand.predef]: the 10000th output of a default-constructed std::mt19937 (seed 5489) is 4123659995.
    r = N.MT19937(5489)
    r.discard(9999)
    assert int(r.random_u32(1)[0]) == 4123659995


def test_mt19937_matches_numpy_bit_generator():
    bg = np.random.MT19937()
    bg._legacy_seeding(0)          # init_genrand(0), the same seeding as torch / std::mt19937(0)
    ref = bg.random_raw(5000).astype(np.uint32)
    r = N.MT19937(0)
    # read in uneven pieces to cross twist boundaries
    got = np.concatenate([r.random_u32(k) for k in (1, 623, 1, 700, 1875, 1800)])
    assert np.array_equal(got, ref)


def test_mt19937_discard_equals_reading():
    a, b = N.MT19937(0), N.MT19937(0)
    a.discard(5_052_970)
    b.random_u32(5_052_970)
    assert np.array_equal(a.random_u32(2000), b.random_u32(2000))
    c = N.MT19937(0)
    c.discard(10)
    c.discard(700)
    d = N.MT19937(0)
    d.random_u32(710)
    assert np.array_equal(c.random_u32(50), d.random_u32(50))


def test_hift_source_noise_matches_torch_stream():
    import torch

    n = 2000
    g = torch.Generator().manual_seed(0)
    torch.rand(N.HIFT_NOISE_SKIP, generator=g)
    ref = torch.rand(1, n, 9, generator=g).numpy()
    got = N.hift_source_noise(n)
    assert got.dtype == np.float32 and got.shape == (1, n, 9)
    assert np.array_equal(got, ref)


def test_hift_source_noise_is_a_prefix_and_well_formed():
    a = N.hift_source_noise(480 * 3)
    b = N.hift_source_noise(480 * 5)
    assert np.array_equal(a, b[:, :480 * 3])
    scaled = b.astype(np.float64) * 2 ** 24
    assert np.all(scaled == np.floor(scaled)) and b.min() >= 0.0 and b.max() < 1.0
    # a statistical sanity check, not a rounding one: the mean of n uniforms has sigma sqrt(1/12/n);
    # 6 sigma (fixed data, so it either always or never holds; 1e-9 of streams would fail)
    assert abs(float(b.mean()) - 0.5) <= 6 * (1 / 12 / b.size) ** 0.5
    with pytest.raises(ValueError):
        N.hift_source_noise(N.HIFT_NOISE_MAX_SAMPLES + 1)
    assert N.hift_source_noise(0).shape == (1, 0, 9)


def test_hift_source_noise_30s_is_fast_enough():
    import time

    t = time.time()
    x = N.hift_source_noise(720_000)     # 30 s at 24 kHz
    assert x.shape == (1, 720_000, 9)
    assert time.time() - t < 20.0


_CXX_MT = r"""
#include <cstdio>
#include <random>
int main() {
    std::mt19937 g(0);
    g.discard(5052970);
    for (int i = 0; i < 900; ++i) {
        unsigned v = static_cast<unsigned>(g());
        std::printf("%u %a\n", v, (double)(v & 0xFFFFFFu) * (1.0 / 16777216.0));
    }
}
"""


@pytest.mark.skipif(H.cxx_compiler() is None, reason="no C++ compiler for the std::mt19937 cross-check")
def test_hift_source_noise_matches_std_mt19937_discard():
    lines = H.compile_and_run(_CXX_MT, "c++").split("\n")
    got = N.hift_source_noise(100).reshape(-1)
    r = N.MT19937(0)
    r.discard(N.HIFT_NOISE_SKIP)
    raw = r.random_u32(900)
    for k in range(900):
        v, f = lines[k].split()
        assert int(v) == int(raw[k])
        assert float.fromhex(f) == float(got[k])


def test_flow_noise_equals_global_seed_version_and_leaves_global_rng_alone():
    import torch

    state = torch.get_rng_state()
    x = N.flow_noise()
    assert torch.equal(torch.get_rng_state(), state)
    assert x.shape == (1, 80, 15000) and x.dtype == torch.float32
    try:
        torch.manual_seed(0)
        ref = torch.randn(1, 80, 15000)
    finally:
        torch.set_rng_state(state)
    assert torch.equal(x, ref)
    # statistical sanity (6 sigma): the mean of n normals has sigma 1/sqrt(n), their std 1/sqrt(2n)
    n = x.numel()
    assert abs(float(x.mean())) <= 6 / n ** 0.5 and abs(float(x.std()) - 1.0) <= 6 / (2 * n) ** 0.5
