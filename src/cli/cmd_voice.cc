// src/cli/cmd_voice.cc - `cosyvoice voice create|info`: prepare a voice once, reuse it.
#include <cstdio>
#include <memory>

#include "cli/command_registry.h"
#include "common/log.h"
#include "cosyvoice/cosyvoice.h"

namespace cosyvoice::cli {

Command MakeVoiceCommand(CLI::App &parent, const GlobalOptions &global) {
  struct Args {
    std::string model, prompt_wav, prompt_text, output, info_file;
    RuntimeOptions runtime;
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand(
      "voice", "Prepare a voice from a recording (create) or describe a voice file (info)");
  cmd.app->require_subcommand(1);
  CLI::App *create = cmd.app->add_subcommand("create", "Prompt recording + transcript -> voice file");
  create->add_option("-m,--model", args->model, "Bundle directory")->required();
  create->add_option("--prompt-wav", args->prompt_wav, "Recording of the voice (>= 16 kHz, 3-30 s of speech)")
      ->required();
  create->add_option("--prompt-text", args->prompt_text, "What the recording says (needed for zero-shot)");
  create->add_option("-o,--output", args->output, "Voice file to write, e.g. me.voice")->required();
  args->runtime.AddTo(create);
  CLI::App *info = cmd.app->add_subcommand("info", "Print what a voice file holds");
  info->add_option("file", args->info_file, "Voice file")->required();
  const GlobalOptions *g = &global;
  cmd.run = [args, create, info, g] {
    const Args &a = *args;
    if (create->parsed()) {
      ModelConfig config;
      config.model_dir = a.model;
      config.runtime = a.runtime.ToConfig();
      const auto model = Model::Load(config);
      const Voice v = model->CreateVoiceFromFile(a.prompt_wav, a.prompt_text);
      v.Save(a.output);
      if (!g->quiet) {
        COSY_LOG(kInfo) << "wrote " << a.output << ": " << v.speech_tokens.size() << " prompt tokens, "
                        << v.mel_frames() << " mel frames (" << v.prompt_seconds << " s recording)";
      }
      return 0;
    }
    if (info->parsed()) {
      const Voice v = Voice::Load(a.info_file);
      std::printf("voice        %s\n", a.info_file.c_str());
      std::printf("source       %s (%.2f s)\n", v.source.c_str(), v.prompt_seconds);
      std::printf("transcript   %s\n",
                  v.transcript.empty() ? "(none: cross-lingual/instruct2/vc only)" : v.transcript.c_str());
      std::printf("prompt       %zu speech tokens, %lld mel frames x %d bins\n", v.speech_tokens.size(),
                  static_cast<long long>(v.mel_frames()), v.mel_bins);
      std::printf("embedding    %zu floats\n", v.speaker_embedding.size());
      std::printf("frontend id  %s\n", v.frontend_id.c_str());
      return 0;
    }
    return 1;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
