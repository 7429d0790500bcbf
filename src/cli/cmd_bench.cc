// src/cli/cmd_bench.cc - `cosyvoice bench`: per-stage times, tokens/s, RTF, first audio, peak RSS; with
// --concurrency N the aggregate throughput of N requests at once on one Model, and the Session cost.
#include <sys/resource.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

double CurrentRssMb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return 0.0;
}

// Median cost of creating (and destroying) a Session: what a server pays per worker or request.
double SessionCreateMs(const std::shared_ptr<const Model> &model) {
  std::vector<double> ms;
  for (int i = 0; i < 50; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    { Session s(model); }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return Median(ms);
}

// `per_thread` requests on each of `sessions.size()` threads at once, one Session per thread.
// `done` sees each finished request (serialised). Returns the wall time of the whole batch. The first
// error (Cancelled included) is rethrown once every thread has stopped.
double RunBatch(std::vector<std::unique_ptr<Session>> &sessions, const SynthesisRequest &req,
                const SynthesisOptions &options, int per_thread,
                const std::function<void(const SynthesisStats &)> &done) {
  std::mutex mu;
  std::exception_ptr first_error;
  std::vector<std::thread> threads;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto &session : sessions) {
    threads.emplace_back([&, s = session.get()] {
      try {
        for (int i = 0; i < per_thread; ++i) {
          SynthesisStats st;
          s->Stream(
              req, options, [](const AudioChunk &) { return true; }, &st);
          std::lock_guard<std::mutex> lock(mu);
          done(st);
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!first_error) first_error = std::current_exception();
      }
    });
  }
  for (auto &t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Command MakeBenchCommand(CLI::App &parent, const GlobalOptions &global) {
  struct Args {
    std::string model, runs = "3", warmup = "1", tokens, concurrency = "1";
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
  cmd.app
      ->add_option("--concurrency", args->concurrency,
                   "Requests at once on one shared model (one Session and thread each), 1-64; --runs and "
                   "--warmup count per thread")
      ->type_name("N")
      ->default_val("1");
  args->request.AddTo(cmd.app, false);
  args->synthesis.AddTo(cmd.app);
  args->runtime.AddTo(cmd.app);
  const GlobalOptions *g = &global;
  CLI::App *app = cmd.app;
  cmd.run = [args, g, app] {
    Args &a = *args;
    const int runs = static_cast<int>(IntFlag("--runs", a.runs, {1, 1000}));
    const int warmup = static_cast<int>(IntFlag("--warmup", a.warmup, {0, 100}));
    const int concurrency = static_cast<int>(IntFlag("--concurrency", a.concurrency, {1, 64}));
    SynthesisSettings settings = ParseSynthesisFlags(a.synthesis);
    if (app->count("--tokens") > 0) {
      const int n = static_cast<int>(IntFlag("--tokens", a.tokens, {1, 1000000}));
      settings.min_tokens = settings.max_tokens = n;
    }
    const ModelConfig model_config = a.runtime.ToModelConfig(a.model);
    const BundleConfig bundle = BundleConfig::Load(a.model);
    CheckStreamModeFits(settings, bundle, a.model);
    TextPolicy policy;
    policy.read_piped_stdin = false;
    policy.default_text = "Hello! This sentence is spoken in a voice cloned from a three second prompt.";
    ProgressReporter progress(g->json ? ProgressStyle::kQuiet : PickProgressStyle(g->quiet, false));
    progress.CaptureLog();
    const PreparedRequest prepared = PrepareRequest(
        a.request, a.synthesis, bundle, policy, [&progress](const std::string &m) { progress.Warning(m); });
    const auto t_load = std::chrono::steady_clock::now();
    auto synthesizer = Synthesizer::Load(model_config);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
    const auto t_voice = std::chrono::steady_clock::now();
    const Voice voice =
        prepared.voice ? *prepared.voice
                       : synthesizer->CreateVoice(prepared.prompt, prepared.transcript, prepared.prompt_name);
    const double voice_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_voice).count();
    const SynthesisRequest req = MakeSynthesisRequest(prepared, voice);
    const SynthesisOptions options = ToEngineOptions(settings);
    const int threads = model_config.runtime.intra_op_threads;

    const double rss_load = CurrentRssMb();
    const double session_ms = SessionCreateMs(synthesizer->model());

    std::vector<std::unique_ptr<Session>> sessions;
    for (int i = 0; i < concurrency; ++i) sessions.push_back(std::make_unique<Session>(synthesizer->model()));
    std::vector<SynthesisStats> stats;
    double wall = 0;
    {
      CancelScope cancel([&sessions] {
        for (auto &s : sessions) s->Cancel();
      });
      int finished = 0;
      auto note = [&](const char *what, const SynthesisStats &st) {
        progress.Note("run", std::string(what) + " " + std::to_string(++finished) + ": " +
                                 std::to_string(st.total_seconds) + " s");
      };
      if (warmup > 0)
        RunBatch(sessions, req, options, warmup, [&](const SynthesisStats &st) { note("warmup", st); });
      finished = 0;
      wall = RunBatch(sessions, req, options, runs, [&](const SynthesisStats &st) {
        note("run", st);
        stats.push_back(st);
      });
    }
    double audio_total = 0;
    for (const auto &st : stats) audio_total += st.audio_seconds;
    const double throughput = wall > 0 ? audio_total / wall : 0.0;
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
                          {"pool_threads", synthesizer->info().intra_op_threads},
                          {"concurrency", concurrency},
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
                          {"peak_rss_mb", rss},
                          {"rss_after_load_mb", rss_load},
                          {"session_create_ms", session_ms},
                          {"wall_seconds", wall},
                          {"aggregate_audio_seconds", audio_total},
                          {"throughput_audio_seconds_per_second", throughput}};
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("cosyvoice bench: %s, mode %s, %d run(s) x %d concurrent, threads %d, %s\n",
                synthesizer->model_name().c_str(), ModeName(req.mode), runs, concurrency, threads,
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
    std::printf("  %-22s %10.0f MB (after load: %.0f MB)\n", "peak RSS", rss, rss_load);
    std::printf("  %-22s %10.4f ms\n", "create a session", session_ms);
    std::printf("  %-22s %10.3f  %.2f s of audio from %d concurrent request(s): %.3f s of audio per s\n",
                "wall (all requests)", wall, audio_total, concurrency, throughput);
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
