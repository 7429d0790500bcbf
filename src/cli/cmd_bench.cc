// src/cli/cmd_bench.cc - `cosyvoice bench`: per-stage times, tokens/s, RTF, first audio, peak RSS.
#include <sys/resource.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/command_registry.h"
#include "cli/synthesis_options.h"
#include "common/log.h"
#include "cosyvoice/cosyvoice.h"

namespace cosyvoice::cli {
namespace {

double PeakRssMb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux reports KiB
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

Command MakeBenchCommand(CLI::App &parent, const GlobalOptions &global) {
  struct Args {
    std::string model;
    int runs = 3, warmup = 1, tokens = 0;
    bool json = false;
    RequestFlags request;
    SynthesisOptions options;
    RuntimeOptions runtime;
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand("bench", "Time each stage of synthesis (median of --runs after --warmup)");
  cmd.app->add_option("-m,--model", args->model, "Bundle directory")->required();
  cmd.app->add_option("--runs", args->runs, "Timed runs")->default_val(3)->check(CLI::Range(1, 1000));
  cmd.app->add_option("--warmup", args->warmup, "Untimed runs first")
      ->default_val(1)
      ->check(CLI::Range(0, 100));
  cmd.app->add_option(
      "--tokens", args->tokens,
      "Generate exactly this many speech tokens per sentence (25 = 1 s), for comparable runs");
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
    const auto t_load = std::chrono::steady_clock::now();
    const auto model = OpenModel(a.model, a.runtime);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
    const auto t_voice = std::chrono::steady_clock::now();
    const Voice voice = a.request.LoadVoice(*model, true);
    const double voice_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_voice).count();
    Audio source;
    const SynthesisRequest req = a.request.BuildRequest(voice, source);
    const int threads = a.runtime.threads;

    std::vector<SynthesisStats> runs;
    Session session(model);
    for (int i = 0; i < a.warmup + a.runs; ++i) {
      SynthesisStats st;
      session.Synthesize(
          req, a.options, [](const AudioChunk &) { return true; }, &st);
      if (i >= a.warmup) runs.push_back(st);
      if (!g->quiet && !a.json)
        COSY_LOG(kInfo) << (i < a.warmup ? "warmup" : "run") << " " << i + 1 << ": " << st.total_seconds
                        << " s";
    }
    auto med = [&](auto field) {
      std::vector<double> v;
      for (const auto &s : runs) v.push_back(field(s));
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

    if (a.json) {
      nlohmann::json j = {{"model", model->info().model_name},
                          {"mode", ModeName(req.mode)},
                          {"threads", threads},
                          {"providers", model->info().providers},
                          {"stream", a.options.stream},
                          {"runs", a.runs},
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
    std::printf("cosyvoice bench: %s, mode %s, %d run(s), threads %d, %s\n", model->info().model_name.c_str(),
                ModeName(req.mode), a.runs, threads, a.options.stream ? "streaming" : "offline");
    std::printf("  %-22s %10s  %s\n", "stage", "seconds", "rate");
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
