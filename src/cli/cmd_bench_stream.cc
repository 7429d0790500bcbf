// src/cli/cmd_bench_stream.cc - `cosyvoice bench-stream`: streaming modes side by side with offline
// synthesis in one process (docs/streaming.md §7): first audio, per-chunk latency, playback stalls,
// total work and wall time.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <sstream>

#include "cli/command_registry.h"
#include "cli/synthesis_options.h"
#include "common/log.h"
#include "cosyvoice/cosyvoice.h"

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

std::vector<Variant> ParseVariants(const std::string &list) {
  std::vector<Variant> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
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

Timeline RunOnce(Session &session, const SynthesisRequest &req, SynthesisOptions options, const Variant &v,
                 int sample_rate) {
  options.stream = v.stream;
  options.stream_mode = v.mode;
  Timeline t;
  const auto start = std::chrono::steady_clock::now();
  session.Synthesize(
      req, options,
      [&](const AudioChunk &c) {
        if (c.num_samples == 0) return true;
        t.samples.insert(t.samples.end(), c.samples, c.samples + c.num_samples);
        t.at.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        t.seconds.push_back(static_cast<double>(c.num_samples) / sample_rate);
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
    const double d = static_cast<double>(got[i]) - static_cast<double>(ref[i]);
    max_abs = std::max(max_abs, std::abs(d));
    signal += static_cast<double>(ref[i]) * static_cast<double>(ref[i]);
    noise += d * d;
  }
  return {max_abs, noise > 0 ? 10.0 * std::log10(signal / noise) : std::numeric_limits<double>::infinity()};
}

}  // namespace

Command MakeBenchStreamCommand(CLI::App &parent, const GlobalOptions &global) {
  struct Args {
    std::string model, modes = "offline,recompute,exact,fast";
    int runs = 3, tokens = 125;
    bool json = false;
    RequestFlags request;
    SynthesisOptions options;
    RuntimeOptions runtime;
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand(
      "bench-stream",
      "Compare streaming modes with offline synthesis in one run: first audio, chunk latency, stalls, work");
  cmd.app->add_option("-m,--model", args->model, "Bundle directory")->required();
  cmd.app->add_option("--modes", args->modes, "Comma-separated: offline, recompute, exact, fast")
      ->default_val("offline,recompute,exact,fast");
  cmd.app->add_option("--runs", args->runs, "Timed runs per mode, interleaved (median reported)")
      ->default_val(3)
      ->check(CLI::Range(1, 100));
  cmd.app
      ->add_option("--tokens", args->tokens,
                   "Speech tokens per sentence (25 = 1 s; a random-weight model has no natural stop)")
      ->default_val(125);
  cmd.app->add_flag("--json", args->json, "Print one JSON object instead of a table");
  args->request.AddTo(cmd.app);
  AddSynthesisFlags(cmd.app, args->options);
  args->runtime.AddTo(cmd.app);
  const GlobalOptions *g = &global;
  cmd.run = [args, g] {
    Args &a = *args;
    if (a.request.text.empty() && a.request.text_file.empty()) {
      a.request.text = "Hello! This sentence is spoken in a voice cloned from a three second prompt.";
    }
    a.request.Resolve();
    if (a.tokens > 0) a.options.min_tokens = a.options.max_tokens = a.tokens;
    std::vector<Variant> variants = ParseVariants(a.modes);
    const auto model = OpenModel(a.model, a.runtime);
    const Voice voice = a.request.LoadVoice(*model, true);
    Audio source;
    const SynthesisRequest req = a.request.BuildRequest(voice, source);
    Session session(model);
    // one warmup per variant (it also builds the voice's streaming prompt cache: "cached voice"),
    // then the timed runs round-robin so that load from elsewhere hits every variant alike
    for (int r = -1; r < a.runs; ++r) {
      for (Variant &v : variants) {
        Timeline t = RunOnce(session, req, a.options, v, model->sample_rate());
        if (!g->quiet && !a.json) {
          COSY_LOG(kInfo) << (r < 0 ? "warmup " : "run ") << v.name << ": first audio "
                          << (t.at.empty() ? 0 : t.at[0]) << " s, total " << t.stats.total_seconds << " s";
        }
        if (r >= 0) v.runs.push_back(std::move(t));
      }
    }
    auto med = [](const Variant &v, auto f) {
      std::vector<double> x;
      for (const Timeline &t : v.runs) x.push_back(f(t));
      return Median(x);
    };
    const Variant *offline = nullptr, *exact = nullptr;
    for (const Variant &v : variants) {
      if (!v.stream) offline = &v;
      if (v.stream && v.mode == StreamMode::kExact) exact = &v;
    }
    const double off_work =
        offline
            ? med(*offline, [](const Timeline &t) { return static_cast<double>(t.stats.flow_frame_steps); })
            : 0.0;
    const double off_total =
        offline ? med(*offline, [](const Timeline &t) { return t.stats.total_seconds; }) : 0.0;
    nlohmann::json out = {{"model", model->info().model_name},
                          {"threads", a.runtime.threads},
                          {"tokens", a.tokens},
                          {"runs", a.runs},
                          {"prompt_tokens", voice.speech_tokens.size()}};
    for (const Variant &v : variants) {
      nlohmann::json j;
      j["first_audio_seconds"] = med(v, [](const Timeline &t) { return t.at.empty() ? 0.0 : t.at[0]; });
      j["total_seconds"] = med(v, [](const Timeline &t) { return t.stats.total_seconds; });
      j["audio_seconds"] = med(v, [](const Timeline &t) { return t.stats.audio_seconds; });
      j["chunks"] = med(v, [](const Timeline &t) { return static_cast<double>(t.at.size()); });
      j["max_chunk_gap_seconds"] = med(v, [](const Timeline &t) { return t.MaxChunkGap(); });
      j["stall_seconds"] = med(v, [](const Timeline &t) { return t.Stalls().first; });
      j["worst_stall_seconds"] = med(v, [](const Timeline &t) { return t.Stalls().second; });
      j["flow_seconds"] = med(v, [](const Timeline &t) { return t.stats.seconds.flow; });
      j["vocoder_seconds"] = med(v, [](const Timeline &t) { return t.stats.seconds.vocoder; });
      j["llm_seconds"] =
          med(v, [](const Timeline &t) { return t.stats.seconds.llm_prefill + t.stats.seconds.llm_decode; });
      j["flow_frame_steps"] =
          med(v, [](const Timeline &t) { return static_cast<double>(t.stats.flow_frame_steps); });
      j["vocoder_frames"] =
          med(v, [](const Timeline &t) { return static_cast<double>(t.stats.vocoder_frames); });
      j["stream_cache_mb"] = med(
          v, [](const Timeline &t) { return static_cast<double>(t.stats.stream_cache_bytes) / 1048576.0; });
      if (off_work > 0) j["flow_work_vs_offline"] = j["flow_frame_steps"].get<double>() / off_work;
      if (off_total > 0) j["total_vs_offline"] = j["total_seconds"].get<double>() / off_total;
      if (exact != nullptr) {  // the same seed and tokens: recompute must equal exact within float32
        const auto [max_abs, snr] = Distance(v.runs.back().samples, exact->runs.back().samples);
        j["vs_exact_max_abs"] = max_abs;
        j["vs_exact_snr_db"] = std::isfinite(snr) ? nlohmann::json(snr) : nlohmann::json("inf");
        j["samples"] = v.runs.back().samples.size();
      }
      const Timeline &last = v.runs.back();  // one run's chunk arrival times, for the record
      j["chunk_times_last_run"] = last.at;
      j["chunk_audio_seconds_last_run"] = last.seconds;
      out["variants"][v.name] = j;
    }
    if (a.json) {
      std::printf("%s\n", out.dump(2).c_str());
      return 0;
    }
    std::printf(
        "cosyvoice bench-stream: %s, %d tokens after a %zu-token prompt, median of %d runs, threads %d\n",
        model->info().model_name.c_str(), a.tokens, voice.speech_tokens.size(), a.runs, a.runtime.threads);
    std::printf("  %-10s %8s %8s %8s %6s %8s %8s %8s %10s %8s %12s\n", "mode", "first s", "total s", "vs off",
                "chunks", "max gap", "stall s", "flow s", "work/off", "cache MB", "vs exact");
    for (const Variant &v : variants) {
      const nlohmann::json &j = out["variants"][v.name];
      std::printf("  %-10s %8.2f %8.2f %8.2f %6.0f %8.2f %8.2f %8.2f %10.2f %8.0f %12.2e\n", v.name.c_str(),
                  j["first_audio_seconds"].get<double>(), j["total_seconds"].get<double>(),
                  j.value("total_vs_offline", 0.0), j["chunks"].get<double>(),
                  j["max_chunk_gap_seconds"].get<double>(), j["stall_seconds"].get<double>(),
                  j["flow_seconds"].get<double>(), j.value("flow_work_vs_offline", 0.0),
                  j["stream_cache_mb"].get<double>(), j.value("vs_exact_max_abs", 0.0));
    }
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
