// Analytic properties of the FFT, windows, filterbanks and feature extractors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <complex>
#include <numeric>
#include <random>
#include <vector>

#include "audio/features.h"
#include "audio/fft.h"
#include "audio/mel_filters.h"
#include "fp32_bounds.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using testing::FftDepth;
using testing::Gamma;
using testing::kFnUlps;
using testing::kU;
using testing::kU64;

std::vector<float> RandomSignal(size_t n, unsigned seed, float scale = 0.3f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> x(n);
  for (float &v : x) v = dist(rng);
  return x;
}

std::vector<float> Sine(size_t n, double hz, int sample_rate, double amplitude) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * hz * i / sample_rate));
  return x;
}

// ---- FFT -------------------------------------------------------------------------------------

class RealFftSizes : public ::testing::TestWithParam<int> {};

TEST_P(RealFftSizes, MatchesNaiveDft) {
  const int n = GetParam();
  const std::vector<float> x = RandomSignal(static_cast<size_t>(n), 100u + static_cast<unsigned>(n));
  RealFft fft(n);
  ASSERT_EQ(fft.num_bins(), n / 2 + 1);
  std::vector<std::complex<float>> out(static_cast<size_t>(fft.num_bins()));
  std::vector<float> work;
  fft.Forward(x.data(), out.data(), work);
  // float32 FFT against a float64 DFT: every bin within gamma(FftDepth(n)) of the l1 norm sum |x|
  double l1 = 0.0;
  for (float v : x) l1 += std::fabs(static_cast<double>(v));
  const double bound = Gamma(FftDepth(n)) * l1 + Gamma(2.0 * n + 4, kU64) * l1;
  for (int k = 0; k <= n / 2; ++k) {
    std::complex<double> want = 0.0;
    for (int j = 0; j < n; ++j)
      want += static_cast<double>(x[static_cast<size_t>(j)]) * std::polar(1.0, -2.0 * M_PI * j * k / n);
    const std::complex<double> got(out[static_cast<size_t>(k)].real(), out[static_cast<size_t>(k)].imag());
    EXPECT_LE(std::abs(got - want), bound) << "n=" << n << " bin " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, RealFftSizes, ::testing::Values(1, 2, 4, 12, 14, 15, 22, 400, 512, 1920));

TEST(RealFft, UsesFftpackPassesForSmoothSizesAndKissfftOtherwise) {
  EXPECT_FALSE(RealFft(400).uses_kissfft());
  EXPECT_FALSE(RealFft(1920).uses_kissfft());
  EXPECT_FALSE(RealFft(15).uses_kissfft());
  EXPECT_TRUE(RealFft(14).uses_kissfft());
  EXPECT_COSY_ERROR(RealFft(7), ErrorCode::kInvalidArgument, "expected an even size");
  EXPECT_COSY_ERROR(RealFft(0), ErrorCode::kInvalidArgument, "must be positive");
}

TEST(RealFft, ImpulseAndDc) {
  RealFft fft(512);
  std::vector<float> x(512, 0.0f), work;
  std::vector<std::complex<float>> out(257);
  x[0] = 1.0f;
  fft.Forward(x.data(), out.data(), work);
  for (const auto &v : out) EXPECT_EQ(v, std::complex<float>(1.0f, 0.0f));
  std::fill(x.begin(), x.end(), 0.5f);
  fft.Forward(x.data(), out.data(), work);
  EXPECT_EQ(out[0].real(), 256.0f);  // every partial sum of 0.5s is exact in float32
  // the exact bins k > 0 are 0: only rounding, gamma(FftDepth) of sum |x| = 256
  for (size_t k = 1; k < out.size(); ++k) EXPECT_LE(std::abs(out[k]), Gamma(FftDepth(512)) * 256.0);
}

// ---- windows -------------------------------------------------------------------------------

TEST(Windows, PoveyIsHannToThePower085WithZeroEnds) {
  const std::vector<float> povey = PoveyWindow(400);
  ASSERT_EQ(povey.size(), 400u);
  EXPECT_EQ(povey.front(), 0.0f);
  EXPECT_EQ(povey.back(), 0.0f);
  // float32: the argument 2 pi k / 399 (3 roundings, |cos'| <= 1, |arg| <= 2 pi), cos (kFnUlps),
  // 0.5 - 0.5 c (2 roundings): |dh| <= (3 * 2 pi * 0.5 + kFnUlps * 0.5 + 2) u; pow(h, 0.85) then
  // amplifies it by 0.85 h^-0.15 and adds kFnUlps of its value
  const double dh = (3 * M_PI + 0.5 * kFnUlps + 2) * kU;
  auto bound = [&](double hann) {
    const double p = std::pow(hann, 0.85);
    return hann > 0 ? 0.85 * p / hann * dh + kFnUlps * kU * p : std::pow(dh, 0.85);
  };
  for (int k = 0; k < 400; ++k) {
    const double hann = 0.5 - 0.5 * std::cos(2 * M_PI * k / 399.0);
    const double hann_mirror = 0.5 - 0.5 * std::cos(2 * M_PI * (399 - k) / 399.0);
    EXPECT_NEAR(povey[static_cast<size_t>(k)], std::pow(hann, 0.85), bound(hann)) << k;
    EXPECT_NEAR(povey[static_cast<size_t>(k)], povey[static_cast<size_t>(399 - k)],
                bound(hann) + bound(hann_mirror))
        << k;  // two float32 evaluations at mirrored arguments
  }
}

TEST(Windows, PeriodicHann) {
  for (int n : {400, 1920}) {
    const std::vector<float> w = HannWindow(n, true);
    ASSERT_EQ(w.size(), static_cast<size_t>(n));
    EXPECT_EQ(w[0], 0.0f);
    EXPECT_FLOAT_EQ(w[static_cast<size_t>(n / 2)], 1.0f);
    // float32: argument (3 roundings on |arg| <= 2 pi, |cos'| <= 1), cos, 0.5 - 0.5 c (2 roundings)
    const double bound = (3 * M_PI + 0.5 * kFnUlps + 2) * kU;
    for (int k = 1; k < n; ++k) {
      EXPECT_NEAR(w[static_cast<size_t>(k)], 0.5 - 0.5 * std::cos(2 * M_PI * k / n), bound) << k;
      EXPECT_NEAR(w[static_cast<size_t>(k)], w[static_cast<size_t>(n - k)], 2 * bound) << k;
    }
  }
  EXPECT_EQ(HannWindow(1, true), std::vector<float>{1.0f});
}

// ---- mel filterbanks -----------------------------------------------------------------------

TEST(MelFilters, SlaneyScale) {
  // float64 (a log or exp and up to 4 roundings each way): (kFnUlps + 4) u64 of the value; the
  // round trip also turns the mel's absolute error into a relative one of hz (exp' = exp) times
  // ln(6.4)/27 per mel above 1 kHz
  EXPECT_DOUBLE_EQ(HzToMelSlaney(0.0), 0.0);
  EXPECT_NEAR(HzToMelSlaney(1000.0), 15.0, (kFnUlps + 4) * kU64 * 15.0);
  EXPECT_NEAR(HzToMelSlaney(6400.0), 15.0 + 27.0, (kFnUlps + 4) * kU64 * 42.0);  // 27 mels per factor 6.4
  for (double hz : {20.0, 500.0, 999.0, 1000.0, 4000.0, 11999.0}) {
    const double mel = HzToMelSlaney(hz);
    EXPECT_NEAR(MelToHzSlaney(mel), hz, 2 * (kFnUlps + 4) * kU64 * (1 + mel) * hz);
  }
}

// Each Slaney filter is a triangle of unit area in Hz (norm='slaney'), peaking at its centre.
void CheckSlaney(int sr, int n_fft, int n_mels) {
  const std::vector<float> w = SlaneyMelFilters(sr, n_fft, n_mels, 0.0, 0.0);
  const int bins = n_fft / 2 + 1;
  ASSERT_EQ(w.size(), static_cast<size_t>(n_mels * bins));
  const double bin_hz = static_cast<double>(sr) / n_fft;
  const double mel_max = HzToMelSlaney(sr / 2.0);
  for (int m = 0; m < n_mels; ++m) {
    const float *row = w.data() + m * bins;
    const double lo = MelToHzSlaney(mel_max * m / (n_mels + 1)),
                 center = MelToHzSlaney(mel_max * (m + 1) / (n_mels + 1)),
                 hi = MelToHzSlaney(mel_max * (m + 2) / (n_mels + 1));
    const int peak = static_cast<int>(std::max_element(row, row + bins) - row);
    // geometry, not rounding: the peak bin is within one bin of the centre, and the value there is
    // the triangle (height 2 / (hi - lo), sides to lo and hi) at that bin, up to the float32 rounding
    // of the weight (a few operations on values <= height)
    EXPECT_LE(std::fabs(peak * bin_hz - center), bin_hz) << "filter " << m;
    const double height = 2.0 / (hi - lo), f = peak * bin_hz;
    EXPECT_NEAR(row[peak],
                height * std::max(0.0, std::min((f - lo) / (center - lo), (hi - f) / (hi - center))),
                (kFnUlps + 6) * kU * height)
        << "filter " << m;
    double area = 0.0;
    for (int k = 0; k < bins; ++k) {
      EXPECT_GE(row[k], 0.0f);
      if (k * bin_hz <= lo || k * bin_hz >= hi) {
        EXPECT_EQ(row[k], 0.0f) << "filter " << m << " bin " << k;
      }
      area += static_cast<double>(row[k]) * bin_hz;
    }
    // Riemann sum of a unit-area triangle of base B = hi - lo at spacing h: exact for the linear
    // pieces (the ends are 0); each of the 3 kinks (slope jumps 4/B^2, 8/B^2, 4/B^2) adds at most
    // h^2 |jump| / 8: |sum - 1| <= 2 (h / B)^2 (discretisation), plus the float32 weights' rounding.
    if (hi - lo > 8 * bin_hz) {
      const double hb = bin_hz / (hi - lo);
      EXPECT_NEAR(area, 1.0, 2 * hb * hb + Gamma(bins + kFnUlps + 6)) << "filter " << m;
    }
  }
}

TEST(MelFilters, SlaneyWhisper128) {
  CheckSlaney(16000, 400, 128);
}
TEST(MelFilters, SlaneyMatcha80) {
  CheckSlaney(24000, 1920, 80);
}

TEST(MelFilters, KaldiBanksAreTrianglesInKaldiMel) {
  const std::vector<float> banks = KaldiMelBanks(80, 512, 16000, 20, 0);
  const int cols = 257;
  ASSERT_EQ(banks.size(), static_cast<size_t>(80 * cols));
  const auto mel = [](double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); };
  const double lo = mel(20), hi = mel(8000), delta = (hi - lo) / 81;
  // torchaudio's float32 mel scale: 1127 log(1 + f/700) errs by <= (kFnUlps + 3) u mel + 2 * 1127 u,
  // so a weight (m - left) / delta errs by <= 2 dmel / delta + 2 u
  const double dmel = (kFnUlps + 3) * kU * hi + 2 * 1127.0 * kU;
  const double weight_bound = 2 * dmel / delta + 2 * kU;
  double previous_peak = -1;
  for (int b = 0; b < 80; ++b) {
    const float *row = banks.data() + b * cols;
    EXPECT_EQ(row[0], 0.0f);         // DC is below 20 Hz
    EXPECT_EQ(row[cols - 1], 0.0f);  // the appended Nyquist column
    float peak = 0;
    int peak_bin = 0;
    for (int k = 0; k < cols - 1; ++k) {
      const double m = mel(31.25 * k);
      const double want =
          std::max(0.0, std::min((m - (lo + b * delta)) / delta, (lo + (b + 2) * delta - m) / delta));
      EXPECT_NEAR(row[k], want, weight_bound) << "bin " << b << " fft bin " << k;
      if (row[k] > peak) peak = row[k], peak_bin = k;
    }
    EXPECT_LE(peak, 1.0f);
    EXPECT_GT(peak, 0.3f);
    EXPECT_GE(peak_bin, previous_peak);
    previous_peak = peak_bin;
  }
}

