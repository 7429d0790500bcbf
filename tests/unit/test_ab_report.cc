// tests/unit/test_ab_report.cc - the gate's aggregation, verdict and Markdown page.
#include <gmock/gmock.h>

#include "quality/ab_report.h"
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
