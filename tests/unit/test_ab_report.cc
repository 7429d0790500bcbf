// tests/unit/test_ab_report.cc - the gate's aggregation, verdict and Markdown page.
#include <gmock/gmock.h>

#include "quality/ab_report.h"
#include "quality/ab_runner.h"
#include "test_util.h"

namespace cosyvoice::quality {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const AbMetric &Find(const AbSummary &s, const std::string &name) {
  for (const AbMetric &m : s.metrics)
    if (m.name == name) return m;
  throw std::runtime_error("no metric " + name);
}

AbCase Case(const std::string &id, double top1, double kl, double mel_l1, double ratio) {
  AbCase c;
  c.id = id;
  c.voice = "v";
  c.language = "en";
  c.mode = "zero_shot";
  c.text = "a | b";
  c.logits = LogitsComparison{10, top1, kl, kl};
  c.mel_l1 = mel_l1;
  c.duration_ratio = ratio;
  return c;
}

TEST(AbReport, AggregatesAndVerdict) {
  const std::vector<AbCase> cases = {Case("a", 1.0, 0.01, 0.05, 1.0), Case("b", 0.9, 0.03, 0.07, 1.2),
                                     Case("c", 0.8, 0.02, 0.09, 0.95)};
  const AbSummary s = Summarize("llm/int4", cases, AbThresholds{});
  EXPECT_EQ(s.cases, 3);
  EXPECT_NEAR(Find(s, "llm_top1_agreement").value, 0.9, 1e-12);  // mean
  EXPECT_NEAR(Find(s, "llm_mean_kl").value, 0.02, 1e-12);
  EXPECT_NEAR(Find(s, "mel_l1").value, 0.07, 1e-12);
  EXPECT_NEAR(Find(s, "duration_deviation").value, 0.05, 1e-12);  // median of 0, 0.2, 0.05
  EXPECT_EQ(Find(s, "speaker_cosine").cases, 0);                  // not measured: not applicable
  EXPECT_TRUE(Find(s, "speaker_cosine").passed());
  EXPECT_TRUE(s.passed());

  AbThresholds strict;
  strict.max_mel_l1 = 0.06;
  const AbSummary f = Summarize("llm/int4", cases, strict);
  EXPECT_FALSE(Find(f, "mel_l1").passed());
  EXPECT_FALSE(f.passed());
}

TEST(AbReport, TokenEditBoundIsTheReferencesOwnSpreadWhereThatIsLarger) {
  std::vector<AbCase> cases(3, Case("a", 0.99, 0.001, 0.01, 1.0));
  cases[0].token_edit_distance = 0.70;
  cases[1].token_edit_distance = 0.80;
  cases[2].token_edit_distance = 0.90;
  AbThresholds t;
  EXPECT_DOUBLE_EQ(t.TokenEditBound(), 0.60);  // no spread measured: the fixed bound
  EXPECT_FALSE(Find(Summarize("llm/int8", cases, t), "token_edit_distance").passed());  // median 0.80

  t.reference_sampling_spread = 0.40;  // draws of the reference agree more than that: the bound stays
  EXPECT_DOUBLE_EQ(t.TokenEditBound(), 0.60);
  EXPECT_FALSE(Summarize("llm/int8", cases, t).passed());

  t.reference_sampling_spread = 0.95;  // two seeds of the reference share almost nothing
  const AbSummary s = Summarize("llm/int8", cases, t);
  EXPECT_DOUBLE_EQ(Find(s, "token_edit_distance").threshold, 0.95);
  EXPECT_TRUE(s.passed());
  EXPECT_THAT(RenderMarkdown(s, cases, ""), HasSubstr("the reference's own seed-to-seed spread, 0.9500"));

  t.reference_sampling_spread = 0.75;  // a variant further from the reference than its own draws are
  EXPECT_FALSE(Summarize("llm/int8", cases, t).passed());
}

TEST(AbReport, ReferenceSamplingSpreadPairsOnlyTheSameRequestUnderTwoSeeds) {
  auto spec = [](const std::string &text, Mode mode, uint64_t seed) {
    AbCaseSpec c;
    c.id = text + std::to_string(seed);
    c.text = text;
    c.mode = mode;
    c.seed = seed;
    return c;
  };
  auto ref = [](std::vector<std::vector<int>> tokens) {
    AbReferenceCase r;
    r.tokens = std::move(tokens);
    return r;
  };
  // Request "a": seeds 0/1/2 -> pairs at distances 1/4, 2/4, 1/4 (segments joined: 4 tokens).
  // Request "b": one seed, and "a" in another mode: no pair. Median of {0.25, 0.5, 0.25} = 0.25.
  const std::vector<AbCaseSpec> cases = {spec("a", Mode::kZeroShot, 0), spec("a", Mode::kZeroShot, 1),
                                         spec("a", Mode::kZeroShot, 2), spec("b", Mode::kZeroShot, 0),
                                         spec("a", Mode::kCrossLingual, 0)};
  const std::vector<AbReferenceCase> reference = {ref({{1, 2}, {3, 4}}), ref({{1, 2}, {3, 9}}),
                                                  ref({{1, 2, 8, 9}}), ref({{7, 7, 7, 7}}),
                                                  ref({{5, 5, 5, 5}})};
  const std::optional<double> spread = ReferenceSamplingSpread(cases, reference);
  ASSERT_TRUE(spread.has_value());
  EXPECT_DOUBLE_EQ(*spread, 0.25);

  EXPECT_FALSE(ReferenceSamplingSpread({cases[0], cases[3]}, {reference[0], reference[3]}).has_value());
  EXPECT_THROW(ReferenceSamplingSpread(cases, {reference[0]}), Error);
}

TEST(AbReport, F0WithoutVoicedFramesIsNotApplicable) {
  AbCase c = Case("a", 1, 0, 0, 1);
  c.f0 = F0Comparison{100, 0, 0.0, 0.0, 0.0};
  const AbSummary s = Summarize("hift/fp16", {c}, AbThresholds{});
  EXPECT_EQ(Find(s, "f0_rmse_cents").cases, 0);
  c.f0 = F0Comparison{100, 40, 80.0, 0.0, 0.1};
  const AbSummary t = Summarize("hift/fp16", {c}, AbThresholds{});
  EXPECT_EQ(Find(t, "f0_rmse_cents").cases, 1);
  EXPECT_FALSE(t.passed());  // 80 cents > 50
}

TEST(AbReport, MarkdownHasVerdictTableAndPictures) {
  std::vector<AbCase> cases = {Case("zh-1", 1.0, 0.0, 0.01, 1.0)};
  cases[0].images = {"img/zh-1.ref.png", "img/zh-1.var.png", "img/zh-1.diff.png"};
  cases[0].text = "line one\nline | two";
  const AbSummary s = Summarize("flow/int8", cases, AbThresholds{});
  const std::string md = RenderMarkdown(s, cases, "model: tiny");
  EXPECT_THAT(md, HasSubstr("# A/B quality gate: flow/int8 vs fp32"));
  EXPECT_THAT(md, HasSubstr("**Verdict: passed**"));
  EXPECT_THAT(md, HasSubstr("model: tiny"));
  EXPECT_THAT(md, HasSubstr("| zh-1 | v | en | zero_shot | 0 | 1.000 |"));
  EXPECT_THAT(md, HasSubstr("line one line / two"));  // no raw '|' or newline inside a cell
  EXPECT_THAT(md, HasSubstr("![difference](img/zh-1.diff.png)"));
  EXPECT_THAT(md, Not(HasSubstr("**over**")));
}

}  // namespace
}  // namespace cosyvoice::quality
