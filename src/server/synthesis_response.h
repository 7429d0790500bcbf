// src/server/synthesis_response.h - runs a synthesis on the worker pool and answers the HTTP
// request with its audio: chunked as it is produced, whole at the end, or as OpenAI SSE events.
//
// The status line is sent only when the first audio exists, so everything that fails before that
// (bad text, a voice from another bundle, an unusable prompt, the deadline) still gets a proper
// 4xx/5xx error object. A failure after it ends the stream early (SSE: an "error" event); the
// client sees a truncated body. A client that disconnects is noticed at the next chunk written
// (or within 0.2 s while waiting) and its job is cancelled.
#pragma once

#include <memory>
#include <string>

#include "cosyvoice/cosyvoice.h"
#include "server/router.h"
#include "server/server.h"
#include "server/speech_request.h"
#include "server/text_sessions.h"

namespace cosyvoice::server {

struct SpeechJob {
  SpeechRequest request;
  // Either a voice from the library...
  std::shared_ptr<const Voice> voice;
  // ...or a prompt recording to prepare first (on the worker, in the same job).
  std::shared_ptr<const Audio> prompt;
  std::string prompt_transcript, prompt_name;
  // Voice conversion: the speech to re-voice.
  std::shared_ptr<const Audio> source;
  bool sample_rate_header = true;
  // Text-in streaming: the text comes from this session as it arrives (request.text is empty).
  std::shared_ptr<TextSession> text_session;
};

// Queues `job` (429 when the queue is full) and answers `call` with its audio.
void RespondWithSpeech(ServerState &state, const CallPtr &call, std::shared_ptr<const SpeechJob> job);

// Decodes an uploaded recording and checks it is usable as a prompt or source (rate, length,
// silence); ApiException 400 naming `param`.
std::shared_ptr<const Audio> DecodeUpload(const std::string &param, const std::string &filename,
                                          const std::string &bytes, double max_seconds);

// The voice `key` (id or name) from the library; ApiException 404 listing the voices there are.
std::shared_ptr<const Voice> ResolveVoice(ServerState &state, const std::string &key);

// Runs `work` on a worker and waits for it (voice preparation); throws its error.
void RunOnWorker(ServerState &state, const CallPtr &call, const std::function<void(EngineWorker &)> &work);

}  // namespace cosyvoice::server
