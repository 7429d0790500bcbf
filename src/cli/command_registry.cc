// src/cli/command_registry.cc
#include "cli/command_registry.h"

#include "cli/strict_number.h"

namespace cosyvoice::cli {

void RuntimeOptions::AddTo(CLI::App *app) {
  app->add_option("--threads", threads, "Intra-op threads per graph, 0-1024 (0: one per core)")
      ->type_name("N");
  app->add_option(
         "--provider", providers,
         "Execution providers in order of preference: cpu, webgpu, cuda, tensorrt, coreml, directml, "
         "nnapi, xnnpack, openvino (e.g. webgpu,cpu; see `cosyvoice version`)")
      ->default_val("cpu");
  app->add_option("--provider-option", provider_options,
                  "A provider option as provider.key=value (repeatable), e.g. webgpu.preferredLayout=NHWC; "
                  "keys in docs/gpu.md");
  app->add_flag("--vocoder-on-webgpu", vocoder_on_webgpu,
                "Run the HiFT vocoder on webgpu too (wrong output with ONNX Runtime 1.30: docs/gpu.md)");
  app->add_option("--device", device_id, "GPU/device index for cuda, tensorrt and directml")
      ->check(CLI::Range(0, 1024));
  app->add_option("--graph-opt", optimization, "ONNX Runtime graph optimization: disabled|basic|extended|all")
      ->default_val("all");
  app->add_option("--profile", profile_prefix, "Write ONNX Runtime profiles with this path prefix");
  app->add_option(
         "--precision", precision,
         "Bundle variants to run (docs/bundle.md §7): fp32|fp16|int8|int4|auto|base or a variant name, "
         "for all graph families or per family, e.g. llm=int4,flow=int8")
      ->default_val("fp32");
  app->add_option("--optimized", optimized,
                  "Graphs made by `cosyvoice optimize` for this machine: a directory, or off (default: "
                  "BUNDLE/optimized when present; docs/bundle.md §8)")
      ->type_name("DIR|off");
}

RuntimeConfig RuntimeOptions::ToConfig() const {
  RuntimeConfig config;
  if (!threads.empty()) config.intra_op_threads = static_cast<int>(IntFlag("--threads", threads, {0, 1024}));
  config.providers = ParseProviderList(providers);
  for (const auto &text : provider_options) AddProviderOption(config, text);
  config.device_id = device_id;
  config.vocoder_on_webgpu = vocoder_on_webgpu;
  config.optimization = ParseGraphOptimization(optimization);
  config.profile_prefix = profile_prefix;
  config.Validate();
  return config;
}

void StreamCacheOptions::AddTo(CLI::App *app) {
  app->add_option("--stream-cache", precision,
                  "How streaming (exact, fast) keeps the flow's keys/values: fp32, or fp16 (0.6x the memory; "
                  "docs/streaming.md §5.1)")
      ->default_val("fp32")
      ->type_name("fp32|fp16");
  app->add_option("--max-stream-cache-mb", max_mb,
                  "Most memory one stream's cache may hold (0: no limit); a longer segment finishes with the "
                  "flow recomputed per chunk (docs/streaming.md §5.2)")
      ->default_val(kDefaultMaxStreamCacheBytes >> 20)
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30))
      ->type_name("MiB");
}

void StreamCacheOptions::ApplyTo(ModelConfig &config) const {
  config.stream_cache = precision;
  config.max_stream_cache_bytes = max_mb << 20;
}

ModelConfig RuntimeOptions::ToModelConfig(const std::string &bundle_dir) const {
  ModelConfig config;
  config.model_dir = bundle_dir;
  config.runtime = ToConfig();
  config.precision = precision;
  config.optimized_dir = optimized;
  return config;
}

std::vector<CommandFactory> AllCommands() {
  // One per line, in `cosyvoice --help` order.
  return {
      MakeTtsCommand,          //
      MakeVoiceCommand,        //
      MakeVoicesCommand,       //
      MakeBenchCommand,        //
      MakeBenchStreamCommand,  //
      MakeInfoCommand,         //
      MakeNormalizeCommand,    //
      MakeTokenizeCommand,     //
      MakeFeaturesCommand,     //
      MakeInspectCommand,      //
      MakeOptimizeCommand,     //
      MakeServeCommand,        //
      MakeVersionCommand,      //
      MakeAbCommand,           //
  };
}

}  // namespace cosyvoice::cli
