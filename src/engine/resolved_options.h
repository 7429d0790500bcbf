// src/engine/resolved_options.h - a request's SynthesisOptions with the bundle's defaults filled in.
#pragma once

#include <optional>

#include "cosyvoice/cosyvoice.h"
#include "engine/bundle_config.h"
#include "engine/flow_matching.h"
#include "engine/sampler.h"
#include "engine/token_generator.h"

namespace cosyvoice {

struct ResolvedOptions {
  RasParams ras;
  double min_ratio = 0, max_ratio = 0;  // speech tokens per text token
  std::optional<int> min_tokens, max_tokens;
  FlowOptions flow;
  float speed = 1.0f;
  bool stream = false;
  StreamMode stream_mode = StreamMode::kExact;
  uint64_t seed = 0;
};

// Validates `options` and fills every unset field from the bundle. Throws Error(kInvalidArgument)
// naming the option, including for combinations that only fail with the bundle's values (e.g. a
// max_token_text_ratio below the bundle's min_token_text_ratio).
ResolvedOptions ResolveOptions(const SynthesisOptions &options, const BundleConfig &bundle);

// The speech-token limits of one segment (spec §5.3) with the request's floor/cap applied.
LengthLimits SegmentLengthLimits(int text_tokens, const ResolvedOptions &options);

}  // namespace cosyvoice
