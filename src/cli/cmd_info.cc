// src/cli/cmd_info.cc - `cosyvoice info --model BUNDLE [--verify]`: validate and summarize a bundle.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command_registry.h"
#include "common/log.h"
#include "engine/bundle_config.h"
#include "engine/variants.h"
#include "models/session_factory.h"

namespace cosyvoice::cli {

namespace {

// Every variant of the bundle, and what `precision` would run for the preferred provider.
void PrintVariants(const BundleConfig &c, const std::string &precision, const std::string &providers) {
  RuntimeConfig rt;
  rt.providers = ParseProviderList(providers);
  const std::string provider = PreferredProvider(rt);
  for (const auto &[family, list] : c.variants) {
    for (const auto &v : list) {
      std::string files;
      for (const auto &[field, rel] : v.files) files += (files.empty() ? "" : ", ") + field + "=" + rel;
      std::printf("variant     %s/%s: %s for %s, gate %s; %s\n", family.c_str(), v.name.c_str(),
                  v.precision.c_str(), v.providers.front().c_str(), v.gate_status.c_str(), files.c_str());
    }
  }
  std::printf("precision   %s on %s:", precision.c_str(), provider.c_str());
  for (const VariantChoice &ch : ChooseVariants(c.variants, precision, provider)) {
    std::printf(" %s=%s", ch.family.c_str(), ch.variant ? ch.variant->name.c_str() : "base");
  }
  std::printf("\n");
}

}  // namespace

Command MakeInfoCommand(CLI::App &parent, const GlobalOptions & /*global*/) {
  struct Args {
    std::string model;
    bool verify = false;
    std::string precision = "fp32";
    std::string providers = "cpu";
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand("info", "Check a model bundle and print its summary");
  cmd.app->add_option("-m,--model", args->model, "Bundle directory (docs/bundle.md)")->required();
  cmd.app->add_flag("--verify", args->verify, "Also check the sha256 of every file (reads the whole bundle)");
  cmd.app
      ->add_option("--precision", args->precision,
                   "Show which variants this precision selects (docs/bundle.md §7)")
      ->default_val("fp32");
  cmd.app
      ->add_option("--provider", args->providers, "Execution providers the selection is for, e.g. cuda,cpu")
      ->default_val("cpu");
  cmd.run = [args] {
    const BundleConfig c = BundleConfig::Load(args->model);
    if (args->verify) {
      COSY_LOG(kInfo) << "verifying checksums of " << c.files.size() << " files";
      c.VerifyChecksums();
    }
    uint64_t bytes = 0;
    for (const auto &[name, f] : c.files) bytes += f.bytes;
    std::printf("bundle      %s\n", c.dir.string().c_str());
    std::printf("model       %s (format %d.%d, exporter %s)\n", c.model_name.c_str(), c.format_major,
                c.format_minor, c.exporter_version.c_str());
    std::printf("files       %zu, %.1f MB%s\n", c.files.size(), static_cast<double>(bytes) / 1e6,
                args->verify ? ", checksums verified" : "");
    std::printf("llm         %d layers, hidden %d, %d/%d heads x %d, text vocab %d, speech vocab %d\n",
                c.llm.num_layers, c.llm.hidden_size, c.llm.num_attention_heads, c.llm.num_kv_heads,
                c.llm.head_dim, c.llm.text_vocab_size, c.llm.speech_vocab_size);
    std::printf("sampling    top_p %.2f, top_k %d, window %d, tau_r %.2f\n", c.llm.sampling.top_p,
                c.llm.sampling.top_k, c.llm.sampling.win_size, c.llm.sampling.tau_r);
    std::printf("flow        %d steps, cfg %.2f, %s grid, chunk %d frames, max %d frames\n",
                c.flow.n_timesteps, c.flow.cfg_rate, c.flow.t_scheduler.c_str(), c.flow.static_chunk_size,
                c.flow.max_frames);
    std::printf("vocoder     %d Hz, hop %d, istft %d/%d\n", c.hift.sample_rate, c.hift.hop_length,
                c.hift.istft_n_fft, c.hift.istft_hop);
    PrintVariants(c, args->precision, args->providers);
    std::printf("checks      %s\n", c.checks_json.size() > 300
                                        ? (c.checks_json.substr(0, 300) + "...").c_str()
                                        : c.checks_json.c_str());
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
