// tests/unit/test_main.cc
#include <gtest/gtest.h>

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
  return RUN_ALL_TESTS();
}
