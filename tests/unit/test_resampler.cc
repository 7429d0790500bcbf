// The torchaudio-equal resampler: lengths, kernel geometry, pass band.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "audio/audio_io.h"
#include "audio/resampler.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

TEST(Resampler, OutputLengthIsCeilOfReducedRatio) {
  const int pairs[][2] = {{48000, 16000}, {44100, 16000}, {22050, 24000},
                          {16000, 24000}, {24000, 16000}, {8000, 24000}};
  for (const auto &p : pairs) {
    Resampler r(p[0], p[1]);
    for (size_t n : {0u, 1u, 2u, 3u, 159u, 441u, 1000u, 44101u, 1323001u}) {
      const size_t want = static_cast<size_t>(std::ceil(static_cast<double>(p[1]) * n / p[0] - 1e-12));
      EXPECT_EQ(r.OutputLength(n), want) << p[0] << "->" << p[1] << " n=" << n;
      if (n < 50000) {
        EXPECT_EQ(r.Process(std::vector<float>(n, 0.1f)).size(), want);
      }
    }
  }
}

TEST(Resampler, KernelGeometryFollowsTorchaudio) {
  // width = ceil(6 * orig / (min(orig, new) * 0.99)) with rates reduced by their gcd.
  Resampler a(48000, 16000);
  EXPECT_EQ(a.orig_step(), 3);
  EXPECT_EQ(a.new_step(), 1);
  EXPECT_EQ(a.width(), 19);
  EXPECT_EQ(a.kernel().size(), 1u * (2 * 19 + 3));
  Resampler b(44100, 16000);
  EXPECT_EQ(b.orig_step(), 441);
  EXPECT_EQ(b.new_step(), 160);
  EXPECT_EQ(b.width(), 17);
  Resampler c(16000, 24000);
  EXPECT_EQ(c.width(), 7);
  EXPECT_EQ(c.kernel().size(), 3u * (2 * 7 + 2));
}

TEST(Resampler, EqualRatesCopy) {
  const std::vector<float> x = {0.1f, -0.2f, 0.3f};
  EXPECT_EQ(Resample(x, 16000, 16000), x);
  EXPECT_EQ(Resampler(24000, 24000).Process(x), x);
}

TEST(Resampler, KeepsDcAndPassbandTones) {
  for (const auto &p :
       std::vector<std::pair<int, int>>{{48000, 16000}, {44100, 24000}, {16000, 24000}, {22050, 16000}}) {
    const int n = p.first;  // one second
    std::vector<float> dc(static_cast<size_t>(n), 0.5f), tone(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
      tone[static_cast<size_t>(i)] = static_cast<float>(0.5 * std::sin(2 * M_PI * 1000.0 * i / p.first));
    const std::vector<float> y_dc = Resample(dc, p.first, p.second),
                             y_tone = Resample(tone, p.first, p.second);
    // Filter-design tolerances, not rounding: torchaudio's Hann-windowed sinc (6 zero crossings,
    // rolloff 0.99) has a passband deviation of at most 6.8e-4 at DC and 5.6e-4 at 1 kHz over these
    // rate pairs (computed from its float64 kernels), i.e. <= 3.4e-4 on amplitude 0.5; 2e-3 also covers
    // the phase-interpolation error of the polyphase kernels at 1 kHz.
    for (size_t i = 200; i + 200 < y_dc.size(); ++i) {
      EXPECT_NEAR(y_dc[i], 0.5f, 2e-3f) << p.first << "->" << p.second << " at " << i;
      EXPECT_NEAR(y_tone[i], 0.5 * std::sin(2 * M_PI * 1000.0 * static_cast<double>(i) / p.second), 2e-3)
          << p.first << "->" << p.second << " at " << i;
    }
  }
}

TEST(Resampler, RemovesContentAboveTheNewNyquist) {
  std::vector<float> tone(48000);
  for (size_t i = 0; i < tone.size(); ++i)
    tone[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 12000.0 * i / 48000));
  const std::vector<float> y = Resample(tone, 48000, 16000);
  // design: the kernel's gain at 12 kHz (48 -> 16 kHz) is 1.8e-3, so <= 9e-4 on amplitude 0.5
  for (size_t i = 200; i + 200 < y.size(); ++i) EXPECT_LT(std::fabs(y[i]), 2e-3f) << i;
}

TEST(Resampler, KernelsAreCachedPerPair) {
  EXPECT_EQ(GetResampler(44100, 16000).get(), GetResampler(44100, 16000).get());
  EXPECT_NE(GetResampler(44100, 16000).get(), GetResampler(44100, 24000).get());
}

TEST(Resampler, RejectsNonPositiveRates) {
  EXPECT_COSY_ERROR(Resampler(0, 16000), ErrorCode::kInvalidArgument, "must be positive");
  EXPECT_COSY_ERROR(Resampler(16000, -1), ErrorCode::kInvalidArgument, "must be positive");
}

}  // namespace
}  // namespace cosyvoice

namespace cosyvoice {
namespace {

// A 44101 Hz prompt took 54 s and 2.8 GB to build its 16 kHz kernel (found by fuzzing the audio
// reader): such rates are refused, standard ones all stay far below the limit.
TEST(ResamplerLimits, StandardRatesFitAndOddRatesAreRefusedQuickly) {
  for (int rate : {8000, 11025, 12000, 16000, 22050, 24000, 32000, 37800, 44100, 48000, 88200, 96000, 176400,
                   192000, 352800, 384000}) {
    for (int target : {16000, 24000}) {
      EXPECT_LE(ResamplerKernelSize(rate, target), kMaxResamplerKernel / 3) << rate << " -> " << target;
    }
  }
  EXPECT_GT(ResamplerKernelSize(44101, 16000), size_t{500000000});
  // found by fuzzing: a header rate near 2^31 overflowed the width computation (6 * rate in int)
  EXPECT_GT(ResamplerKernelSize(2097261637, 16000), kMaxResamplerKernel);
  EXPECT_COSY_ERROR(Resampler(2097261637, 24000), ErrorCode::kInvalidAudio, "cannot be resampled");
  EXPECT_COSY_ERROR(Resampler(44101, 16000), ErrorCode::kInvalidAudio,
                    "sample rate 44101 Hz cannot be resampled to 16000 Hz exactly");
  Audio odd;
  odd.sample_rate = 44101;
  odd.samples.assign(44101, 0.25f);
  EXPECT_COSY_ERROR(PreparePromptAudio(odd, "odd.wav"), ErrorCode::kInvalidAudio,
                    "odd.wav: sample rate 44101 Hz cannot be resampled to 16000 Hz");
}

}  // namespace
}  // namespace cosyvoice
