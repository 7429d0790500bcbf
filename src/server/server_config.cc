// src/server/server_config.cc - see server_config.h.
#include "server/server_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "cosyvoice/error.h"

namespace cosyvoice::server {
namespace {

[[noreturn]] void Invalid(const std::string &message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

std::string Trim(const std::string &s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

bool IsLoopbackHost(const std::string &host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

int DefaultWorkers() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(std::max(1u, cores / 2));
}

int ServerConfig::ResolvedWorkers() const {
  return workers > 0 ? workers : DefaultWorkers();
}
int ServerConfig::ResolvedQueue() const {
  return queue >= 0 ? queue : 4 * ResolvedWorkers();
}
int ServerConfig::ResolvedThreads() const {
  if (threads > 0) return threads;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / ResolvedWorkers());
}

void ServerConfig::Validate() const {
  if (model_dir.empty()) Invalid("--model is required: the bundle directory");
  if (port < 0 || port > 65535) Invalid("--port " + std::to_string(port) + ": expected 0..65535");
  if (workers < 0 || workers > 256)
    Invalid("--workers " + std::to_string(workers) + ": expected 1..256 (0: automatic)");
  if (queue < -1 || queue > 100000) Invalid("--queue " + std::to_string(queue) + ": expected 0..100000");
  if (threads < 0 || threads > 1024) Invalid("--threads " + std::to_string(threads) + ": expected 0..1024");
  if (timeout_seconds <= 0) Invalid("--timeout must be positive (seconds)");
  if (stream_cache != "fp32" && stream_cache != "fp16")
    Invalid("--stream-cache must be fp32 or fp16 (docs/streaming.md §5), got '" + stream_cache + "'");
  if (max_stream_cache_mb < 0 || max_stream_cache_mb > (int64_t{1} << 30))
    Invalid("--max-stream-cache-mb must be 0 (no limit) .. 2^30 MiB, got " +
            std::to_string(max_stream_cache_mb));
  if (stream_mode != "exact" && stream_mode != "fast" && stream_mode != "recompute")
    Invalid("--stream-mode must be exact, fast or recompute (docs/streaming.md), got '" + stream_mode + "'");
  if (max_text_sessions < 1 || max_text_sessions > 10000)
    Invalid("--max-text-sessions must be 1 .. 10000, got " + std::to_string(max_text_sessions));
  if (!(text_idle_seconds > 0 && text_idle_seconds <= 3600))
    Invalid("--text-idle-timeout must be in (0, 3600] seconds");
  if (shutdown_grace_seconds < 0) Invalid("--shutdown-grace must be >= 0 (seconds)");
  if (max_body_bytes < 1024) Invalid("--max-body-mb is too small");
  if (max_text_chars < 1) Invalid("--max-text-chars must be >= 1");
  if (max_prompt_seconds <= 0 || max_prompt_seconds > 30)
    Invalid("--max-prompt-seconds must be in (0, 30]: the speech tokenizer reads at most 30 s");
  for (const auto &key : api_keys)
    if (key.size() < 8) Invalid("API keys must be at least 8 characters long");
  if (api_keys.empty() && !IsLoopbackHost(host)) {
    Invalid("refusing to listen on " + host +
            " without an API key: anyone who can reach this address could use the server. Set a key with "
            "--api-key KEY, --api-key-file FILE or the COSYVOICE_API_KEY environment variable (clients send "
            "'Authorization: Bearer KEY'), or bind 127.0.0.1");
  }
}

std::vector<std::string> CollectApiKeys(const std::vector<std::string> &keys, const std::string &key_file,
                                        const char *env_value) {
  std::vector<std::string> out;
  for (const auto &k : keys)
    if (!Trim(k).empty()) out.push_back(Trim(k));
  if (!key_file.empty()) {
    std::ifstream in(key_file);
    if (!in) throw Error(ErrorCode::kIo, key_file + ": cannot read the API key file");
    std::string line;
    while (std::getline(in, line)) {
      line = Trim(line);
      if (!line.empty() && line[0] != '#') out.push_back(line);
    }
    if (out.empty()) throw Error(ErrorCode::kInvalidArgument, key_file + ": the API key file holds no key");
  }
  if (env_value != nullptr && !Trim(env_value).empty()) out.push_back(Trim(env_value));
  return out;
}

}  // namespace cosyvoice::server
