// src/common/timer.h - wall-clock timing for per-stage statistics.
#pragma once

#include <chrono>

namespace cosyvoice {

using SteadyClock = std::chrono::steady_clock;

inline double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace cosyvoice
