// src/server/metrics.cc - see metrics.h.
#include "server/metrics.h"

#include <cstdio>

namespace cosyvoice::server {
namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// Label values escape backslash, quote and newline.
std::string Label(const std::string &v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Header(std::string &out, const std::string &name, const char *type, const char *help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::Render(const std::string &name, std::string &out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + Num(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + Num(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : first_audio_({0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30}),
      total_({0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300}),
      rtf_({0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10}),
      tokens_per_second_({5, 10, 25, 50, 100, 200, 400, 800, 1600}) {}

void Metrics::CountRequest(const std::string &route, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
}

void Metrics::ObserveSynthesis(double first_audio_seconds, double total_seconds, double audio_seconds,
                               double tokens_per_second, int64_t speech_tokens, int stream_cache_fallbacks) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (first_audio_seconds > 0) first_audio_.Observe(first_audio_seconds);
  total_.Observe(total_seconds);
  if (audio_seconds > 0) rtf_.Observe(total_seconds / audio_seconds);
  if (tokens_per_second > 0) tokens_per_second_.Observe(tokens_per_second);
  audio_seconds_total_ += audio_seconds;
  speech_tokens_total_ += static_cast<uint64_t>(speech_tokens > 0 ? speech_tokens : 0);
  stream_cache_fallbacks_total_ +=
      static_cast<uint64_t>(stream_cache_fallbacks > 0 ? stream_cache_fallbacks : 0);
}

void Metrics::CountRejected(const std::string &reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++rejected_[reason];
}

std::string Metrics::Render(const Gauges &g) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  Header(out, "cosyvoice_requests_total", "counter", "HTTP requests answered, by route pattern and status.");
  for (const auto &[key, n] : requests_)
    out += "cosyvoice_requests_total{route=\"" + Label(key.first) + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  Header(out, "cosyvoice_rejected_total", "counter",
         "Synthesis jobs refused or stopped: queue_full, deadline, disconnect, shutdown.");
  for (const auto &[reason, n] : rejected_)
    out += "cosyvoice_rejected_total{reason=\"" + Label(reason) + "\"} " + std::to_string(n) + "\n";
  Header(out, "cosyvoice_queue_depth", "gauge", "Jobs waiting for a worker.");
  out += "cosyvoice_queue_depth " + std::to_string(g.queued) + "\n";
  Header(out, "cosyvoice_queue_capacity", "gauge", "Jobs that may wait before requests get 429.");
  out += "cosyvoice_queue_capacity " + std::to_string(g.queue_capacity) + "\n";
  Header(out, "cosyvoice_in_flight", "gauge", "Jobs running on a worker.");
  out += "cosyvoice_in_flight " + std::to_string(g.running) + "\n";
  Header(out, "cosyvoice_workers", "gauge", "Synthesis workers (sessions on the shared model).");
  out += "cosyvoice_workers " + std::to_string(g.workers) + "\n";
  Header(out, "cosyvoice_voices", "gauge", "Voices in the voice library.");
  out += "cosyvoice_voices " + std::to_string(g.voices) + "\n";
  Header(out, "cosyvoice_first_audio_seconds", "histogram",
         "From request arrival to the first audio, seconds.");
  first_audio_.Render("cosyvoice_first_audio_seconds", out);
  Header(out, "cosyvoice_synthesis_seconds", "histogram", "From request arrival to the last audio, seconds.");
  total_.Render("cosyvoice_synthesis_seconds", out);
  Header(out, "cosyvoice_rtf", "histogram", "Real-time factor: synthesis seconds per audio second.");
  rtf_.Render("cosyvoice_rtf", out);
  Header(out, "cosyvoice_tokens_per_second", "histogram", "LLM speech tokens per second of decoding.");
  tokens_per_second_.Render("cosyvoice_tokens_per_second", out);
  Header(out, "cosyvoice_audio_seconds_total", "counter", "Seconds of audio produced.");
  out += "cosyvoice_audio_seconds_total " + Num(audio_seconds_total_) + "\n";
  Header(out, "cosyvoice_speech_tokens_total", "counter", "Speech tokens generated.");
  out += "cosyvoice_speech_tokens_total " + std::to_string(speech_tokens_total_) + "\n";
  Header(out, "cosyvoice_stream_cache_fallbacks_total", "counter",
         "Streamed segments whose cache reached --max-stream-cache-mb and finished by recomputation.");
  out += "cosyvoice_stream_cache_fallbacks_total " + std::to_string(stream_cache_fallbacks_total_) + "\n";
  return out;
}

}  // namespace cosyvoice::server
