// src/server/engine_port.h - what the server needs from the engine, behind one small seam.
//
// The server shares one loaded model between N workers; each worker owns a per-request state
// (a cosyvoice::Session) and runs one job at a time. Routing everything through this seam keeps the
// HTTP code independent of how the engine is built, and lets the unit tests run the whole server on
// a scripted fake backend (tests/unit/test_server_*.cc) where timing must be controlled.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cosyvoice/cosyvoice.h"

namespace cosyvoice::server {

// Per-request synthesis knobs the HTTP API exposes. Empty optionals mean "the bundle's default".
struct SpeechOptions {
  uint64_t seed = 0;
  float speed = 1.0f;
  bool stream = false;  // engine streaming: chunks within a sentence (not with speed != 1)
  std::optional<int> steps;
  std::optional<int> min_tokens, max_tokens;
  bool text_frontend = true;
  // How chunks are computed when streaming (docs/streaming.md); empty: the server's --stream-mode.
  std::optional<StreamMode> stream_mode;
};

// One worker's engine state. Not thread-safe except Cancel().
class EngineWorker {
 public:
  virtual ~EngineWorker() = default;
  // Speech tokens, speaker embedding and prompt mel of a prompt recording (Error(kInvalidAudio)).
  virtual Voice CreateVoice(const Audio &prompt, const std::string &transcript,
                            const std::string &source) = 0;
  // Runs the request; audio only reaches `callback` (return false to stop: Error(kCancelled)).
  virtual void Stream(const SynthesisRequest &request, const SpeechOptions &options,
                      const AudioCallback &callback, SynthesisStats *stats) = 0;
  // Asks the running Stream to stop at its next checkpoint; any thread.
  virtual void Cancel() = 0;
};

// The shared, immutable model.
class EngineBackend {
 public:
  virtual ~EngineBackend() = default;
  virtual std::unique_ptr<EngineWorker> NewWorker() const = 0;
  virtual std::string model_name() const = 0;
  virtual int sample_rate() const = 0;
  // Token count of `text` under the bundle's tokenizer (OpenAI usage figures).
  virtual int64_t CountTokens(const std::string &text) const = 0;
};

// The real engine on a bundle: one Model shared by every worker, a Session per worker.
// `config.runtime.intra_op_threads` sizes ONNX Runtime's intra-op pool, which all workers share
// (docs/api.md); `config.precision` picks the bundle's variants (docs/bundle.md §7).
std::unique_ptr<EngineBackend> LoadEngineBackend(const ModelConfig &config);

}  // namespace cosyvoice::server
