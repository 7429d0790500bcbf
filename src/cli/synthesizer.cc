// src/cli/synthesizer.cc - see synthesizer.h.
#include "cli/synthesizer.h"

namespace cosyvoice::cli {

std::unique_ptr<Synthesizer> Synthesizer::Load(const std::string &bundle_dir, const RuntimeConfig &runtime) {
  EngineConfig config;
  config.model_dir = bundle_dir;
  config.runtime = runtime;
  std::unique_ptr<Synthesizer> s(new Synthesizer());
  s->engine_ = Engine::Create(config);
  return s;
}

Synthesizer::~Synthesizer() = default;

Voice Synthesizer::CreateVoice(const Audio &prompt, const std::string &transcript, const std::string &name) const {
  return engine_->CreateVoice(prompt, transcript, name);
}

void Synthesizer::Stream(const SynthesisRequest &request, const SynthesisOptions &options,
                         const AudioCallback &callback, SynthesisStats *stats) {
  cancel_ = false;
  // The engine stops when the callback says so (at the next chunk).
  engine_->Synthesize(
      request, options, [&](const AudioChunk &c) { return !cancel_ && callback(c) && !cancel_; }, stats);
}

void Synthesizer::Cancel() {
  cancel_ = true;
}

const std::string &Synthesizer::model_name() const {
  return engine_->summary().model_name;
}

const std::vector<std::string> &Synthesizer::providers() const {
  return engine_->summary().providers;
}

int Synthesizer::sample_rate() const {
  return engine_->sample_rate();
}

}  // namespace cosyvoice::cli
