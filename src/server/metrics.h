// src/server/metrics.h - counters and histograms, rendered in the Prometheus text format
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace cosyvoice::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void Observe(double value);
  // `name_bucket{le="..."}`, `name_sum`, `name_count` lines.
  void Render(const std::string &name, std::string &out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// What the server reports. Thread-safe.
class Metrics {
 public:
  Metrics();
  // One finished request: `route` is the route pattern (bounded label set), not the raw path.
  void CountRequest(const std::string &route, int status);
  // One finished synthesis.
  // `stream_cache_fallbacks`: segments that reached --max-stream-cache-mb (SynthesisStats).
  void ObserveSynthesis(double first_audio_seconds, double total_seconds, double audio_seconds,
                        double tokens_per_second, int64_t speech_tokens, int stream_cache_fallbacks);
  void CountRejected(const std::string &reason);  // queue_full, deadline, disconnect, shutdown

  struct Gauges {
    int queued = 0, running = 0, workers = 0, queue_capacity = 0;
    size_t voices = 0;
  };
  std::string Render(const Gauges &gauges) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> rejected_;
  Histogram first_audio_, total_, rtf_, tokens_per_second_;
  double audio_seconds_total_ = 0;
  uint64_t speech_tokens_total_ = 0;
  uint64_t stream_cache_fallbacks_total_ = 0;
};

}  // namespace cosyvoice::server
