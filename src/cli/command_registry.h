// src/cli/command_registry.h - how CLI subcommands plug into `cosyvoice`.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "cosyvoice/runtime_config.h"

namespace cosyvoice::cli {

// Options every subcommand understands.
struct GlobalOptions {
  bool quiet = false;    // only errors on stderr
  bool verbose = false;  // debug logging
};

// Options shared by subcommands that run ONNX graphs.
struct RuntimeOptions {
  int threads = 0;  // 0: ONNX Runtime decides
  std::string providers = "cpu";
  std::string optimization = "all";
  std::string profile_prefix;
  void AddTo(CLI::App *app);
  RuntimeConfig ToConfig() const;
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
Command MakeVersionCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeInspectCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeInfoCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeTtsCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeVoiceCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeBenchCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeBenchStreamCommand(CLI::App &parent, const GlobalOptions &global);  // cmd_bench_stream.cc
Command MakeFeaturesCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeNormalizeCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeTokenizeCommand(CLI::App &parent, const GlobalOptions &global);
Command MakeServeCommand(CLI::App &parent, const GlobalOptions &global);  // cmd_serve.cc

}  // namespace cosyvoice::cli
