// tests/unit/test_resolved_options.cc - SynthesisOptions: explicit optionals, zero as a real value,
// range checks, and the bundle's defaults for what is unset.
#include <gmock/gmock.h>

#include <cmath>
#include <limits>

#include "engine/resolved_options.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

BundleConfig Bundle() {
  BundleConfig b;
  b.llm.sampling = {0.8, 25, 10, 0.1};
  b.llm.min_token_text_ratio = 2;
  b.llm.max_token_text_ratio = 20;
  b.flow.n_timesteps = 10;
  b.flow.cfg_rate = 0.7;
  return b;
}

TEST(ResolvedOptions, UnsetFieldsTakeTheBundlesDefaults) {
  const ResolvedOptions r = ResolveOptions(SynthesisOptions{}, Bundle());
  EXPECT_EQ(r.ras.top_p, 0.8);
  EXPECT_EQ(r.ras.top_k, 25);
  EXPECT_EQ(r.ras.win_size, 10);
  EXPECT_EQ(r.ras.tau_r, 0.1);
  EXPECT_EQ(r.min_ratio, 2.0);
  EXPECT_EQ(r.max_ratio, 20.0);
  EXPECT_EQ(r.flow.n_timesteps, 10);
  EXPECT_FLOAT_EQ(r.flow.cfg_rate, 0.7f);
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_FALSE(r.min_tokens.has_value());
}

TEST(ResolvedOptions, ZeroIsARealValue) {
  SynthesisOptions o;
  o.cfg_rate = 0.0f;  // no guidance
  o.win_size = 0;     // upstream's decoded_tokens[-0:]: the whole history
  o.tau_r = 0.0f;
  o.min_token_text_ratio = 0.0f;
  o.min_tokens = 0;
  const ResolvedOptions r = ResolveOptions(o, Bundle());
  EXPECT_EQ(r.flow.cfg_rate, 0.0f);
  EXPECT_EQ(r.ras.win_size, 0);
  EXPECT_EQ(r.ras.tau_r, 0.0);
  EXPECT_EQ(r.min_ratio, 0.0);
  ASSERT_TRUE(r.min_tokens.has_value());
  EXPECT_EQ(*r.min_tokens, 0);
}

TEST(ResolvedOptions, RangeChecksNameTheOption) {
  auto expect_bad = [](auto set, const char *what) {
    SynthesisOptions o;
    set(o);
    EXPECT_COSY_ERROR(o.Validate(), ErrorCode::kInvalidArgument, what);
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_bad([](SynthesisOptions &o) { o.n_timesteps = 0; }, "n_timesteps must be in [1, 1000]");
  expect_bad([](SynthesisOptions &o) { o.top_k = 0; }, "top_k must be >= 1");
  expect_bad([&](SynthesisOptions &o) { o.top_p = nan; }, "top_p must be in (0, 1]");
  expect_bad([](SynthesisOptions &o) { o.top_p = 0.0f; }, "top_p must be in (0, 1]");
  expect_bad([](SynthesisOptions &o) { o.cfg_rate = -0.5f; }, "cfg_rate must be in [0, 100]");
  expect_bad([](SynthesisOptions &o) { o.win_size = -1; }, "win_size must be >= 0");
  expect_bad([](SynthesisOptions &o) { o.max_tokens = 0; }, "max_tokens must be >= 1");
  expect_bad([](SynthesisOptions &o) { o.min_tokens = -1; }, "min_tokens must be >= 0");
  expect_bad(
      [](SynthesisOptions &o) {
        o.min_tokens = 5;
        o.max_tokens = 4;
      },
      "min_tokens must be <= max_tokens");
  expect_bad([&](SynthesisOptions &o) { o.speed = nan; }, "speed must be in [0.5, 2.0]");
  expect_bad(
      [](SynthesisOptions &o) {
        o.stream = true;
        o.speed = 1.5f;
      },
      "speed cannot change in streaming mode");
}

TEST(ResolvedOptions, RatiosAreCheckedAgainstTheBundlesToo) {
  SynthesisOptions o;
  o.max_token_text_ratio = 1.0f;  // below the bundle's min ratio 2
  EXPECT_COSY_ERROR(ResolveOptions(o, Bundle()), ErrorCode::kInvalidArgument,
                    "max_token_text_ratio 1 is below min_token_text_ratio 2");
}

TEST(ResolvedOptions, SegmentLimitsApplyTheFloorAndCap) {
  SynthesisOptions o;
  ResolvedOptions r = ResolveOptions(o, Bundle());
  EXPECT_EQ(SegmentLengthLimits(7, r).min_len, 14);
  EXPECT_EQ(SegmentLengthLimits(7, r).max_len, 140);
  o.min_tokens = o.max_tokens = 60;  // a fixed length, as `cosyvoice bench --tokens 60`
  r = ResolveOptions(o, Bundle());
  EXPECT_EQ(SegmentLengthLimits(7, r).min_len, 60);
  EXPECT_EQ(SegmentLengthLimits(7, r).max_len, 60);
  // the cap wins over a floor derived from the text
  o = SynthesisOptions{};
  o.max_tokens = 5;
  r = ResolveOptions(o, Bundle());
  EXPECT_EQ(SegmentLengthLimits(7, r).min_len, 5);
  EXPECT_EQ(SegmentLengthLimits(7, r).max_len, 5);
}

}  // namespace
}  // namespace cosyvoice
