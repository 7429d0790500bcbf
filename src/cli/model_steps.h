// src/cli/model_steps.h - the expensive steps of the commands that run the model, shown as progress.
#pragma once

#include <memory>
#include <string>

#include "cli/progress.h"
#include "cli/synthesizer.h"
#include "cosyvoice/cosyvoice.h"

namespace cosyvoice::cli {

// Loads the bundle's graphs ("loading the model from DIR" ... "loaded model NAME in 1.2 s").
std::unique_ptr<Synthesizer> LoadModel(ProgressReporter &progress, const ModelConfig &config);

// Runs the frontend on a checked prompt recording ("preparing the voice from NAME (4.1 s)" ...).
Voice PrepareVoice(ProgressReporter &progress, const Synthesizer &synthesizer, const Audio &prompt,
                   const std::string &transcript, const std::string &name);

}  // namespace cosyvoice::cli
