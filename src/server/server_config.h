// src/server/server_config.h - everything `cosyvoice serve` is configured with, and its checks.
#pragma once

#include <string>
#include <vector>

#include "cosyvoice/cosyvoice.h"

namespace cosyvoice::server {

struct ServerConfig {
  std::string model_dir;              // the bundle
  std::string host = "127.0.0.1";     // loopback unless asked otherwise
  int port = 7860;                    // the official web UI's port
  std::string data_dir;               // voice library (SQLite); empty: voices live in memory only
  std::vector<std::string> api_keys;  // empty: no authentication (loopback only)
  int workers = 0;                    // 0: from the core count (DefaultWorkers)
  int threads = 0;                    // ONNX Runtime intra-op threads per worker; 0: cores / workers
  int queue = -1;                     // jobs that may wait for a worker; -1: 4 x workers
  std::string stream_cache = "fp32";  // ModelConfig::stream_cache
  int64_t max_stream_cache_mb =
      kDefaultMaxStreamCacheBytes >> 20;  // ModelConfig::max_stream_cache_bytes, per worker (0: no limit)
  std::string precision = "fp32";         // ModelConfig::precision: the bundle variants to run
  std::string providers = "cpu";          // execution providers in order of preference, comma-separated
  std::string stream_mode = "exact";      // streamed requests that name none: exact | fast | recompute

  // Limits (each answered with a clear 4xx before any expensive work).
  size_t max_body_bytes = 32u << 20;   // whole request (a 30 s 48 kHz stereo float WAV is 11.5 MB)
  size_t max_text_chars = 4096;        // OpenAI's input limit, in Unicode code points
  double max_prompt_seconds = 30;      // the speech tokenizer's window
  size_t max_form_parts = 16;          // multipart parts per request
  size_t max_voices = 1000;            // voice library size
  int max_tokens_cap = 3000;           // largest min_tokens/max_tokens a client may ask for (120 s)
  double timeout_seconds = 300;        // per-request deadline, queue wait included
  size_t max_text_sessions = 16;       // text-in streaming sessions open at once
  double text_idle_seconds = 30;       // a session's text that stalls this long counts as ended
  double shutdown_grace_seconds = 30;  // SIGTERM: in-flight work may finish within this
  bool quiet_requests = false;         // no per-request log line

  // Throws Error(kInvalidArgument) naming the field; refuses a non-loopback bind without an API key.
  void Validate() const;
  int ResolvedWorkers() const;
  int ResolvedQueue() const;
  int ResolvedThreads() const;
};

// Whether `host` names only this machine (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(const std::string &host);
// Half the cores (at least 1): ONNX Runtime's GEMMs use the other threads.
int DefaultWorkers();

// API keys from --api-key, --api-key-file (one per line, '#' comments) and COSYVOICE_API_KEY.
std::vector<std::string> CollectApiKeys(const std::vector<std::string> &keys, const std::string &key_file,
                                        const char *env_value);

}  // namespace cosyvoice::server
