// src/cli/cmd_bench_stream.cc - `cosyvoice bench-stream`: the streaming modes side by side with
// offline synthesis in one process (docs/streaming.md §7): first audio, chunk gaps, playback stalls,
// flow work and wall time against offline, cache size, waveform distance to `exact`.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <set>
#include <sstream>
#include <utility>

#include "cli/command_registry.h"
#include "cli/progress.h"
#include "cli/request.h"
#include "cli/signals.h"
#include "cli/strict_number.h"
#include "cli/synthesis_flags.h"
#include "cli/synthesizer.h"
#include "cosyvoice/cosyvoice.h"
#include "engine/bundle_config.h"

namespace cosyvoice::cli {
namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// One timed request: when each chunk arrived, how much audio it held, and what the engine did.
struct Timeline {
  std::vector<double> at;       // seconds since the call, per non-empty chunk
  std::vector<double> seconds;  // audio seconds per chunk
  std::vector<float> samples;   // the whole output, to compare the modes
  SynthesisStats stats;

  // A player that starts each chunk when it arrives or when the previous one ends, whichever is
  // later: the total silence after the first chunk started (0 = gapless), and the largest stall.
  std::pair<double, double> Stalls() const {
    double end = 0, total = 0, worst = 0;
    for (size_t i = 0; i < at.size(); ++i) {
      const double start = i == 0 ? at[0] : std::max(at[i], end);
      if (i > 0 && at[i] > end) {
        total += at[i] - end;
        worst = std::max(worst, at[i] - end);
      }
      end = start + seconds[i];
    }
    return {total, worst};
  }
  double MaxChunkGap() const {  // the longest wait between two chunks
    double g = 0;
    for (size_t i = 1; i < at.size(); ++i) g = std::max(g, at[i] - at[i - 1]);
    return g;
  }
};

struct Variant {
  std::string name;
  bool stream = false;
  StreamMode mode = StreamMode::kExact;
  std::vector<Timeline> runs;
};

// "offline,recompute,exact,fast" (any subset, each once). Error(kInvalidArgument) naming --modes.
std::vector<Variant> ParseVariants(const std::string &list) {
  std::vector<Variant> out;
  std::set<std::string> seen;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item != "offline" && item != "recompute" && item != "exact" && item != "fast")
      throw Error(ErrorCode::kInvalidArgument,
                  "--modes: '" + item +
                      "' is not a mode; expected a comma-separated list of offline, recompute, "
                      "exact and fast");
    if (!seen.insert(item).second)
      throw Error(ErrorCode::kInvalidArgument, "--modes: '" + item + "' is listed twice");
    Variant v;
    v.name = item;
    if (item != "offline") {
      v.stream = true;
      v.mode = ParseStreamMode(item);
    }
    out.push_back(v);
  }
  if (out.empty()) throw Error(ErrorCode::kInvalidArgument, "--modes: nothing to run");
  return out;
}

Timeline RunOnce(Synthesizer &synthesizer, const SynthesisRequest &req, SynthesisOptions options,
                 const Variant &v) {
  options.stream = v.stream;
  options.stream_mode = v.mode;
  Timeline t;
  const int rate = synthesizer.sample_rate();
  const auto start = std::chrono::steady_clock::now();
  synthesizer.Stream(
      req, options,
      [&](const AudioChunk &c) {
        if (c.num_samples == 0) return true;
        t.samples.insert(t.samples.end(), c.samples, c.samples + c.num_samples);
        t.at.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        t.seconds.push_back(static_cast<double>(c.num_samples) / rate);
        return true;
      },
      &t.stats);
  return t;
}

// Waveform distance of `got` to `ref`: max |difference| and SNR in dB (ref power / difference
// power; infinite when identical), over the common length.
std::pair<double, double> Distance(const std::vector<float> &got, const std::vector<float> &ref) {
  double max_abs = 0, signal = 0, noise = 0;
  for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i) {
    const double r = static_cast<double>(ref[i]);
    const double d = static_cast<double>(got[i]) - r;
    max_abs = std::max(max_abs, std::abs(d));
    signal += r * r;
    noise += d * d;
  }
  return {max_abs, noise > 0 ? 10.0 * std::log10(signal / noise) : std::numeric_limits<double>::infinity()};
}