TEST(SparseFilterbank, AppliesLikeDense) {
  std::vector<float> dense = {0, 1, 2, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0};
  SparseFilterbank fb(dense, 3, 5);
  EXPECT_EQ(fb.ToDense(), dense);
  const std::vector<float> x = {1, 10, 100, 1000, 10000};
  std::vector<float> y(3);
  fb.Apply(x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{210, 40300, 0}));
  EXPECT_COSY_ERROR(SparseFilterbank(dense, 4, 5), ErrorCode::kInvalidArgument, "rows*cols");
}

// ---- frame counts and edge lengths ---------------------------------------------------------

TEST(Features, FrameCounts) {
  EXPECT_EQ(KaldiFbankExtractor::NumFrames(399), 0);
  EXPECT_EQ(KaldiFbankExtractor::NumFrames(400), 1);
  EXPECT_EQ(KaldiFbankExtractor::NumFrames(559), 1);
  EXPECT_EQ(KaldiFbankExtractor::NumFrames(560), 2);
  EXPECT_EQ(KaldiFbankExtractor::NumFrames(160000), 998);
  EXPECT_EQ(WhisperLogMelExtractor::NumFrames(160000), 1000);
  EXPECT_EQ(WhisperLogMelExtractor::NumFrames(479), 2);
  EXPECT_EQ(MatchaMelExtractor::NumFrames(240000), 500);
  EXPECT_EQ(MatchaMelExtractor::NumFrames(961), 2);
}

