// src/server/engine_port.cc - EngineBackend on the cosyvoice engine: one shared Model, one Session
// per worker.
#include "server/engine_port.h"

namespace cosyvoice::server {
namespace {

SynthesisOptions ToEngineOptions(const SpeechOptions &o) {
  SynthesisOptions s;
  s.seed = o.seed;
  s.speed = o.speed;
  s.stream = o.stream;
  s.text_frontend = o.text_frontend;
  s.n_timesteps = o.steps;
  s.min_tokens = o.min_tokens;
  s.max_tokens = o.max_tokens;
  if (o.stream_mode) s.stream_mode = *o.stream_mode;
  return s;
}

class Worker : public EngineWorker {
 public:
  explicit Worker(const std::shared_ptr<const Model> &model) : model_(model), session_(model) {}
  Voice CreateVoice(const Audio &prompt, const std::string &transcript, const std::string &source) override {
    return model_->CreateVoice(prompt, transcript, source);
  }
  void Stream(const SynthesisRequest &request, const SpeechOptions &options, const AudioCallback &callback,
              SynthesisStats *stats) override {
    session_.Stream(request, ToEngineOptions(options), callback, stats);
  }
  void Cancel() override { session_.Cancel(); }

 private:
  std::shared_ptr<const Model> model_;
  Session session_;
};

class Backend : public EngineBackend {
 public:
  explicit Backend(const ModelConfig &config) : model_(Model::Load(config)) {}
  std::unique_ptr<EngineWorker> NewWorker() const override { return std::make_unique<Worker>(model_); }
  std::string model_name() const override { return model_->info().model_name; }
  int sample_rate() const override { return model_->sample_rate(); }
  int64_t CountTokens(const std::string &text) const override {
    return static_cast<int64_t>(model_->Tokenize(text).size());
  }

 private:
  std::shared_ptr<const Model> model_;
};

}  // namespace

std::unique_ptr<EngineBackend> LoadEngineBackend(const ModelConfig &config) {
  return std::make_unique<Backend>(config);
}

}  // namespace cosyvoice::server
