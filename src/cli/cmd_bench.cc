// src/cli/cmd_bench.cc - `cosyvoice bench`: per-stage times, tokens/s, RTF, first audio, peak RSS.
#include <sys/resource.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

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

double PeakRssMb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux reports KiB
}

nlohmann::json PrecisionJson(const ModelInfo &info) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto &p : info.precisions)
    j[p.family] = {{"variant", p.variant}, {"precision", p.precision}, {"gate", p.gate}};
  return j;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

Command MakeBenchCommand(CLI::App &parent, const GlobalOptions &global) {
  struct Args {
    std::string model, runs = "3", warmup = "1", tokens;
    RequestFlags request;
    SynthesisFlags synthesis;
    RuntimeOptions runtime;
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand(
      "bench", "Time each stage of synthesis (median of --runs after --warmup; --json: one JSON object)");
  cmd.app->add_option("-m,--model", args->model, "Bundle directory")->required();
  cmd.app->add_option("--runs", args->runs, "Timed runs, 1-1000")->type_name("N")->default_val("3");
  cmd.app->add_option("--warmup", args->warmup, "Untimed runs first, 0-100")
      ->type_name("N")
      ->default_val("1");
  cmd.app->add_option(
      "--tokens", args->tokens,
      "Generate exactly this many speech tokens per sentence (25 = 1 s), for comparable runs");
  args->request.AddTo(cmd.app, false);
  args->synthesis.AddTo(cmd.app);
  args->runtime.AddTo(cmd.app);
  const GlobalOptions *g = &global;
  CLI::App *app = cmd.app;
  cmd.run = [args, g, app] {
    Args &a = *args;
    const int runs = static_cast<int>(IntFlag("--runs", a.runs, {1, 1000}));
    const int warmup = static_cast<int>(IntFlag("--warmup", a.warmup, {0, 100}));
    SynthesisSettings settings = ParseSynthesisFlags(a.synthesis);
    if (app->count("--tokens") > 0) {
      const int n = static_cast<int>(IntFlag("--tokens", a.tokens, {1, 1000000}));
      settings.min_tokens = settings.max_tokens = n;
    }
    const RuntimeConfig runtime = a.runtime.ToConfig();
    const BundleConfig bundle = BundleConfig::Load(a.model);
    TextPolicy policy;
    policy.read_piped_stdin = false;
    policy.default_text = "Hello! This sentence is spoken in a voice cloned from a three second prompt.";
    ProgressReporter progress(g->json ? ProgressStyle::kQuiet : PickProgressStyle(g->quiet, false));
    progress.CaptureLog();
    const PreparedRequest prepared = PrepareRequest(
        a.request, a.synthesis, bundle, policy, [&progress](const std::string &m) { progress.Warning(m); });
    const auto t_load = std::chrono::steady_clock::now();
    auto synthesizer = Synthesizer::Load(a.model, runtime, a.runtime.precision, a.runtime.optimized);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
    const auto t_voice = std::chrono::steady_clock::now();
    const Voice voice =
        prepared.voice ? *prepared.voice
                       : synthesizer->CreateVoice(prepared.prompt, prepared.transcript, prepared.prompt_name);
    const double voice_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_voice).count();
    const SynthesisRequest req = MakeSynthesisRequest(prepared, voice);
    const SynthesisOptions options = ToEngineOptions(settings);
    const int threads = runtime.intra_op_threads;

    std::vector<SynthesisStats> stats;
    {
      CancelScope cancel([&synthesizer] { synthesizer->Cancel(); });
      for (int i = 0; i < warmup + runs; ++i) {
        SynthesisStats st;
        synthesizer->Stream(
            req, options, [](const AudioChunk &) { return true; }, &st);
        if (i >= warmup) stats.push_back(st);
        progress.Note("run", std::string(i < warmup ? "warmup" : "run") + " " + std::to_string(i + 1) + ": " +
                                 std::to_string(st.total_seconds) + " s");
      }
    }
    const std::vector<SynthesisStats> &runs_stats = stats;
    auto med = [&](auto field) {
      std::vector<double> v;
      for (const auto &s : runs_stats) v.push_back(field(s));
      return Median(v);
    };
    const double audio = med([](const SynthesisStats &s) { return s.audio_seconds; });
    const double total = med([](const SynthesisStats &s) { return s.total_seconds; });
    const double prefill = med([](const SynthesisStats &s) { return s.seconds.llm_prefill; });
    const double decode = med([](const SynthesisStats &s) { return s.seconds.llm_decode; });
    const double flow = med([](const SynthesisStats &s) { return s.seconds.flow; });
    const double vocoder = med([](const SynthesisStats &s) { return s.seconds.vocoder; });
    const double text = med([](const SynthesisStats &s) { return s.seconds.text; });
    const double first = med([](const SynthesisStats &s) { return s.first_audio_seconds; });
    const double tokens = med([](const SynthesisStats &s) { return static_cast<double>(s.speech_tokens); });
    const double positions =
        med([](const SynthesisStats &s) { return static_cast<double>(s.prompt_positions); });
    const double rss = PeakRssMb();

    if (g->json) {
      nlohmann::json j = {{"model", synthesizer->model_name()},
                          {"mode", ModeName(req.mode)},
                          {"threads", threads},
                          {"providers", synthesizer->providers()},
                          {"precision", PrecisionJson(synthesizer->info())},
                          {"stream", settings.stream},
                          {"runs", runs},
                          {"optimized_graphs", synthesizer->info().optimized_graphs},
                          {"load_seconds", load_s},
                          {"voice_seconds", voice_s},
                          {"text_seconds", text},
                          {"llm_prefill_seconds", prefill},
                          {"prefill_positions", positions},
                          {"llm_decode_seconds", decode},
                          {"speech_tokens", tokens},
                          {"tokens_per_second", decode > 0 ? tokens / decode : 0.0},
                          {"flow_seconds", flow},
                          {"vocoder_seconds", vocoder},
                          {"total_seconds", total},
                          {"audio_seconds", audio},
                          {"rtf", audio > 0 ? total / audio : 0.0},
                          {"first_audio_seconds", first},
                          {"peak_rss_mb", rss}};
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("cosyvoice bench: %s, mode %s, %d run(s), threads %d, %s\n",
                synthesizer->model_name().c_str(), ModeName(req.mode), runs, threads,
                settings.stream ? "streaming" : "offline");
    std::printf("  precision:");
    for (const auto &p : synthesizer->info().precisions)
      std::printf(" %s=%s (%s, %s)", p.family.c_str(), p.variant.c_str(), p.precision.c_str(),
                  p.gate.c_str());
    if (synthesizer->info().optimized_graphs > 0)
      std::printf("\n  optimized graphs: %d from %s", synthesizer->info().optimized_graphs,
                  synthesizer->info().optimized_dir.c_str());
    std::printf("\n  %-22s %10s  %s\n", "stage", "seconds", "rate");
    std::printf("  %-22s %10.3f\n", "load bundle", load_s);
    std::printf("  %-22s %10.3f\n", "voice (frontend)", voice_s);
    std::printf("  %-22s %10.3f\n", "text", text);
    std::printf("  %-22s %10.3f  %.0f positions, %.1f positions/s\n", "llm prefill", prefill, positions,
                prefill > 0 ? positions / prefill : 0.0);
    std::printf("  %-22s %10.3f  %.0f tokens, %.1f tokens/s (real time: 25)\n", "llm decode", decode, tokens,
                decode > 0 ? tokens / decode : 0.0);
    std::printf("  %-22s %10.3f  %.3f s per second of audio\n", "flow", flow, audio > 0 ? flow / audio : 0.0);
    std::printf("  %-22s %10.3f  %.3f s per second of audio\n", "vocoder", vocoder,
                audio > 0 ? vocoder / audio : 0.0);
    std::printf("  %-22s %10.3f  %.2f s of audio, RTF %.3f\n", "total", total, audio,
                audio > 0 ? total / audio : 0.0);
    std::printf("  %-22s %10.3f\n", "first audio", first);
    std::printf("  %-22s %10.0f MB\n", "peak RSS", rss);
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