struct Args {
  std::string model, modes = "offline,recompute,exact,fast", runs = "3", tokens = "125";
  RequestFlags request;
  SynthesisFlags synthesis;
  RuntimeOptions runtime;
  StreamCacheOptions stream_cache;
};

// The figures of one variant, medians over its runs; ratios against offline and distance to exact.
nlohmann::json Summarize(const Variant &v, const Variant *offline, const Variant *exact) {
  auto med = [](const Variant &x, auto f) {
    std::vector<double> values;
    for (const Timeline &t : x.runs) values.push_back(f(t));
    return Median(values);
  };
  auto work = [](const Timeline &t) { return static_cast<double>(t.stats.flow_frame_steps); };
  auto total = [](const Timeline &t) { return t.stats.total_seconds; };
  nlohmann::json j;
  j["first_audio_seconds"] = med(v, [](const Timeline &t) { return t.at.empty() ? 0.0 : t.at[0]; });
  j["total_seconds"] = med(v, total);
  j["audio_seconds"] = med(v, [](const Timeline &t) { return t.stats.audio_seconds; });
  j["chunks"] = med(v, [](const Timeline &t) { return static_cast<double>(t.at.size()); });
  j["max_chunk_gap_seconds"] = med(v, [](const Timeline &t) { return t.MaxChunkGap(); });
  j["stall_seconds"] = med(v, [](const Timeline &t) { return t.Stalls().first; });
  j["worst_stall_seconds"] = med(v, [](const Timeline &t) { return t.Stalls().second; });
  // where the first audio waited: its chunk's tokens, then that chunk's flow and vocoder
  j["first_chunk_tokens_seconds"] =
      med(v, [](const Timeline &t) { return t.stats.first_chunk_tokens_seconds; });
  j["first_chunk_flow_seconds"] = med(v, [](const Timeline &t) { return t.stats.first_chunk_flow_seconds; });
  j["first_chunk_vocoder_seconds"] =
      med(v, [](const Timeline &t) { return t.stats.first_chunk_vocoder_seconds; });
  j["flow_seconds"] = med(v, [](const Timeline &t) { return t.stats.seconds.flow; });
  j["vocoder_seconds"] = med(v, [](const Timeline &t) { return t.stats.seconds.vocoder; });
  j["llm_seconds"] =
      med(v, [](const Timeline &t) { return t.stats.seconds.llm_prefill + t.stats.seconds.llm_decode; });
  j["flow_frame_steps"] = med(v, work);
  j["vocoder_frames"] = med(v, [](const Timeline &t) { return static_cast<double>(t.stats.vocoder_frames); });
  j["stream_cache_mb"] =
      med(v, [](const Timeline &t) { return static_cast<double>(t.stats.stream_cache_bytes) / 1048576.0; });
  j["stream_cache_fallbacks"] =
      med(v, [](const Timeline &t) { return static_cast<double>(t.stats.stream_cache_fallbacks); });
  if (offline != nullptr) {
    const double off_work = med(*offline, work), off_total = med(*offline, total);
    if (off_work > 0) j["flow_work_vs_offline"] = j["flow_frame_steps"].get<double>() / off_work;
    if (off_total > 0) j["total_vs_offline"] = j["total_seconds"].get<double>() / off_total;
  }
  if (exact != nullptr) {  // the same seed and tokens: recompute must equal exact within float32
    const auto [max_abs, snr] = Distance(v.runs.back().samples, exact->runs.back().samples);
    j["vs_exact_max_abs"] = max_abs;
    j["vs_exact_snr_db"] = std::isfinite(snr) ? nlohmann::json(snr) : nlohmann::json("inf");
  }
  j["samples"] = v.runs.back().samples.size();
  j["chunk_times_last_run"] = v.runs.back().at;  // one run's chunk arrival times, for the record
  j["chunk_audio_seconds_last_run"] = v.runs.back().seconds;
  return j;
}