TEST(Features, OutputShapesForEdgeLengths) {
  for (size_t n : {400u, 401u, 479u, 480u, 481u, 559u, 560u, 16000u}) {
    const std::vector<float> x = RandomSignal(n, static_cast<unsigned>(n));
    const FeatureMatrix fbank = KaldiFbank(x);
    EXPECT_EQ(fbank.shape(), (std::vector<int64_t>{1 + static_cast<int64_t>((n - 400) / 160), 80})) << n;
    const FeatureMatrix whisper = WhisperLogMel(x);
    EXPECT_EQ(whisper.shape(), (std::vector<int64_t>{128, static_cast<int64_t>(n / 160)})) << n;
  }
  for (size_t n : {721u, 959u, 960u, 961u, 24000u}) {
    const FeatureMatrix mel = MatchaMel(RandomSignal(n, static_cast<unsigned>(n)));
    EXPECT_EQ(mel.shape(), (std::vector<int64_t>{static_cast<int64_t>(n / 480), 80})) << n;
  }
}

TEST(Features, TooShortInputsAreRejected) {
  EXPECT_COSY_ERROR(KaldiFbank(RandomSignal(399, 1)), ErrorCode::kInvalidAudio,
                    "kaldi fbank: audio has 399 samples at 16000 Hz; expected at least 400");
  EXPECT_COSY_ERROR(WhisperLogMel(RandomSignal(200, 1)), ErrorCode::kInvalidAudio, "expected at least 201");
  EXPECT_COSY_ERROR(MatchaMel(RandomSignal(720, 1)), ErrorCode::kInvalidAudio, "expected at least 721");
  EXPECT_COSY_ERROR(MatchaMel({}), ErrorCode::kInvalidAudio, "matcha mel");
}

