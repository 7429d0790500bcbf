// tests/unit/test_ab_metrics.cc - the A/B gate's metrics on inputs with known answers.
#include <gmock/gmock.h>

#include <cmath>
#include <random>

#include "quality/ab_metrics.h"
#include "test_util.h"

namespace cosyvoice::quality {
namespace {

std::vector<float> Sine(double hz, double seconds, int sr, double amp = 0.5) {
  std::vector<float> x(static_cast<size_t>(seconds * sr));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(amp * std::sin(2 * M_PI * hz * i / sr));
  return x;
}

TEST(Aggregates, MedianOfOddEvenAndNoValues) {
  EXPECT_DOUBLE_EQ(Median({3.0, 1.0, 2.0}), 2.0);
  EXPECT_DOUBLE_EQ(Median({4.0, 1.0, 3.0, 2.0}), 2.5);  // mean of the middle two
  EXPECT_DOUBLE_EQ(Median({}), 0.0);
}

TEST(LogitsComparer, IdenticalLogitsAgreeWithZeroKl) {
  LogitsComparer c(4);
  const float a[] = {0.1f, 2.0f, -1.0f, 0.5f};
  c.Add(a, a);
  c.Add(a, a);
  const LogitsComparison r = c.Result();
  EXPECT_EQ(r.steps, 2);
  EXPECT_DOUBLE_EQ(r.top1_agreement, 1.0);
  EXPECT_NEAR(r.mean_kl, 0.0, 1e-15);
}

TEST(LogitsComparer, KlAndAgreementHaveTheirClosedForms) {
  // P = softmax(0, ln 3) = (1/4, 3/4), Q = softmax(0, 0) = (1/2, 1/2): same argmax? P -> 1, Q -> 0 (first
  // max)
  const float p[] = {0.0f, std::log(3.0f)}, q[] = {0.0f, 0.0f};
  const double want = 0.25 * std::log(0.25 / 0.5) + 0.75 * std::log(0.75 / 0.5);
  EXPECT_NEAR(SoftmaxKl(p, q, 2), want, 1e-7);
  LogitsComparer c(2);
  c.Add(p, q);  // argmax 1 vs 0: disagree
  c.Add(p, p);  // agree, KL 0
  const LogitsComparison r = c.Result();
  EXPECT_DOUBLE_EQ(r.top1_agreement, 0.5);
  EXPECT_NEAR(r.mean_kl, want / 2, 1e-7);
  EXPECT_NEAR(r.max_kl, want, 1e-7);
}

TEST(LogitsComparer, ShiftInvarianceAndLargeLogits) {
  // softmax is shift-invariant; logits of 1e4 must not overflow
  const float p[] = {1e4f, 1e4f + 1.0f, 1e4f - 2.0f}, q[] = {0.0f, 1.0f, -2.0f};
  EXPECT_NEAR(SoftmaxKl(p, q, 3), 0.0, 1e-9);
}

TEST(LogitsComparer, RejectsNonFiniteLogits) {
  LogitsComparer c(2);
  const float p[] = {0.0f, NAN}, q[] = {0.0f, 0.0f};
  EXPECT_COSY_ERROR(c.Add(p, q), ErrorCode::kInvalidArgument, "non-finite logit at index 1");
}

TEST(EditDistance, ClassicExamples) {
  // kitten -> sitting: 3 edits
  const std::vector<int32_t> kitten = {'k', 'i', 't', 't', 'e', 'n'},
                             sitting = {'s', 'i', 't', 't', 'i', 'n', 'g'};
  EXPECT_EQ(EditDistance(kitten, sitting), 3);
  EXPECT_NEAR(NormalizedEditDistance(kitten, sitting), 3.0 / 7.0, 1e-15);
  EXPECT_EQ(EditDistance({}, {1, 2, 3}), 3);
  EXPECT_DOUBLE_EQ(NormalizedEditDistance({}, {}), 0.0);
  EXPECT_DOUBLE_EQ(NormalizedEditDistance({1, 2, 3}, {4, 5, 6}), 1.0);
  EXPECT_DOUBLE_EQ(NormalizedEditDistance({1, 2, 3}, {1, 2, 3}), 0.0);
}

TEST(Spectra, MeanAbsoluteDifference) {
  const float a[] = {1, 2, 3, 4}, b[] = {1, 0, 4, 4};
  EXPECT_DOUBLE_EQ(MeanAbsoluteDifference(a, b, 4), 0.75);
}

TEST(Spectra, LogSpectralDistanceOfATwiceLouderSignalIsSixDecibels) {
  // white noise and the same noise x2: every bin's power ratio is 4, i.e. 6.0206 dB
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.0f, 0.1f);
  std::vector<float> x(24000), y(24000);
  for (size_t i = 0; i < x.size(); ++i) y[i] = 2.0f * (x[i] = n(rng));
  const Spectrogram a = PowerSpectrogram(y.data(), y.size(), 1024, 256);
  const Spectrogram b = PowerSpectrogram(x.data(), x.size(), 1024, 256);
  EXPECT_EQ(a.frames, 1 + (24000 - 1024) / 256);
  EXPECT_EQ(a.bins, 513);
  EXPECT_NEAR(LogSpectralDistance(a, b, 1e-12), 10 * std::log10(4.0), 1e-3);
  EXPECT_NEAR(LogSpectralDistance(a, a), 0.0, 1e-12);
}

TEST(Spectra, PowerSpectrogramPutsASineInItsBin) {
  // 24 kHz, n_fft 1024: 1500 Hz is bin 64 exactly; |X|^2 of a Hann-windowed sine of amplitude A at an
  // exact bin is (A N / 4)^2
  const auto x = Sine(1500.0, 0.5, 24000, 0.5);
  const Spectrogram s = PowerSpectrogram(x.data(), x.size(), 1024, 512);
  for (int64_t f = 0; f < s.frames; ++f) {
    EXPECT_NEAR(s.at(f, 64), std::pow(0.5 * 1024 / 4, 2), 1.0);
    EXPECT_LT(s.at(f, 70), 1e-6f * s.at(f, 64));
  }
}

TEST(Spectra, LogMelSpectralDistanceIsDecibelsOfTheLogMagnitudeGap) {
  // natural-log magnitudes that differ by ln 2 everywhere: 20 log10(2) = 6.0206 dB
  std::vector<float> a(80 * 10, -3.0f), b(80 * 10, static_cast<float>(-3.0 + std::log(2.0)));
  EXPECT_NEAR(LogMelSpectralDistance(b.data(), a.data(), 10, 80), 20 * std::log10(2.0), 1e-5);
}

TEST(Pitch, YinFindsTheFrequencyOfASine) {
  for (double hz : {110.0, 220.0, 330.5}) {
    const auto x = Sine(hz, 0.6, 24000);
    const F0Track t = EstimateF0(x.data(), x.size(), 24000);
    ASSERT_GT(t.hz.size(), 30u);
    for (float f : t.hz) EXPECT_NEAR(f, hz, hz * 0.002) << hz;  // 3.5 cents
  }
}

TEST(Pitch, SilenceAndNoiseAreUnvoiced) {
  std::vector<float> silence(24000, 0.0f);
  for (float f : EstimateF0(silence.data(), silence.size(), 24000).hz) EXPECT_EQ(f, 0.0f);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> noise(24000);
  for (float &v : noise) v = u(rng);
  const F0Track t = EstimateF0(noise.data(), noise.size(), 24000);
  int voiced = 0;
  for (float f : t.hz) voiced += f > 0;
  EXPECT_LT(voiced, static_cast<int>(t.hz.size()) / 10);
}

TEST(Pitch, RmseInCentsOfAShiftedTone) {
  // a tone 100 cents (one semitone) higher: RMSE 100 cents, no voicing errors
  const auto a = Sine(200.0, 0.5, 24000), b = Sine(200.0 * std::pow(2.0, 100.0 / 1200.0), 0.5, 24000);
  const F0Comparison c =
      CompareF0(EstimateF0(a.data(), a.size(), 24000), EstimateF0(b.data(), b.size(), 24000));
  EXPECT_GT(c.voiced_both, 20);
  EXPECT_NEAR(c.rmse_cents, 100.0, 2.0);
  EXPECT_DOUBLE_EQ(c.voicing_error, 0.0);
}

TEST(Pitch, GrossErrorsAreCountedApartFromTheRmse) {
  F0Track a, b;
  a.sample_rate = b.sample_rate = 24000;
  a.hop = b.hop = 240;
  a.hz = {100, 100, 100, 100};
  b.hz = {200, 100, 100 * std::pow(2.0f, 10.0f / 1200.0f), 119};  // an octave jump; 0; 10 cents; 19 %
  const F0Comparison c = CompareF0(a, b);
  EXPECT_EQ(c.voiced_both, 4);
  EXPECT_DOUBLE_EQ(c.gross_error_rate, 0.25);
  const double c19 = 1200 * std::log2(1.19);
  EXPECT_NEAR(c.rmse_cents, std::sqrt((0 + 100 + c19 * c19) / 3), 1e-3);
}

TEST(Pitch, VoicingErrorCountsFramesVoicedInOnlyOne) {
  F0Track a, b;
  a.sample_rate = b.sample_rate = 24000;
  a.hop = b.hop = 240;
  a.hz = {100, 100, 0, 0};
  b.hz = {100, 0, 100, 0, 7};  // the longer track's extra frame is ignored
  const F0Comparison c = CompareF0(a, b);
  EXPECT_EQ(c.frames, 4);
  EXPECT_EQ(c.voiced_both, 1);
  EXPECT_DOUBLE_EQ(c.rmse_cents, 0.0);
  EXPECT_DOUBLE_EQ(c.voicing_error, 0.5);
  b.hop = 480;
  EXPECT_COSY_ERROR(CompareF0(a, b), ErrorCode::kInvalidArgument, "different frame rates");
}

TEST(SpeakerAndLength, CosineAndDurationRatio) {
  const float a[] = {1, 0, 0}, b[] = {1, 1, 0}, z[] = {0, 0, 0};
  EXPECT_NEAR(CosineSimilarity(a, b, 3), 1 / std::sqrt(2.0), 1e-15);
  EXPECT_DOUBLE_EQ(CosineSimilarity(a, a, 3), 1.0);
  EXPECT_DOUBLE_EQ(CosineSimilarity(a, z, 3), 0.0);
  EXPECT_DOUBLE_EQ(DurationRatio(100, 125), 1.25);
  EXPECT_COSY_ERROR(DurationRatio(0, 1), ErrorCode::kInvalidArgument, "empty reference");
}

}  // namespace
}  // namespace cosyvoice::quality
