// src/quality/ab_report.h - the A/B gate's verdict and its Markdown report (docs/quantization.md).
//
// Per case the `ab` command fills an AbCase with whatever the variant touches (a flow-only variant
// has no LLM figures); Summarize aggregates the cases per metric and compares each aggregate with
// its threshold; RenderMarkdown writes the page (summary, thresholds, per-case table, pictures).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "quality/ab_metrics.h"

namespace cosyvoice::quality {

struct AbCase {
  std::string id;  // unique, used for picture file names: [A-Za-z0-9_-]
  std::string voice, language, mode, text;
  uint64_t seed = 0;
  // LLM, teacher-forced on the reference's tokens
  std::optional<LogitsComparison> logits;
  // LLM, free-running with the same seed: edit distance of the token sequences
  std::optional<double> token_edit_distance;
  // flow on identical tokens: log-mel L1 (natural log) and log-spectral distance (dB)
  std::optional<double> mel_l1;
  std::optional<double> mel_lsd_db;
  // vocoder output of identical tokens: F0 on frames voiced in both
  std::optional<F0Comparison> f0;
  // end to end, free-running: CAM++ cosine of the two outputs, duration variant / reference
  std::optional<double> speaker_cosine;
  std::optional<double> duration_ratio;
  // pictures beside the report (relative paths): reference, variant, difference
  std::vector<std::string> images;
};

// One aggregate compared with one bound. Which aggregate and why each bound: docs/quantization.md.
struct AbMetric {
  std::string name;       // e.g. "llm_top1_agreement"
  std::string aggregate;  // "mean", "median" or "worst"
  bool higher_is_better = false;
  double threshold = 0;
  double value = 0;
  int64_t cases = 0;  // cases that had the figure
  bool passed() const { return cases == 0 || (higher_is_better ? value >= threshold : value <= threshold); }
};

struct AbThresholds {
  double min_top1_agreement = 0.90;       // mean over cases
  double max_mean_kl = 0.05;              // nats, mean over cases
  double max_token_edit_distance = 0.60;  // median over cases (see TokenEditBound)
  double max_mel_l1 = 0.10;               // natural-log units, mean over cases
  double max_mel_lsd_db = 1.0;            // mean over cases
  double max_f0_rmse_cents = 50.0;        // mean over cases with voiced frames
  double max_f0_gross_error_rate = 0.05;  // mean over cases with voiced frames
  double min_speaker_cosine = 0.85;       // mean over cases
  double max_duration_deviation = 0.10;   // median over cases of |ratio - 1|
  // The reference's own seed-to-seed spread of free-running tokens (ReferenceSamplingSpread in
  // ab_runner.h); empty when no request ran with two seeds.
  std::optional<double> reference_sampling_spread;

  // The bound on token_edit_distance: max_token_edit_distance, or the reference's own spread where
  // that is larger. Two runs with the same seed part at the first draw whose outcome differs; from
  // there on the variant's tokens are as far from the reference's as another draw of the reference
  // is. Where draws share nothing (the near-flat logits of random weights), a bound below that
  // spread fails every variant however close its logits are, so the metric says nothing there.
  // What it exists to catch, loops and collapse, lands beyond the spread of a trained model's draws
  // (docs/quantization.md §5).
  double TokenEditBound() const;
};

struct AbSummary {
  std::string variant;  // e.g. "flow/int8"
  int64_t cases = 0;
  AbThresholds thresholds;  // what it was judged against
  std::vector<AbMetric> metrics;
  bool passed() const;
};

AbSummary Summarize(const std::string &variant, const std::vector<AbCase> &cases,
                    const AbThresholds &thresholds);

// The report page. `notes` is free Markdown put under the title (model, tool, machine).
std::string RenderMarkdown(const AbSummary &summary, const std::vector<AbCase> &cases,
                           const std::string &notes);

}  // namespace cosyvoice::quality
