// tests/unit/test_main.cc
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "common/log.h"

// Sanitizer defaults for the unit-test binary (the tier CI runs under ASan+UBSan).
// The prebuilt ONNX Runtime library is not instrumented and keeps a few allocations until exit;
// those are suppressed by module name. Our own code gets no suppressions.
extern "C" {
const char *__lsan_default_suppressions() {
  return "leak:libonnxruntime.so\n";
}
const char *__ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1";
}
}

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  cosyvoice::SetLogLevel(cosyvoice::LogLevel::kWarning);
  const int status = RUN_ALL_TESTS();
  // `make test-tsan` sets this: ONNX Runtime's exit handlers unlock a mutex its uninstrumented code
  // locked, which ThreadSanitizer reports as a misused mutex. Skipping the exit handlers avoids that
  // without a suppression; with halt_on_error=1 any report during the tests has already failed them.
  if (std::getenv("COSYVOICE_TEST_QUICK_EXIT") != nullptr) {
    std::fflush(nullptr);
    std::_Exit(status);
  }
  return status;
}
