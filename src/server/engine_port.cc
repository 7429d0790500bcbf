// src/server/engine_port.cc - EngineBackend on the cosyvoice engine.
//
// Interim: until the shared Model/Session API lands (issue #9), every worker loads its own Engine,
// and Cancel() is honoured at the next audio chunk through the callback.
#include "server/engine_port.h"

#include <atomic>
#include <mutex>

namespace cosyvoice::server {
namespace {

SynthesisOptions ToEngineOptions(const SpeechOptions &o) {
  SynthesisOptions s;
  s.seed = o.seed;
  s.speed = o.speed;
  s.stream = o.stream;
  s.text_frontend = o.text_frontend;
  if (o.steps) s.n_timesteps = *o.steps;
  if (o.min_tokens) s.min_tokens = *o.min_tokens;
  if (o.max_tokens) s.max_tokens = *o.max_tokens;
  return s;
}

std::unique_ptr<Engine> Open(const std::string &bundle_dir, int threads) {
  EngineConfig config;
  config.model_dir = bundle_dir;
  config.runtime.intra_op_threads = threads;
  return Engine::Create(config);
}

class Worker : public EngineWorker {
 public:
  explicit Worker(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}
  Voice CreateVoice(const Audio &prompt, const std::string &transcript, const std::string &source) override {
    return engine_->CreateVoice(prompt, transcript, source);
  }
  void Stream(const SynthesisRequest &request, const SpeechOptions &options, const AudioCallback &callback,
              SynthesisStats *stats) override {
    cancel_ = false;
    auto guarded = [&](const AudioChunk &c) { return !cancel_.load() && callback(c); };
    engine_->Synthesize(request, ToEngineOptions(options), guarded, stats);
  }
  void Cancel() override { cancel_ = true; }

 private:
  std::unique_ptr<Engine> engine_;
  std::atomic<bool> cancel_{false};
};

class Backend : public EngineBackend {
 public:
  Backend(std::string dir, int threads)
      : dir_(std::move(dir)), threads_(threads), info_(Open(dir_, threads_)) {}
  std::unique_ptr<EngineWorker> NewWorker() const override {
    return std::make_unique<Worker>(Open(dir_, threads_));
  }
  std::string model_name() const override { return info_->summary().model_name; }
  int sample_rate() const override { return info_->sample_rate(); }
  int64_t CountTokens(const std::string &text) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int64_t>(info_->Tokenize(text).size());
  }

 private:
  std::string dir_;
  int threads_;
  std::unique_ptr<Engine> info_;
  mutable std::mutex mutex_;
};

}  // namespace

std::unique_ptr<EngineBackend> LoadEngineBackend(const std::string &bundle_dir, int threads) {
  return std::make_unique<Backend>(bundle_dir, threads);
}

}  // namespace cosyvoice::server
