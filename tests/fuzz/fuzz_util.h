// tests/fuzz/fuzz_util.h - shared by the libFuzzer targets (docs/fuzzing.md).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cosyvoice/error.h"

// An invariant the code under test promises; a violation is a finding, reported as a crash.
#define FUZZ_CHECK(condition)                                                                        \
  do {                                                                                               \
    if (!(condition)) {                                                                              \
      std::fprintf(stderr, "fuzz invariant violated: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
      std::abort();                                                                                  \
    }                                                                                                \
  } while (0)

namespace cosyvoice::fuzz {

// Runs `body`; a cosyvoice::Error is the documented way to refuse bad input and is fine, but it must
// carry a message. Anything else escaping (std::bad_alloc, nlohmann exceptions, std::out_of_range...)
// is a finding: the library promised cosyvoice::Error naming the input.
template <typename Body>
void ExpectOnlyCosyErrors(Body &&body) {
  try {
    body();
  } catch (const Error &e) {
    FUZZ_CHECK(e.what() != nullptr && e.what()[0] != '\0');
  }
}

}  // namespace cosyvoice::fuzz
