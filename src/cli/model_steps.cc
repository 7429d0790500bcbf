// src/cli/model_steps.cc - see model_steps.h.
#include "cli/model_steps.h"

#include <cstdio>

namespace cosyvoice::cli {

std::unique_ptr<Synthesizer> LoadModel(ProgressReporter &progress, const ModelConfig &config) {
  progress.BeginStep("load", "loading the model from " + config.model_dir);
  auto synthesizer = Synthesizer::Load(config);
  progress.EndStep("loaded model " + synthesizer->model_name(), {{"model", synthesizer->model_name()}});
  return synthesizer;
}

Voice PrepareVoice(ProgressReporter &progress, const Synthesizer &synthesizer, const Audio &prompt,
                   const std::string &transcript, const std::string &name) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.1f s", prompt.duration_seconds());
  progress.BeginStep("voice", "preparing the voice from " + name + " (" + seconds + ")");
  Voice voice = synthesizer.CreateVoice(prompt, transcript, name);
  progress.EndStep("voice ready", {{"prompt", name},
                                   {"prompt_seconds", prompt.duration_seconds()},
                                   {"prompt_tokens", voice.speech_tokens.size()}});
  return voice;
}

}  // namespace cosyvoice::cli
