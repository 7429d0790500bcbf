// src/cli/synthesis_flags.cc - see synthesis_flags.h.
#include "cli/synthesis_flags.h"

#include <random>
#include <utility>

#include "cli/strict_number.h"
#include "engine/bundle_config.h"

namespace cosyvoice::cli {
namespace {

// Ranges of the tuning flags. The engine checks them again (SynthesisOptions::Validate); here they
// are reported with the flag's name before anything loads.
constexpr RealRange kSpeed{0.5, 2.0};
constexpr IntRange kSteps{1, 1000};         // flow ODE steps; the bundle default is 10
constexpr RealRange kCfg{0.0, 100.0};       // classifier-free guidance; 0 turns it off
constexpr RealRange kTopP{0.0, 1.0, true};  // nucleus mass: 0 would keep no token
constexpr IntRange kTopK{1, 1000000};       // 1 is greedy
constexpr IntRange kMaxTokens{1, 1000000};  // 25 tokens are one second of speech
constexpr IntRange kMinTokens{0, 1000000};

}  // namespace

void SynthesisFlags::AddTo(CLI::App *app) {
  app_ = app;
  app->add_option("--seed", seed, "Sampling seed 0..2^64-1, or 'random' (printed); sentence i uses seed + i")
      ->type_name("N|random");
  app->add_option("--speed", speed, "Speaking rate 0.5-2.0 (not with --stream)")->type_name("X");
  app->add_option("--steps", steps, "Flow ODE steps 1-1000 (default: the bundle's, 10)")->type_name("N");
  app->add_option("--cfg", cfg, "Classifier-free guidance 0-100 (default: the bundle's, 0.7)")
      ->type_name("X");
  app->add_option("--top-p", top_p, "Nucleus sampling mass in (0, 1] (default: the bundle's, 0.8)")
      ->type_name("X");
  app->add_option("--top-k", top_k, "Sample among the k likeliest tokens, k >= 1 (default: the bundle's, 25)")
      ->type_name("N");
  app->add_option("--max-tokens", max_tokens, "At most N speech tokens per sentence, N >= 1 (25 per second)")
      ->type_name("N");
  app->add_option("--min-tokens", min_tokens, "At least N speech tokens per sentence")->type_name("N");
  app->add_flag("--stream", stream, "Synthesize in chunks: the first audio comes out after about a second");
  app->add_option(
         "--stream-mode", stream_mode,
         "With --stream: exact (default: upstream's streamed audio without recomputing earlier "
         "chunks), fast (first audio sooner, less work: the prompt cached on its own, the final chunk "
         "with chunk attention) or recompute "
         "(upstream's loop); docs/streaming.md")
      ->type_name("MODE");
  app->add_flag("--no-text-frontend", no_text_frontend, "Do not normalize or split the text");
  app->add_flag("--no-normalization", no_normalization,
                "Keep numbers, dates and symbols as written (still split into sentences)");
}

bool SynthesisFlags::Given(const char *name) const {
  if (app_ == nullptr) return false;
  const CLI::Option *opt = app_->get_option_no_throw(name);
  return opt != nullptr && opt->count() > 0;
}

std::vector<std::string> SynthesisFlags::TextModeFlagsGiven() const {
  std::vector<std::string> out;
  const std::pair<const char *, bool> flags[] = {{"--seed", !seed.empty()},
                                                 {"--top-p", !top_p.empty()},
                                                 {"--top-k", !top_k.empty()},
                                                 {"--min-tokens", !min_tokens.empty()},
                                                 {"--max-tokens", !max_tokens.empty()},
                                                 {"--no-text-frontend", no_text_frontend},
                                                 {"--no-normalization", no_normalization}};
  for (const auto &[name, set] : flags)
    if (set || Given(name)) out.push_back(name);
  return out;
}

bool SynthesisFlags::speed_given() const {
  return !speed.empty() || Given("--speed");
}

SynthesisSettings ParseSynthesisFlags(const SynthesisFlags &f) {
  SynthesisSettings s;
  if (f.seed == "random") {
    // 32 bits: easy to read back and to type again, and exact in any JSON reader.
    s.seed = std::random_device{}();
    s.seed_random = true;
  } else if (!f.seed.empty() || f.Given("--seed")) {
    s.seed = SeedFlag("--seed", f.seed);
  }
  auto given = [&](const std::string &value, const char *name) { return !value.empty() || f.Given(name); };
  if (given(f.speed, "--speed")) s.speed = static_cast<float>(RealFlag("--speed", f.speed, kSpeed));
  if (given(f.steps, "--steps")) s.steps = static_cast<int>(IntFlag("--steps", f.steps, kSteps));
  if (given(f.cfg, "--cfg")) s.cfg = static_cast<float>(RealFlag("--cfg", f.cfg, kCfg));
  if (given(f.top_p, "--top-p")) s.top_p = static_cast<float>(RealFlag("--top-p", f.top_p, kTopP));
  if (given(f.top_k, "--top-k")) s.top_k = static_cast<int>(IntFlag("--top-k", f.top_k, kTopK));
  if (given(f.max_tokens, "--max-tokens"))
    s.max_tokens = static_cast<int>(IntFlag("--max-tokens", f.max_tokens, kMaxTokens,
                                            "leave the flag out for no cap beyond the bundle's ratio"));
  if (given(f.min_tokens, "--min-tokens"))
    s.min_tokens = static_cast<int>(IntFlag("--min-tokens", f.min_tokens, kMinTokens));
  if (s.min_tokens && s.max_tokens && *s.min_tokens > *s.max_tokens)
    throw Error(ErrorCode::kInvalidArgument, "--min-tokens " + f.min_tokens + " is more than --max-tokens " +
                                                 f.max_tokens + "; the floor must not exceed the cap");
  s.stream = f.stream;
  if (!f.stream_mode.empty() || f.Given("--stream-mode")) {
    if (f.stream_mode != "exact" && f.stream_mode != "fast" && f.stream_mode != "recompute")
      throw Error(ErrorCode::kInvalidArgument,
                  "--stream-mode: expected exact, fast or recompute, got '" + f.stream_mode + "'");
    if (!s.stream)
      throw Error(ErrorCode::kInvalidArgument,
                  "--stream-mode applies with --stream only (it says how chunks are computed); add --stream");
    s.stream_mode = ParseStreamMode(f.stream_mode);
  }
  s.text_frontend = !f.no_text_frontend;
  s.text_normalization = !f.no_normalization;
  if (s.stream && f.speed_given())
    throw Error(
        ErrorCode::kInvalidArgument,
        "--speed does not apply with --stream: streamed audio is not re-timed (use one or the other)");
  return s;
}

SynthesisOptions ToEngineOptions(const SynthesisSettings &s) {
  SynthesisOptions o;
  o.seed = s.seed;
  o.speed = s.speed;
  o.n_timesteps = s.steps;
  o.cfg_rate = s.cfg;
  o.top_p = s.top_p;
  o.top_k = s.top_k;
  o.min_tokens = s.min_tokens;
  o.max_tokens = s.max_tokens;
  o.stream = s.stream;
  o.stream_mode = s.stream_mode;
  o.text_frontend = s.text_frontend;
  o.text_normalization = s.text_normalization;
  return o;
}

void CheckStreamModeFits(const SynthesisSettings &s, const BundleConfig &bundle, const std::string &model) {
  if (!s.stream || s.stream_mode != StreamMode::kFast) return;
  // the condition of Model::has_incremental_streaming, read from config.json before loading
  if (bundle.flow.estimator_chunk.file.empty() || bundle.hift.left_context_frames <= 0)
    throw Error(
        ErrorCode::kInvalidArgument,
        "--stream-mode fast: the bundle " + model +
            " has no flow/flow_estimator_chunk.onnx (flow.estimator_chunk and hift.left_context_frames in "
            "config.json); re-export it with the streaming graph, or use --stream-mode exact or recompute");
}

}  // namespace cosyvoice::cli
