// src/cli/command_registry.cc
#include "cli/command_registry.h"

#include "cli/strict_number.h"

namespace cosyvoice::cli {

void RuntimeOptions::AddTo(CLI::App *app) {
  app->add_option("--threads", threads, "Intra-op threads per graph, 0-1024 (0: one per core)")->type_name("N");
  app->add_option("--provider", providers, "Execution providers in order of preference, e.g. cuda,cpu")
      ->default_val("cpu");
  app->add_option("--graph-opt", optimization, "ONNX Runtime graph optimization: disabled|basic|extended|all")
      ->default_val("all");
  app->add_option("--profile", profile_prefix, "Write ONNX Runtime profiles with this path prefix");
}

RuntimeConfig RuntimeOptions::ToConfig() const {
  RuntimeConfig config;
  if (!threads.empty()) config.intra_op_threads = static_cast<int>(IntFlag("--threads", threads, {0, 1024}));
  config.providers = ParseProviderList(providers);
  config.optimization = ParseGraphOptimization(optimization);
  config.profile_prefix = profile_prefix;
  config.Validate();
  return config;
}

std::vector<CommandFactory> AllCommands() {
  // One per line, in `cosyvoice --help` order.
  return {
      MakeTtsCommand,      //
      MakeVoiceCommand,    //
      MakeVoicesCommand,   //
      MakeBenchCommand,    //
      MakeInfoCommand,     //
      MakeNormalizeCommand,  //
      MakeTokenizeCommand,   //
      MakeFeaturesCommand,   //
      MakeInspectCommand,    //
      MakeServeCommand,      //
      MakeVersionCommand,    //
  };
}

}  // namespace cosyvoice::cli
