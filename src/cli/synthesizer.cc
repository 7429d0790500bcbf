// src/cli/synthesizer.cc - see synthesizer.h.
#include "cli/synthesizer.h"

namespace cosyvoice::cli {

std::unique_ptr<Synthesizer> Synthesizer::Load(const ModelConfig &config) {
  std::unique_ptr<Synthesizer> s(new Synthesizer());
  s->model_ = Model::Load(config);
  s->session_ = std::make_unique<Session>(s->model_);
  return s;
}

Synthesizer::~Synthesizer() = default;

Voice Synthesizer::CreateVoice(const Audio &prompt, const std::string &transcript,
                               const std::string &name) const {
  return model_->CreateVoice(prompt, transcript, name);
}

void Synthesizer::Stream(const SynthesisRequest &request, const SynthesisOptions &options,
                         const AudioCallback &callback, SynthesisStats *stats) {
  // Session::Stream keeps no copy of the output: memory stays bounded whatever the text length.
  session_->Stream(request, options, callback, stats);
}

const ModelInfo &Synthesizer::info() const {
  return model_->info();
}

void Synthesizer::Cancel() {
  session_->Cancel();
}

const std::string &Synthesizer::model_name() const {
  return model_->info().model_name;
}

const std::vector<std::string> &Synthesizer::providers() const {
  return model_->info().providers;
}

int Synthesizer::sample_rate() const {
  return model_->sample_rate();
}

}  // namespace cosyvoice::cli
