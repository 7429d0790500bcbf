// src/cli/synthesis_flags.h - the flags that tune synthesis (`tts`, `bench`), parsed strictly.
//
// Every value is kept as typed and parsed by ParseSynthesisFlags (cli/strict_number.h): a value that
// does not fit its range is an error naming the flag - never silently the default. An absent flag
// leaves the bundle's default (config.json) in force.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cosyvoice/cosyvoice.h"

namespace cosyvoice {
struct BundleConfig;
}

namespace cosyvoice::cli {

struct SynthesisFlags {
  std::string seed, speed, steps, cfg, top_p, top_k, min_tokens, max_tokens, stream_mode;
  bool stream = false, no_text_frontend = false, no_normalization = false;
  void AddTo(CLI::App *app);

  // The flags given that only matter when speech tokens are sampled from text, i.e. that voice
  // conversion would ignore: --seed, --top-p, --top-k, --min-tokens, --max-tokens,
  // --no-text-frontend, --no-normalization. (--stream and --stream-mode apply to vc too: it streams.)
  std::vector<std::string> TextModeFlagsGiven() const;
  bool speed_given() const;
  // Whether `name` was on the command line (even with an empty value).
  bool Given(const char *name) const;

 private:
  CLI::App *app_ = nullptr;
};

// The parsed values; empty optionals are "the bundle's default".
struct SynthesisSettings {
  uint64_t seed = 0;
  bool seed_random = false;  // --seed random: `seed` was drawn for this run
  float speed = 1.0f;
  std::optional<int> steps, top_k, min_tokens, max_tokens;
  std::optional<float> cfg, top_p;
  bool stream = false, text_frontend = true, text_normalization = true;
  StreamMode stream_mode = StreamMode::kExact;  // with stream (docs/streaming.md §3)
};

// Throws Error(kInvalidArgument) naming the flag, its range and the value typed.
SynthesisSettings ParseSynthesisFlags(const SynthesisFlags &flags);

// Refuses, before the model loads, a --stream-mode the bundle cannot run: fast needs the chunked
// flow estimator (flow/flow_estimator_chunk.onnx) and hift.left_context_frames in config.json.
// (exact without them computes the same audio the recompute way.)
void CheckStreamModeFits(const SynthesisSettings &settings, const BundleConfig &bundle,
                         const std::string &model);

// The engine's options for these settings (the one place that knows how the engine spells them).
SynthesisOptions ToEngineOptions(const SynthesisSettings &settings);

}  // namespace cosyvoice::cli
