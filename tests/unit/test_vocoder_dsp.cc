// tests/unit/test_vocoder_dsp.cc - NSF source noise/excitation and the ISTFT.
#include <gmock/gmock.h>

#include <algorithm>
#include <cmath>

#include "common/npy.h"
#include "engine/istft.h"
#include "engine/nsf_source.h"
#include "fp32_bounds.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using testing::Chain;
using testing::Gamma;
using testing::kFnUlps;
using testing::kU;
using testing::Pair;
using testing::TestData;

// The ISTFT (n_fft 16, hop 4, periodic Hann) of `frames` columns of re/im [9, frames]: each sample
// is sum_f w(t - 4f) frame_f(t) / envelope, frame_f = (1/16) sum_k c_k (re cos - im sin), c_k <= 2.
// Its terms have magnitude <= (sum_f w / envelope) max_f (2/16) sum_k |X_kf| = (2 / 1.5) S.
// One chain: 18 terms of the inverse DFT, 4 frames of overlap-add, the division, the twiddles.
constexpr double kIstftDepth = Chain({18, 4, 2}, 2);
double IstftTerms(const float *re, const float *im, int frames) {
  double s = 0;
  for (int f = 0; f < frames; ++f) {
    double col = 0;
    for (int k = 0; k < 9; ++k)
      col += std::hypot(static_cast<double>(re[k * frames + f]), im[k * frames + f]);
    s = std::max(s, 2.0 / 16 * col);
  }
  return 2.0 / 1.5 * s;
}

TEST(SourceNoise, EqualsTorchsFixedBufferBitForBit) {
  const NpyArray want = NpyArray::Load(TestData() / "dsp/source_noise_head.npy");
  SourceNoise noise(0, 5052970, 9);
  const float *got = noise.Get(want.dim(0))->data();
  const float *w = want.data<float>();
  for (int64_t i = 0; i < want.num_elements(); ++i) ASSERT_EQ(got[i], w[i]) << "element " << i;
}

TEST(SourceNoise, LaterCallsExtendTheSameStream) {
  SourceNoise a(0, 10, 9), b(0, 10, 9);
  const SourceNoise::Values short_a = a.Get(5);
  const SourceNoise::Values long_a = a.Get(100);
  const SourceNoise::Values long_b = b.Get(100);
  ASSERT_GE(long_a->size(), 900u);
  for (int i = 0; i < 900; ++i) ASSERT_EQ((*long_a)[i], (*long_b)[i]);
  // the snapshot taken before growing is still valid and holds the same prefix
  ASSERT_GE(short_a->size(), 45u);
  for (int i = 0; i < 45; ++i) ASSERT_EQ((*short_a)[i], (*long_a)[i]);
}

TEST(Istft, MatchesTorchIstft) {
  const auto real = NpyArray::Load(TestData() / "dsp/istft_real.npy");
  const auto imag = NpyArray::Load(TestData() / "dsp/istft_imag.npy");
  const auto want = NpyArray::Load(TestData() / "dsp/istft_out.npy");
  Istft istft(16, 4);
  const int frames = static_cast<int>(real.dim(1));
  const auto got = istft.Run(real.data<float>(), imag.data<float>(), frames);
  ASSERT_EQ(static_cast<int64_t>(got.size()), want.dim(0));
  double max_err = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double ref = static_cast<double>(want.data<float>()[i]);
    max_err = std::max(max_err, std::abs(static_cast<double>(got[i]) - ref));
  }
  // two float32 evaluations (ours, torch.istft) of the same chain
  EXPECT_LE(max_err, Pair(kIstftDepth, IstftTerms(real.data<float>(), imag.data<float>(), frames)));
}

