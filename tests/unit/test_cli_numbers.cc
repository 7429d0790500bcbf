// Strict numbers on the command line: what CLI11/strtoull would silently turn into another value
// (-1 -> 2^64-1 for a seed, 2^64 saturated, 1e23 through a double, nan, inf) is refused, and the
// message names the flag, the range and what was typed.
#include <gtest/gtest.h>

#include <string>

#include "cli/strict_number.h"
#include "cli/synthesis_flags.h"
#include "cosyvoice/error.h"

namespace cosyvoice::cli {
namespace {

std::string MessageOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.what();
  }
  return "(no error)";
}

TEST(StrictNumber, Integers) {
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("-12"), -12);
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt64("-9223372036854775808"), INT64_MIN);
  for (const char *bad : {"", "-", "+5", " 5", "5 ", "5.0", "1e3", "0x10", "9223372036854775808",
                          "-9223372036854775809", "12abc", "--1"})
    EXPECT_FALSE(ParseInt64(bad).has_value()) << bad;
}

TEST(StrictNumber, Unsigned) {
  EXPECT_EQ(ParseUint64("18446744073709551615"), UINT64_MAX);
  for (const char *bad : {"-1", "18446744073709551616", "1e23", "100000000000000000000000", "", "+1"})
    EXPECT_FALSE(ParseUint64(bad).has_value()) << bad;
}

TEST(StrictNumber, Reals) {
  EXPECT_EQ(ParseFiniteReal("0.5"), 0.5);
  EXPECT_EQ(ParseFiniteReal(".5"), 0.5);
  EXPECT_EQ(ParseFiniteReal("5."), 5.0);
  EXPECT_EQ(ParseFiniteReal("-2e-1"), -0.2);
  EXPECT_EQ(ParseFiniteReal("1E2"), 100.0);
  EXPECT_EQ(ParseFiniteReal("0"), 0.0);
  for (const char *bad : {"nan", "NaN", "inf", "-inf", "infinity", "0x1p3", "1e999", "1e-999", "", ".", "e5",
                          "1e", "1.2.3", " 1", "1,5", "+1"})
    EXPECT_FALSE(ParseFiniteReal(bad).has_value()) << bad;
}

TEST(StrictNumber, FlagMessagesNameFlagRangeAndValue) {
  EXPECT_EQ(MessageOf([] {
              IntFlag("--steps", "0", {1, 1000});
            }),
            "--steps: expected an integer from 1 to 1000, got '0'");
  EXPECT_EQ(MessageOf([] {
              RealFlag("--top-p", "0", {0, 1, true});
            }),
            "--top-p: expected a number in (0, 1], got '0'");
  EXPECT_EQ(MessageOf([] {
              RealFlag("--cfg", "nan", {0, 100});
            }),
            "--cfg: expected a number in [0, 100], got 'nan'");
  EXPECT_NE(MessageOf([] { SeedFlag("--seed", "-1"); }).find("got '-1'"), std::string::npos);
  EXPECT_NE(MessageOf([] { SeedFlag("--seed", "18446744073709551616"); }).find("0 to 18446744073709551615"),
            std::string::npos);
  EXPECT_NE(MessageOf([] { SeedFlag("--seed", "1e23"); }).find("'random'"), std::string::npos);
  EXPECT_EQ(IntFlag("--steps", "1000", {1, 1000}), 1000);
  EXPECT_EQ(RealFlag("--speed", "2", {0.5, 2}), 2.0);
}

TEST(SynthesisFlags, AbsentFlagsLeaveTheBundleDefaultsAndSetOnesAreKeptAsGiven) {
  SynthesisFlags f;
  SynthesisSettings s = ParseSynthesisFlags(f);
  EXPECT_FALSE(s.steps || s.cfg || s.top_p || s.top_k || s.min_tokens || s.max_tokens);
  EXPECT_EQ(s.seed, 0u);
  f.cfg = "0";  // zero is a value (no guidance), not "default"
  f.min_tokens = "0";
  f.seed = "18446744073709551615";
  s = ParseSynthesisFlags(f);
  EXPECT_EQ(s.cfg, 0.0f);
  EXPECT_EQ(s.min_tokens, 0);
  EXPECT_EQ(s.seed, UINT64_MAX);
  EXPECT_EQ(ToEngineOptions(s).seed, UINT64_MAX);
}

TEST(SynthesisFlags, RefusesWhatWouldSilentlyBecomeADefault) {
  const std::pair<std::string SynthesisFlags::*, const char *> cases[] = {
      {&SynthesisFlags::max_tokens, "0"}, {&SynthesisFlags::top_p, "0"},   {&SynthesisFlags::cfg, "nan"},
      {&SynthesisFlags::steps, "0"},      {&SynthesisFlags::top_k, "0"},   {&SynthesisFlags::speed, "2.5"},
      {&SynthesisFlags::seed, "-1"},      {&SynthesisFlags::speed, "inf"}, {&SynthesisFlags::top_k, "2.5"}};
  for (const auto &[field, value] : cases) {
    SynthesisFlags f;
    f.*field = value;
    EXPECT_NE(MessageOf([&] { ParseSynthesisFlags(f); }).find(std::string("got '") + value + "'"),
              std::string::npos)
        << value;
  }
}

TEST(SynthesisFlags, ContradictionsAreNamed) {
  SynthesisFlags f;
  f.min_tokens = "50";
  f.max_tokens = "40";
  EXPECT_NE(MessageOf([&] { ParseSynthesisFlags(f); }).find("--min-tokens 50 is more than --max-tokens 40"),
            std::string::npos);
  SynthesisFlags g;
  g.stream = true;
  g.speed = "1.2";
  EXPECT_NE(MessageOf([&] { ParseSynthesisFlags(g); }).find("--speed does not apply with --stream"),
            std::string::npos);
}

TEST(SynthesisFlags, RandomSeedIsDrawnAndMarked) {
  SynthesisFlags f;
  f.seed = "random";
  const SynthesisSettings a = ParseSynthesisFlags(f), b = ParseSynthesisFlags(f);
  EXPECT_TRUE(a.seed_random);
  EXPECT_LE(a.seed, 0xFFFFFFFFull) << "32 bits: exact in JSON, easy to type again";
  // Two draws from std::random_device agree with probability 2^-32.
  EXPECT_NE(a.seed, b.seed);
}

}  // namespace
}  // namespace cosyvoice::cli
