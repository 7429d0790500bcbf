// src/cli/command_registry.cc
#include "cli/command_registry.h"

namespace cosyvoice::cli {

void RuntimeOptions::AddTo(CLI::App *app) {
  app->add_option("--threads", threads, "Intra-op threads per graph (0: one per core)")
      ->check(CLI::Range(0, 1024));
  app->add_option("--provider", providers, "Execution providers in order of preference, e.g. cuda,cpu")
      ->default_val("cpu");
  app->add_option("--graph-opt", optimization, "ONNX Runtime graph optimization: disabled|basic|extended|all")
      ->default_val("all");
  app->add_option("--profile", profile_prefix, "Write ONNX Runtime profiles with this path prefix");
}

RuntimeConfig RuntimeOptions::ToConfig() const {
  RuntimeConfig config;
  config.intra_op_threads = threads;
  config.providers = ParseProviderList(providers);
  config.optimization = ParseGraphOptimization(optimization);
  config.profile_prefix = profile_prefix;
  config.Validate();
  return config;
}

std::vector<CommandFactory> AllCommands() {
  return {MakeTtsCommand,      MakeVoiceCommand,     MakeBenchCommand,    MakeBenchStreamCommand,
          MakeInfoCommand,     MakeNormalizeCommand, MakeTokenizeCommand,
          MakeFeaturesCommand, MakeInspectCommand,   MakeVersionCommand, MakeServeCommand};
}

}  // namespace cosyvoice::cli