TEST(Features, DigitalSilence) {
  const std::vector<float> zeros(16000, 0.0f);
  for (float v : KaldiFbank(zeros).data) EXPECT_EQ(v, 0.0f);  // log(FLT_EPSILON) everywhere, minus its mean
  const FeatureMatrix raw =
      KaldiFbankExtractor().Compute(zeros.data(), zeros.size(), /*subtract_mean=*/false);
  for (float v : raw.data) EXPECT_FLOAT_EQ(v, std::log(FLT_EPSILON));
  for (float v : WhisperLogMel(zeros).data) EXPECT_FLOAT_EQ(v, (-10.0f + 4.0f) / 4.0f);  // log10(1e-10)
  const std::vector<float> zeros24(24000, 0.0f);
  for (float v : MatchaMel(zeros24).data) EXPECT_FLOAT_EQ(v, std::log(1e-5f));  // clamped
}

TEST(Features, ToneLandsInTheRightBands) {
  // 1 kHz: Whisper's Slaney filter centred nearest 1 kHz, Matcha's likewise, Kaldi's mel bin.
  const FeatureMatrix whisper = WhisperLogMel(Sine(16000, 1000.0, 16000, 0.5));
  int best = 0;
  for (int m = 0; m < 128; ++m)
    if (whisper.at(m, 50) > whisper.at(best, 50)) best = m;
  // band geometry, not rounding: the loudest band's centre is within 2.5 filter spacings of the
  // tone (spacing ~23 Hz for Whisper, ~51 Hz for Matcha, ~32 Hz for Kaldi near 1 kHz), as the
  // window's main lobe spreads a tone over 4 bins (160 Hz, 50 Hz, 125 Hz)
  EXPECT_NEAR(MelToHzSlaney(HzToMelSlaney(8000.0) * (best + 1) / 129), 1000.0, 60.0);
  EXPECT_FLOAT_EQ(whisper.at(best, 50), *std::max_element(whisper.data.begin(), whisper.data.end()));

  const FeatureMatrix mel = MatchaMel(Sine(24000, 1000.0, 24000, 0.5));
  best = 0;
  for (int m = 0; m < 80; ++m)
    if (mel.at(25, m) > mel.at(25, best)) best = m;
  EXPECT_NEAR(MelToHzSlaney(HzToMelSlaney(12000.0) * (best + 1) / 81), 1000.0, 120.0);

  const FeatureMatrix fbank =
      KaldiFbankExtractor().Compute(Sine(16000, 1000.0, 16000, 0.5).data(), 16000, false);
  best = 0;
  for (int b = 0; b < 80; ++b)
    if (fbank.at(40, b) > fbank.at(40, best)) best = b;
  const double lo = 1127 * std::log(1 + 20 / 700.0), hi = 1127 * std::log(1 + 8000 / 700.0);
  const double center_hz = 700 * (std::exp((lo + (best + 1) * (hi - lo) / 81) / 1127) - 1);
  EXPECT_NEAR(center_hz, 1000.0, 80.0);
}

