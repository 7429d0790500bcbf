// src/quality/ab_report.cc
#include "quality/ab_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>
#include <utility>

namespace cosyvoice::quality {
namespace {

using Getter = std::function<std::optional<double>(const AbCase &)>;

double Aggregate(std::vector<double> v, const std::string &how, bool higher_is_better) {
  if (v.empty()) return 0.0;
  if (how == "mean") {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  }
  if (how == "median") return Median(std::move(v));
  return higher_is_better ? *std::min_element(v.begin(), v.end()) : *std::max_element(v.begin(), v.end());
}

AbMetric Measure(const std::vector<AbCase> &cases, const std::string &name, const std::string &how,
                 bool higher_is_better, double threshold, const Getter &get) {
  AbMetric m{name, how, higher_is_better, threshold, 0.0, 0};
  std::vector<double> values;
  for (const AbCase &c : cases) {
    if (auto v = get(c)) values.push_back(*v);
  }
  m.cases = static_cast<int64_t>(values.size());
  m.value = Aggregate(values, how, higher_is_better);
  return m;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

template <typename T>
std::string Opt(const std::optional<T> &v, int digits) {
  return v ? Fixed(static_cast<double>(*v), digits) : "–";
}

// Markdown table cells must not contain '|' or line breaks.
std::string Cell(const std::string &s, size_t max_chars = 60) {
  std::string out;
  for (char c : s) out += (c == '|' ? '/' : (c == '\n' || c == '\r') ? ' ' : c);
  if (out.size() > max_chars) {
    size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
    out = out.substr(0, cut) + "…";
  }
  return out;
}

}  // namespace

double AbThresholds::TokenEditBound() const {
  return std::max(max_token_edit_distance, reference_sampling_spread.value_or(0.0));
}

bool AbSummary::passed() const {
  return std::all_of(metrics.begin(), metrics.end(), [](const AbMetric &m) { return m.passed(); });
}

AbSummary Summarize(const std::string &variant, const std::vector<AbCase> &cases, const AbThresholds &t) {
  AbSummary s;
  s.variant = variant;
  s.cases = static_cast<int64_t>(cases.size());
  s.thresholds = t;
  auto field = [](auto member) {
    return [member](const AbCase &c) -> std::optional<double> { return c.*member; };
  };
  s.metrics.push_back(Measure(cases, "llm_top1_agreement", "mean", true, t.min_top1_agreement,
                              [](const AbCase &c) -> std::optional<double> {
                                if (!c.logits || c.logits->steps == 0) return std::nullopt;
                                return c.logits->top1_agreement;
                              }));
  s.metrics.push_back(Measure(cases, "llm_mean_kl", "mean", false, t.max_mean_kl,
                              [](const AbCase &c) -> std::optional<double> {
                                if (!c.logits || c.logits->steps == 0) return std::nullopt;
                                return c.logits->mean_kl;
                              }));
  s.metrics.push_back(Measure(cases, "token_edit_distance", "median", false, t.TokenEditBound(),
                              field(&AbCase::token_edit_distance)));
  s.metrics.push_back(Measure(cases, "mel_l1", "mean", false, t.max_mel_l1, field(&AbCase::mel_l1)));
  s.metrics.push_back(
      Measure(cases, "mel_lsd_db", "mean", false, t.max_mel_lsd_db, field(&AbCase::mel_lsd_db)));
  s.metrics.push_back(Measure(cases, "f0_rmse_cents", "mean", false, t.max_f0_rmse_cents,
                              [](const AbCase &c) -> std::optional<double> {
                                if (!c.f0 || c.f0->voiced_both == 0) return std::nullopt;
                                return c.f0->rmse_cents;
                              }));
  s.metrics.push_back(Measure(cases, "f0_gross_error_rate", "mean", false, t.max_f0_gross_error_rate,
                              [](const AbCase &c) -> std::optional<double> {
                                if (!c.f0 || c.f0->voiced_both == 0) return std::nullopt;
                                return c.f0->gross_error_rate;
                              }));
  s.metrics.push_back(
      Measure(cases, "speaker_cosine", "mean", true, t.min_speaker_cosine, field(&AbCase::speaker_cosine)));
  s.metrics.push_back(Measure(cases, "duration_deviation", "median", false, t.max_duration_deviation,
                              [](const AbCase &c) -> std::optional<double> {
                                if (!c.duration_ratio) return std::nullopt;
                                return std::fabs(*c.duration_ratio - 1.0);
                              }));
  return s;
}

std::string RenderMarkdown(const AbSummary &s, const std::vector<AbCase> &cases, const std::string &notes) {
  std::ostringstream md;
  md << "# A/B quality gate: " << s.variant << " vs fp32\n\n";
  if (!notes.empty()) md << notes << "\n\n";
  md << "**Verdict: " << (s.passed() ? "passed" : "FAILED") << "** (" << s.cases << " cases; thresholds and "
     << "their reasons: docs/quantization.md)\n\n";
  md << "| metric | aggregate | value | threshold | cases | |\n|---|---|---|---|---|---|\n";
  for (const AbMetric &m : s.metrics) {
    md << "| " << m.name << " | " << m.aggregate << " | " << (m.cases ? Fixed(m.value, 4) : "–") << " | "
       << (m.higher_is_better ? "≥ " : "≤ ") << Fixed(m.threshold, 4) << " | " << m.cases << " | "
       << (m.cases == 0 ? "not applicable"
           : m.passed() ? "ok"
                        : "**over**")
       << " |\n";
  }
  if (const auto spread = s.thresholds.reference_sampling_spread)
    md << "\nThe token_edit_distance bound is the larger of "
       << Fixed(s.thresholds.max_token_edit_distance, 2) << " and the reference's own seed-to-seed spread, "
       << Fixed(*spread, 4)
       << " (the median edit distance between its tokens for the same request under two seeds).\n";
  md << "\n## Cases\n\n"
     << "| case | voice | lang | mode | seed | top-1 | KL | tok. edit | mel L1 | LSD dB | F0 cents | F0 "
        "gross "
        "| voiced | spk cos | dur. ratio | text |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const AbCase &c : cases) {
    std::optional<double> top1, kl, f0, gross, voiced;
    if (c.logits && c.logits->steps > 0) top1 = c.logits->top1_agreement, kl = c.logits->mean_kl;
    if (c.f0) {
      voiced = static_cast<double>(c.f0->voiced_both);
      if (c.f0->voiced_both > 0) f0 = c.f0->rmse_cents, gross = c.f0->gross_error_rate;
    }
    md << "| " << Cell(c.id) << " | " << Cell(c.voice) << " | " << Cell(c.language) << " | " << Cell(c.mode)
       << " | " << c.seed << " | " << Opt(top1, 3) << " | " << Opt(kl, 4) << " | "
       << Opt(c.token_edit_distance, 3) << " | " << Opt(c.mel_l1, 4) << " | " << Opt(c.mel_lsd_db, 3) << " | "
       << Opt(f0, 1) << " | " << Opt(gross, 3) << " | " << Opt(voiced, 0) << " | " << Opt(c.speaker_cosine, 3)
       << " | " << Opt(c.duration_ratio, 3) << " | " << Cell(c.text) << " |\n";
  }
  bool any_images = false;
  for (const AbCase &c : cases) any_images = any_images || !c.images.empty();
  if (any_images) {
    md << "\n## Spectrograms (identical tokens: fp32 mel, variant mel, difference)\n\n"
       << "Colour: log-magnitude, dark = quiet. Difference (variant - fp32): red where the variant is "
          "louder, blue where it is quieter, white where equal.\n\n";
    for (const AbCase &c : cases) {
      if (c.images.empty()) continue;
      md << "### " << Cell(c.id) << "\n\n";
      static const char *kLabels[] = {"fp32", "variant", "difference"};
      for (size_t i = 0; i < c.images.size(); ++i)
        md << "![" << (i < 3 ? kLabels[i] : "image") << "](" << c.images[i] << ") ";
      md << "\n\n";
    }
  }
  return md.str();
}

}  // namespace cosyvoice::quality