TEST(Istft, InvertsAWindowedStft) {
  // STFT (centered, periodic Hann, n_fft 16, hop 4) of a test signal by a direct DFT, then the
  // ISTFT must give the signal back: sum_f w*(w*x) / sum_f w^2 = x.
  const int n_fft = 16, hop = 4, nb = 9, frames = 40;
  const int length = hop * (frames - 1);
  std::vector<double> x(static_cast<size_t>(length));
  for (int t = 0; t < length; ++t) x[t] = std::sin(0.37 * t) + 0.25 * std::cos(1.9 * t + 0.3);
  auto padded = [&](int p) {  // reflect padding of n_fft/2, as torch.stft(center=True)
    int t = p - n_fft / 2;
    if (t < 0) t = -t;
    if (t >= length) t = 2 * (length - 1) - t;
    return x[t];
  };
  std::vector<float> re(nb * frames), im(nb * frames);
  for (int f = 0; f < frames; ++f) {
    for (int k = 0; k < nb; ++k) {
      double a = 0, b = 0;
      for (int n = 0; n < n_fft; ++n) {
        const double w = 0.5 - 0.5 * std::cos(2 * M_PI * n / n_fft);
        const double v = w * padded(f * hop + n);
        a += v * std::cos(2 * M_PI * k * n / n_fft);
        b -= v * std::sin(2 * M_PI * k * n / n_fft);
      }
      re[k * frames + f] = static_cast<float>(a);
      im[k * frames + f] = static_cast<float>(b);
    }
  }
  const auto y = Istft(n_fft, hop).Run(re.data(), im.data(), frames);
  ASSERT_EQ(y.size(), static_cast<size_t>(length));
  // the float64 spectrum rounded to float32 (u |X| per bin, through the inverse's gain
  // 18/16 * 2/1.5 = 1.5), then one float32 ISTFT against the exact inverse
  double max_bin = 0;
  for (int i = 0; i < nb * frames; ++i)
    max_bin = std::max(max_bin, std::hypot(static_cast<double>(re[i]), im[i]));
  const double bound = 1.5 * kU * max_bin + Gamma(kIstftDepth) * IstftTerms(re.data(), im.data(), frames);
  for (int t = 0; t < length; ++t) EXPECT_NEAR(static_cast<double>(y[t]), x[t], bound) << t;
}

TEST(NsfHarmonics, UnvoicedIsScaledNoiseVoicedIsSinePlusSmallNoise) {
  NsfSourceParams p;
  p.hop_length = 4;  // small hop keeps the test readable
  SourceNoise noise(0, 0, p.num_harmonics);
  const std::vector<float> f0 = {0.0f, 5.0f, 220.0f, 440.0f};
  const auto out = NsfHarmonics(f0, p, noise);
  ASSERT_EQ(out.size(), 4u * 4u * 9u);
  SourceNoise ref(0, 0, p.num_harmonics);
  const SourceNoise::Values ref_values = ref.Get(16);
  const float *buf = ref_values->data();
  // frames 0 and 1 are unvoiced (below 10 Hz): the same float32 product, exactly
  for (int n = 0; n < 8; ++n)
    for (int h = 0; h < 9; ++h) EXPECT_EQ(out[n * 9 + h], (0.1f / 3.0f) * buf[n * 9 + h]);
  // voiced: sin * 0.1 + 0.003 u; recovering the sine by subtracting 0.003 u rounds twice on values
  // <= 0.103, and |sin| <= 1 rounds to <= 0.1 (1 + u)
  const double recover = 2 * kU * 0.103;
  for (int n = 8; n < 16; ++n) {
    for (int h = 0; h < 9; ++h) {
      const float sine = out[n * 9 + h] - 0.003f * buf[n * 9 + h];
      EXPECT_LE(std::abs(sine), 0.1 * (1 + kU) + recover);
    }
  }
  // the phase is constant within a frame (nearest upsampling): equal sines across the hop
  for (int k = 1; k < 4; ++k) {
    const float s0 = out[8 * 9] - 0.003f * buf[8 * 9];
    const float sk = out[(8 + k) * 9] - 0.003f * buf[(8 + k) * 9];
    EXPECT_NEAR(s0, sk, 2 * recover);  // the same sine, recovered twice
  }
}

TEST(NsfHarmonics, PhaseAccumulatesFrameByFrame) {
  // f0 such that each frame advances harmonic 0 by exactly 1/8 cycle per sample:
  // rad = f0/sr = 1/8 per frame-step in the down-sampled domain, phase_k = 2*pi*hop*k/8.
  NsfSourceParams p;
  p.sample_rate = 800;
  p.hop_length = 1;
  p.noise_std = 0.0f;
  p.num_harmonics = 1;
  SourceNoise noise(0, 0, 1);
  const std::vector<float> f0(16, 100.0f);
  const auto out = NsfHarmonics(f0, p, noise);
  // the float64 cumulative phase k/8 is exact; * 2 * pi_f * hop in float32 rounds 3 times (and pi_f
  // once) on a phase <= 4 pi, then sin (kFnUlps), * 0.1 (1 rounding)
  const double bound = 0.1 * (4 * kU * 4 * M_PI + kFnUlps * kU) + kU * 0.1;
  for (int k = 0; k < 16; ++k) EXPECT_NEAR(out[k], 0.1 * std::sin(2 * M_PI * (k + 1) / 8.0), bound) << k;
}

}  // namespace
}  // namespace cosyvoice