// A comparison with offline or `exact` as printed: "-" when that mode was not in --modes (not 0).
std::string Ratio(const nlohmann::json &j, const char *key, bool scientific = false) {
  if (!j.contains(key)) return "-";
  char text[32];
  if (scientific)
    std::snprintf(text, sizeof text, "%.2e", j[key].get<double>());
  else
    std::snprintf(text, sizeof text, "%.2f", j[key].get<double>());
  return text;
}

void PrintTable(const nlohmann::json &out, const std::vector<Variant> &variants) {
  std::printf(
      "cosyvoice bench-stream: %s, %s tokens after a %s-token prompt, median of %s runs, threads %s\n",
      out["model"].get<std::string>().c_str(), out["tokens"].dump().c_str(),
      out["prompt_tokens"].dump().c_str(), out["runs"].dump().c_str(), out["threads"].dump().c_str());
  std::printf("  %-10s %8s %8s %8s %6s %8s %8s %8s %10s %8s %12s\n", "mode", "first s", "total s", "vs off",
              "chunks", "max gap", "stall s", "flow s", "work/off", "cache MB", "vs exact");
  for (const Variant &v : variants) {
    const nlohmann::json &j = out["variants"][v.name];
    std::printf("  %-10s %8.2f %8.2f %8s %6.0f %8.2f %8.2f %8.2f %10s %8.0f %12s\n", v.name.c_str(),
                j["first_audio_seconds"].get<double>(), j["total_seconds"].get<double>(),
                Ratio(j, "total_vs_offline").c_str(), j["chunks"].get<double>(),
                j["max_chunk_gap_seconds"].get<double>(), j["stall_seconds"].get<double>(),
                j["flow_seconds"].get<double>(), Ratio(j, "flow_work_vs_offline").c_str(),
                j["stream_cache_mb"].get<double>(), Ratio(j, "vs_exact_max_abs", true).c_str());
  }
  std::printf(
      "  first audio of the streamed modes = its chunk's last token + that chunk's flow + vocoder (s):\n");
  for (const Variant &v : variants) {
    if (!v.stream) continue;
    const nlohmann::json &j = out["variants"][v.name];
    std::printf("  %-10s %8.2f = %.2f + %.2f + %.2f\n", v.name.c_str(),
                j["first_audio_seconds"].get<double>(), j["first_chunk_tokens_seconds"].get<double>(),
                j["first_chunk_flow_seconds"].get<double>(), j["first_chunk_vocoder_seconds"].get<double>());
  }
}

