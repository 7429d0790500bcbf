// tests/unit/test_sampler.cc - RNG and RAS sampler, no model involved.
#include <gmock/gmock.h>

#include <cmath>
#include <map>
#include <vector>

#include "engine/rng.h"
#include "engine/sampler.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

// Statistical, not rounding, tolerances: a frequency estimated from n draws has standard deviation
// sqrt(p (1 - p) / n); the checks allow 6 of them (a random seed fails with probability ~2e-9; the
// seeds here are fixed, so each check either always or never holds).
double SixSigma(double p, int n) {
  return 6 * std::sqrt(p * (1 - p) / n);
}

TEST(Rng, SplitMix64MatchesReferenceVector) {
  // Outputs of the reference splitmix64.c for seed 1234567.
  uint64_t state = 1234567;
  const uint64_t want[] = {6457827717110365317ULL, 3203168211198807973ULL, 9817491932198370423ULL,
                           4593380528125082431ULL, 16408922859458223821ULL};
  for (uint64_t w : want) EXPECT_EQ(SplitMix64Next(state), w);
}

TEST(Rng, Xoshiro256StarStarMatchesReferenceVector) {
  // xoshiro256** reference implementation from state {1, 2, 3, 4}.
  auto r = Xoshiro256::FromState(1, 2, 3, 4);
  const uint64_t want[] = {11520ULL,
                           0ULL,
                           1509978240ULL,
                           1215971899390074240ULL,
                           1216172134540287360ULL,
                           607988272756665600ULL,
                           16172922978634559625ULL,
                           8476171486693032832ULL,
                           10595114339597558777ULL,
                           2904607092377533576ULL};
  for (uint64_t w : want) EXPECT_EQ(r.NextU64(), w);
}

TEST(Rng, SameSeedSameStreamDifferentSeedDifferent) {
  Xoshiro256 a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.NextU64();
    EXPECT_EQ(x, b.NextU64());
    differs |= x != c.NextU64();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, NextDoubleIsInUnitIntervalWithMeanHalf) {
  Xoshiro256 r(7);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = r.NextDouble();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 6 * std::sqrt(1.0 / 12 / 100000));  // the mean of uniforms: sigma^2 = 1/12n
}

TEST(Rng, CategoricalFollowsWeightsAndSkipsZeros) {
  Xoshiro256 r(1);
  const double w[4] = {0.5, 0.0, 1.5, 2.0};
  std::map<size_t, int> counts;
  const int n = 40000;
  for (int i = 0; i < n; ++i) counts[SampleCategorical(w, 4, r)]++;
  EXPECT_EQ(counts.count(1), 0u);
  EXPECT_NEAR(counts[0] / double(n), 0.125, SixSigma(0.125, n));
  EXPECT_NEAR(counts[2] / double(n), 0.375, SixSigma(0.375, n));
  EXPECT_NEAR(counts[3] / double(n), 0.5, SixSigma(0.5, n));
  const double zeros[2] = {0, 0};
  EXPECT_EQ(SampleCategorical(zeros, 2, r), 2u);
}

// logits with softmax probabilities proportional to `weights`
std::vector<float> LogitsFor(const std::vector<double> &weights) {
  std::vector<float> l;
  for (double w : weights) l.push_back(w > 0 ? static_cast<float>(std::log(w)) : -INFINITY);
  return l;
}

TEST(RasSampler, NucleusKeepsTheCrossingTokenAndStopsAtTopP) {
  // p = .5 .3 .15 .05 : cum before each = 0, .5, .8 -> keeps ids 0 and 1 (.8 is not < .8... see below)
  // walk: take 0 (cum .5), take 1 (cum .8), stop since .8 < .8 is false -> kept {0, 1}
  RasSampler s({0.8, 25, 10, 0.1}, 100, 101, 5);
  const auto logits = LogitsFor({0.5, 0.3, 0.15, 0.05});
  std::map<int, int> counts;
  for (int i = 0; i < 20000; ++i) counts[s.Sample(logits.data(), 4, {}, false)]++;
  EXPECT_EQ(counts.count(2) + counts.count(3), 0u);
  EXPECT_NEAR(counts[0] / 20000.0, 0.5 / 0.8, SixSigma(0.5 / 0.8, 20000));
  EXPECT_NEAR(counts[1] / 20000.0, 0.3 / 0.8, SixSigma(0.3 / 0.8, 20000));
}

