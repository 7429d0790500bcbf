// src/common/timer.h - wall-clock timing for per-stage statistics.
#pragma once

#include <chrono>
#include <ctime>
#include <string>

namespace cosyvoice {

using SteadyClock = std::chrono::steady_clock;

inline double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// The current UTC time as ISO 8601 ("2026-12-04T22:31:48Z"), for dates written into files.
inline std::string UtcNowIso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace cosyvoice
