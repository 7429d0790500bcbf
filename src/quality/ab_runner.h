// src/quality/ab_runner.h - runs the A/B gate's cases through a reference and a variant Model.
//
// Both models run the same requests with the same seeds, offline, one case at a time. The
// reference runs first and keeps what the comparison needs (its tokens, teacher-forced logits, mel,
// audio, speaker embedding), so only one model need be loaded at a time. For the variant, only the
// families that differ are exercised where that is enough:
//   llm:  teacher-forced logits on the reference's tokens (top-1 agreement, KL), its own tokens with
//         the same seed (edit distance), and the audio they give (speaker cosine, duration);
//   flow: mel from the reference's tokens (mel L1, log-spectral distance, pictures);
//   hift: the waveform of the variant's mel (F0 on voiced frames, speaker cosine).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cosyvoice/cosyvoice.h"
#include "engine/bundle_config.h"
#include "quality/ab_report.h"

namespace cosyvoice::quality {

struct AbCaseSpec {
  std::string id;  // [A-Za-z0-9_-]+ (picture file names)
  std::string voice_name, language, text, instruct;
  Mode mode = Mode::kZeroShot;
  const Voice *voice = nullptr;
  uint64_t seed = 0;
};

struct AbRunOptions {
  std::optional<int> min_tokens, max_tokens;  // per segment; equal values fix the length (random weights)
  std::string image_dir;                      // PNGs are written here; empty: no pictures
  std::string image_link_prefix;              // how the report refers to image_dir (relative path)
  std::function<void(const std::string &)> progress;
};

// Which model families compute differently (their files differ by sha256).
struct AbFamilies {
  bool llm = false, flow = false, hift = false;
  bool any() const { return llm || flow || hift; }
  std::string Describe() const;  // "llm+flow", or "none"
};
// The identity (sha256 and size from config.json) of the files each family runs.
struct ModelFiles {
  std::vector<std::string> llm, flow, hift;
  static ModelFiles Of(const BundleConfig &bundle);
};
AbFamilies DifferingFamilies(const ModelFiles &reference, const ModelFiles &variant);

// What a reference run keeps of one case.
struct AbReferenceCase {
  std::vector<std::vector<float>> lm_inputs;  // per segment
  std::vector<std::vector<int>> tokens;       // per segment, as generated (the LLM's history)
  std::vector<float> logits;                  // teacher-forced rows of every segment [steps][vocab]
  std::vector<std::vector<float>> mels;       // per segment, [mel_bins][frames] channel-major
  std::vector<int64_t> frames;                // per segment
  std::vector<float> wav;                     // all segments
  std::vector<float> speaker;                 // CAM++ embedding of wav
};

// The reference's own sampling spread (AbThresholds::TokenEditBound): for every two cases that
// differ only in their seed, the normalized edit distance between the reference's tokens (all
// segments); the median over those pairs. Empty when no request ran with two seeds.
std::optional<double> ReferenceSamplingSpread(const std::vector<AbCaseSpec> &cases,
                                              const std::vector<AbReferenceCase> &reference);

class AbRunner {
 public:
  explicit AbRunner(AbRunOptions options);
  std::vector<AbReferenceCase> RunReference(const Model &model, const std::vector<AbCaseSpec> &cases) const;
  std::vector<AbCase> RunVariant(const Model &model, const std::vector<AbCaseSpec> &cases,
                                 const std::vector<AbReferenceCase> &reference,
                                 const AbFamilies &families) const;

 private:
  void Progress(const std::string &msg) const;
  AbRunOptions options_;
};

}  // namespace cosyvoice::quality
