// src/cli/synthesizer.h - the engine as the command-line tool uses it: one Model and one Session
// (the tool runs one request at a time; `bench --concurrency` adds Sessions on model()), audio only
// through the callback, cancel from another thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cosyvoice/cosyvoice.h"

namespace cosyvoice::cli {

class Synthesizer {
 public:
  static std::unique_ptr<Synthesizer> Load(const ModelConfig &config);
  ~Synthesizer();

  // A voice from a checked prompt recording; `name` is its file name (stored in voice files).
  Voice CreateVoice(const Audio &prompt, const std::string &transcript, const std::string &name) const;
  // Audio reaches the caller only through `callback` (a long text is not held in memory). Throws
  // Error(kCancelled) after Cancel().
  void Stream(const SynthesisRequest &request, const SynthesisOptions &options, const AudioCallback &callback,
              SynthesisStats *stats);
  // Any thread (the signal watcher): the running Stream stops at its next checkpoint.
  void Cancel();

  const std::string &model_name() const;
  const std::vector<std::string> &providers() const;  // execution providers in use
  const ModelInfo &info() const;                      // incl. the variant chosen per family
  int sample_rate() const;
  // The loaded model, for more Sessions on it (`bench --concurrency`).
  const std::shared_ptr<const Model> &model() const { return model_; }

 private:
  Synthesizer() = default;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Session> session_;
};

}  // namespace cosyvoice::cli