TEST(Features, KaldiMeanSubtractionZeroesColumnMeans) {
  const std::vector<float> x = RandomSignal(8000, 3);
  const FeatureMatrix f = KaldiFbank(x);
  const FeatureMatrix raw = KaldiFbankExtractor().Compute(x.data(), x.size(), false);
  for (int64_t b = 0; b < f.cols; ++b) {
    double sum = 0, max_abs = 0;
    for (int64_t r = 0; r < f.rows; ++r) {
      sum += static_cast<double>(f.at(r, b));
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(raw.at(r, b))));
    }
    // the mean (float64 sum, rounded to float32) and each float32 subtraction round once each on
    // values <= max |raw|; the float64 mean here adds gamma64(rows)
    EXPECT_NEAR(sum / static_cast<double>(f.rows), 0.0, (2 * kU + Gamma(f.rows + 1, kU64)) * 2 * max_abs);
  }
}

TEST(Features, TorchContiguousSumIsASum) {
  for (size_t n : {1u, 3u, 7u, 8u, 9u, 400u, 1000u, 100000u}) {
    const std::vector<float> x = RandomSignal(n, static_cast<unsigned>(n));
    double exact = 0, abs_sum = 0;
    for (float v : x) {
      exact += static_cast<double>(v);
      abs_sum += std::fabs(static_cast<double>(v));
    }
    // any float32 summation order: gamma(n) sum |x| (and gamma64(n) for the float64 reference)
    EXPECT_NEAR(TorchContiguousSum(x.data(), n), exact, (Gamma(n) + Gamma(n, kU64)) * abs_sum) << n;
  }
  const std::vector<float> small = {1e8f, 1.0f, -1e8f};  // below 8 values: a running float sum
  EXPECT_EQ(TorchContiguousSum(small.data(), small.size()), (1e8f + 1.0f) - 1e8f);
}

}  // namespace
}  // namespace cosyvoice