int RunBenchStream(Args &a, const GlobalOptions &g) {
  // Everything checked before the model loads.
  for (const char *flag : {"--stream", "--stream-mode", "--speed"})
    if (a.synthesis.Given(flag))
      throw Error(ErrorCode::kInvalidArgument,
                  std::string(flag) + " does not apply to bench-stream: it runs every mode of --modes");
  const int runs = static_cast<int>(IntFlag("--runs", a.runs, {1, 1000}));
  const int tokens = static_cast<int>(IntFlag("--tokens", a.tokens, {1, 1000000}));
  std::vector<Variant> variants = ParseVariants(a.modes);
  SynthesisSettings settings = ParseSynthesisFlags(a.synthesis);
  ModelConfig model_config = a.runtime.ToModelConfig(a.model);
  a.stream_cache.ApplyTo(model_config);
  model_config.Validate();
  const BundleConfig bundle = BundleConfig::Load(a.model);
  for (const Variant &v : variants) {
    if (!v.stream || v.mode == StreamMode::kRecompute) continue;
    // exact would silently run as recompute: a comparison of the two would compare nothing
    if (bundle.flow.estimator_chunk.file.empty() || bundle.hift.left_context_frames <= 0)
      throw Error(ErrorCode::kInvalidArgument,
                  "--modes " + v.name + ": the bundle " + a.model +
                      " has no flow/flow_estimator_chunk.onnx; re-export it with the streaming graph, or use "
                      "--modes offline,recompute");
  }
  TextPolicy policy;
  policy.read_piped_stdin = false;
  policy.default_text = "Hello! This sentence is spoken in a voice cloned from a three second prompt.";
  ProgressReporter progress(g.json ? ProgressStyle::kQuiet : PickProgressStyle(g.quiet, false));
  progress.CaptureLog();
  const PreparedRequest prepared = PrepareRequest(a.request, a.synthesis, bundle, policy,
                                                  [&progress](const std::string &m) { progress.Warning(m); });
  if (prepared.mode != Mode::kVoiceConversion) settings.min_tokens = settings.max_tokens = tokens;

  auto synthesizer = Synthesizer::Load(model_config);
  const Voice voice =
      prepared.voice ? *prepared.voice
                     : synthesizer->CreateVoice(prepared.prompt, prepared.transcript, prepared.prompt_name);
  const SynthesisRequest req = MakeSynthesisRequest(prepared, voice);
  const SynthesisOptions options = ToEngineOptions(settings);
  {
    CancelScope cancel([&synthesizer] { synthesizer->Cancel(); });
    // one warmup per variant (it also builds the voice's streaming prompt cache: a "cached
    // voice"), then the timed runs round-robin so that load from elsewhere hits every variant alike
    for (int r = -1; r < runs; ++r) {
      for (Variant &v : variants) {
        Timeline t = RunOnce(*synthesizer, req, options, v);
        progress.Note("run", std::string(r < 0 ? "warmup " : "run ") + v.name + ": first audio " +
                                 std::to_string(t.at.empty() ? 0.0 : t.at[0]) + " s, total " +
                                 std::to_string(t.stats.total_seconds) + " s");
        if (r >= 0) v.runs.push_back(std::move(t));
      }
    }
  }
  const Variant *offline = nullptr, *exact = nullptr;
  for (const Variant &v : variants) {
    if (!v.stream) offline = &v;
    if (v.stream && v.mode == StreamMode::kExact) exact = &v;
  }
  nlohmann::json out = {{"model", synthesizer->model_name()},
                        {"mode", ModeName(req.mode)},
                        {"threads", model_config.runtime.intra_op_threads},
                        {"stream_cache", model_config.stream_cache},
                        {"max_stream_cache_mb", model_config.max_stream_cache_bytes >> 20},
                        {"tokens", tokens},
                        {"runs", runs},
                        {"prompt_tokens", voice.speech_tokens.size()}};
  for (const Variant &v : variants) out["variants"][v.name] = Summarize(v, offline, exact);
  if (g.json)
    std::printf("%s\n", out.dump(2).c_str());
  else
    PrintTable(out, variants);
  return 0;
}

}  // namespace

Command MakeBenchStreamCommand(CLI::App &parent, const GlobalOptions &global) {
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand(
      "bench-stream",
      "Compare the streaming modes with offline synthesis in one run: first audio, chunk gaps, stalls, work");
  cmd.app->add_option("-m,--model", args->model, "Bundle directory")->required();
  cmd.app->add_option("--modes", args->modes, "Comma-separated: offline, recompute, exact, fast")
      ->type_name("LIST")
      ->default_val("offline,recompute,exact,fast");
  cmd.app->add_option("--runs", args->runs, "Timed runs per mode, 1-1000, interleaved (medians reported)")
      ->type_name("N")
      ->default_val("3");
  cmd.app
      ->add_option("--tokens", args->tokens,
                   "Speech tokens per sentence (25 = 1 s; a random-weight model has no natural stop)")
      ->type_name("N")
      ->default_val("125");
  args->request.AddTo(cmd.app, false);
  args->synthesis.AddTo(cmd.app);
  args->runtime.AddTo(cmd.app);
  args->stream_cache.AddTo(cmd.app);
  const GlobalOptions *g = &global;
  cmd.run = [args, g] { return RunBenchStream(*args, *g); };
  return cmd;
}

}  // namespace cosyvoice::cli