TEST(RasSampler, TopKCapsTheCandidates) {
  RasSampler s({1.0, 2, 10, 0.1}, 100, 101, 9);
  const auto logits = LogitsFor({0.1, 0.4, 0.2, 0.3});  // top-2 = ids 1 and 3
  std::map<int, int> counts;
  for (int i = 0; i < 20000; ++i) counts[s.Sample(logits.data(), 4, {}, false)]++;
  EXPECT_EQ(counts.count(0) + counts.count(2), 0u);
  EXPECT_NEAR(counts[1] / 20000.0, 0.4 / 0.7, SixSigma(0.4 / 0.7, 20000));
}

TEST(RasSampler, TiesAreBrokenByLowerId) {
  RasSampler s({0.1, 25, 10, 0.1}, 100, 101, 3);  // only the first sorted id survives
  const auto logits = LogitsFor({0.25, 0.25, 0.25, 0.25});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.Sample(logits.data(), 4, {}, false), 0);
}

TEST(RasSampler, RepetitionFallsBackToFullDistributionWithoutTheRepeatedToken) {
  // top_p tiny: the nucleus always picks id 0; id 0 was emitted recently -> fallback draws from
  // the full distribution with id 0 removed: ids 1..3 proportional to .3 .15 .05.
  RasSampler s({0.1, 25, 10, 0.1}, 100, 101, 11);
  const auto logits = LogitsFor({0.5, 0.3, 0.15, 0.05});
  std::map<int, int> counts;
  const std::vector<int> emitted = {7, 0, 9};
  for (int i = 0; i < 30000; ++i) counts[s.Sample(logits.data(), 4, emitted, false)]++;
  EXPECT_EQ(counts.count(0), 0u);
  EXPECT_NEAR(counts[1] / 30000.0, 0.6, SixSigma(0.6, 30000));
  EXPECT_NEAR(counts[2] / 30000.0, 0.3, SixSigma(0.3, 30000));
  EXPECT_NEAR(counts[3] / 30000.0, 0.1, SixSigma(0.1, 30000));
}

TEST(RasSampler, RepetitionOutsideTheWindowDoesNotTrigger) {
  RasSampler s({0.1, 25, 3, 0.1}, 100, 101, 11);
  const auto logits = LogitsFor({0.5, 0.3, 0.15, 0.05});
  const std::vector<int> emitted = {0, 5, 6, 7};  // the 0 is 4 tokens back, window is 3
  for (int i = 0; i < 200; ++i) EXPECT_EQ(s.Sample(logits.data(), 4, emitted, false), 0);
}

TEST(RasSampler, BlockStopMasksTheWholeStopRange) {
  // ids 2..3 are stop ids and the most likely; while blocked they never come out
  RasSampler s({0.99, 25, 10, 0.1}, 2, 4, 13);
  const auto logits = LogitsFor({0.05, 0.05, 0.6, 0.3});
  for (int i = 0; i < 2000; ++i) {
    const int t = s.Sample(logits.data(), 4, {}, /*block_stop=*/true);
    ASSERT_LT(t, 2);
  }
  int stops = 0;
  for (int i = 0; i < 2000; ++i) stops += s.Sample(logits.data(), 4, {}, false) >= 2;
  EXPECT_GT(stops, 1500);
}

TEST(RasSampler, SameSeedSameSequence) {
  std::vector<float> logits(64);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(std::sin(i * 1.3) * 3);
  auto run = [&](uint64_t seed) {
    RasSampler s({0.8, 25, 10, 0.1}, 60, 64, seed);
    std::vector<int> out;
    for (int i = 0; i < 200; ++i) out.push_back(s.Sample(logits.data(), 64, out, i < 5));
    return out;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(RasSampler, RejectsBadParamsAndNonFiniteLogits) {
  EXPECT_COSY_ERROR(RasSampler({0.8, 0, 10, 0.1}, 1, 2, 0), ErrorCode::kInvalidArgument, "top_k");
  EXPECT_COSY_ERROR(RasSampler({0.0, 5, 10, 0.1}, 1, 2, 0), ErrorCode::kInvalidArgument, "top_p");
  RasSampler s({0.8, 25, 10, 0.1}, 1, 2, 0);
  const float nan_logits[2] = {NAN, NAN};
  EXPECT_COSY_ERROR(s.Sample(nan_logits, 2, {}, false), ErrorCode::kRuntime, "no finite logit");
}

}  // namespace
}  // namespace cosyvoice
