// src/engine/resolved_options.cc - SynthesisOptions::Validate and the bundle's defaults.
#include "engine/resolved_options.h"

#include <algorithm>
#include <string>

#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

[[noreturn]] void Fail(const std::string &message) {
  throw Error(ErrorCode::kInvalidArgument, "synthesis options: " + message);
}

std::string Str(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

void SynthesisOptions::Validate() const {
  // Comparisons are written so that NaN fails them.
  if (!(speed >= 0.5f && speed <= 2.0f)) Fail("speed must be in [0.5, 2.0], got " + Str(speed));
  if (stream && speed != 1.0f) Fail("speed cannot change in streaming mode (upstream ignores it there)");
  if (n_timesteps && !(*n_timesteps >= 1 && *n_timesteps <= 1000))
    Fail("n_timesteps must be in [1, 1000], got " + std::to_string(*n_timesteps));
  if (cfg_rate && !(*cfg_rate >= 0.0f && *cfg_rate <= 100.0f))
    Fail("cfg_rate must be in [0, 100], got " + Str(*cfg_rate));
  if (top_p && !(*top_p > 0.0f && *top_p <= 1.0f)) Fail("top_p must be in (0, 1], got " + Str(*top_p));
  if (top_k && *top_k < 1) Fail("top_k must be >= 1, got " + std::to_string(*top_k));
  if (win_size && *win_size < 0) Fail("win_size must be >= 0, got " + std::to_string(*win_size));
  if (tau_r && !(*tau_r >= 0.0f)) Fail("tau_r must be >= 0, got " + Str(*tau_r));
  if (min_token_text_ratio && !(*min_token_text_ratio >= 0.0f && *min_token_text_ratio <= 1e4f))
    Fail("min_token_text_ratio must be in [0, 10000], got " + Str(*min_token_text_ratio));
  if (max_token_text_ratio && !(*max_token_text_ratio >= 0.0f && *max_token_text_ratio <= 1e4f))
    Fail("max_token_text_ratio must be in [0, 10000], got " + Str(*max_token_text_ratio));
  if (min_token_text_ratio && max_token_text_ratio && *max_token_text_ratio < *min_token_text_ratio)
    Fail("max_token_text_ratio must be >= min_token_text_ratio");
  if (max_tokens && *max_tokens < 1) Fail("max_tokens must be >= 1, got " + std::to_string(*max_tokens));
  if (min_tokens && *min_tokens < 0) Fail("min_tokens must be >= 0, got " + std::to_string(*min_tokens));
  if (min_tokens && max_tokens && *min_tokens > *max_tokens) Fail("min_tokens must be <= max_tokens");
}

ResolvedOptions ResolveOptions(const SynthesisOptions &o, const BundleConfig &b) {
  o.Validate();
  ResolvedOptions r;
  const SamplingConfig &s = b.llm.sampling;
  r.ras.top_p = o.top_p ? static_cast<double>(*o.top_p) : s.top_p;
  r.ras.top_k = o.top_k.value_or(s.top_k);
  r.ras.win_size = o.win_size.value_or(s.win_size);
  r.ras.tau_r = o.tau_r ? static_cast<double>(*o.tau_r) : s.tau_r;
  r.min_ratio =
      o.min_token_text_ratio ? static_cast<double>(*o.min_token_text_ratio) : b.llm.min_token_text_ratio;
  r.max_ratio =
      o.max_token_text_ratio ? static_cast<double>(*o.max_token_text_ratio) : b.llm.max_token_text_ratio;
  if (r.max_ratio < r.min_ratio) {
    Fail("max_token_text_ratio " + Str(r.max_ratio) + " is below min_token_text_ratio " + Str(r.min_ratio) +
         " (a value not given is the bundle's)");
  }
  r.min_tokens = o.min_tokens;
  r.max_tokens = o.max_tokens;
  r.flow.n_timesteps = o.n_timesteps.value_or(b.flow.n_timesteps);
  r.flow.cfg_rate = o.cfg_rate.value_or(static_cast<float>(b.flow.cfg_rate));
  r.speed = o.speed;
  r.stream = o.stream;
  r.stream_mode = o.stream_mode;
  r.seed = o.seed;
  return r;
}

LengthLimits SegmentLengthLimits(int text_tokens, const ResolvedOptions &o) {
  LengthLimits limits = ComputeLengthLimits(text_tokens, o.min_ratio, o.max_ratio);
  if (o.max_tokens) limits.max_len = std::min(limits.max_len, *o.max_tokens);
  if (o.min_tokens) limits.min_len = std::max(limits.min_len, *o.min_tokens);
  limits.min_len = std::min(limits.min_len, limits.max_len);
  return limits;
}

}  // namespace cosyvoice
