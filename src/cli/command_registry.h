// src/cli/command_registry.h - how CLI subcommands plug into `cosyvoice`.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "cosyvoice/cosyvoice.h"
#include "cosyvoice/runtime_config.h"

namespace cosyvoice::cli {

// Options every subcommand understands.
// They may be given anywhere on the line (`cosyvoice tts -q ...` as well as `cosyvoice -q tts ...`).
struct GlobalOptions {
  bool quiet = false;    // only errors on stderr
  bool verbose = false;  // debug logging
  bool json = false;     // machine-readable output (each command says what; errors as JSON lines)
};

// Options shared by subcommands that run ONNX graphs.
struct RuntimeOptions {
  std::string threads;  // as typed; empty or 0: ONNX Runtime decides
  std::string providers = "cpu";
  std::vector<std::string> provider_options;  // "provider.key=value", repeated
  int device_id = 0;
  bool vocoder_on_webgpu = false;
  std::string optimization = "all";
  std::string profile_prefix;
  std::string precision = "fp32";  // ModelConfig::precision: which bundle variants to run
  std::string optimized;           // ModelConfig::optimized_dir: "" (BUNDLE/optimized if there), "off", a DIR
  void AddTo(CLI::App *app);
  // Throws Error(kInvalidArgument) naming the flag (strict numbers, known providers).
  RuntimeConfig ToConfig() const;
  // The model configuration for `bundle_dir`: ToConfig(), precision and optimized graphs.
  ModelConfig ToModelConfig(const std::string &bundle_dir) const;
};

// --stream-cache and --max-stream-cache-mb (ModelConfig::stream_cache, max_stream_cache_bytes) on the
// commands that stream: tts, bench-stream, serve.
struct StreamCacheOptions {
  std::string precision = "fp32";
  int64_t max_mb = kDefaultMaxStreamCacheBytes >> 20;
  void AddTo(CLI::App *app);
  bool IsDefault() const { return precision == "fp32" && max_mb == kDefaultMaxStreamCacheBytes >> 20; }
  void ApplyTo(ModelConfig &config) const;
};

// A subcommand registers its flags on `app` and sets `run` to the code that executes it.
// `run` returns the process exit code and may throw cosyvoice::Error (mapped by main).
struct Command {
  CLI::App *app = nullptr;
  std::function<int()> run;
};

using CommandFactory = std::function<Command(CLI::App &parent, const GlobalOptions &global)>;

// Every subcommand, in the order `cosyvoice --help` lists them.
std::vector<CommandFactory> AllCommands();

// Factories (one per cmd_*.cc file).
Command MakeOptimizeCommand(CLI::App &parent, const GlobalOptions &global);  // cmd_optimize.cc
Command MakeVersionCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeInspectCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeInfoCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeTtsCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeVoiceCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeVoicesCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeBenchCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeBenchStreamCommand(CLI::App &parent, const GlobalOptions &global);  // cmd_bench_stream.cc
Command MakeFeaturesCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeNormalizeCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeTokenizeCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeServeCommand(CLI::App &parent, const GlobalOptions &global);  // cmd_serve.cc
Command MakeAbCommand(CLI::App &parent, const GlobalOptions &global);     // cmd_ab.cc

}  // namespace cosyvoice::cli
