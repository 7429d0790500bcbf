// tests/unit/test_util.h - helpers shared by the unit tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cosyvoice/error.h"

namespace cosyvoice::testing {

// Folder with files generated at test time (COSYVOICE_TEST_DATA, set by CTest).
inline std::filesystem::path TestData() {
  const char *dir = std::getenv("COSYVOICE_TEST_DATA");
  if (dir == nullptr) {
    ADD_FAILURE() << "COSYVOICE_TEST_DATA is not set: run the tests through ctest";
    return {};
  }
  return dir;
}

// Intra-op threads for the ONNX Runtime sessions the tests open: COSYVOICE_TEST_THREADS (default 1).
// `COSYVOICE_TEST_THREADS=4 make test` runs every tier with 4 (docs/parity.md: the tolerances hold for
// any thread count, since a thread split only reorders float32 sums).
inline int TestThreads() {
  const char *v = std::getenv("COSYVOICE_TEST_THREADS");
  if (v == nullptr || *v == '\0') return 1;
  char *end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 1 || n > 1024) {
    ADD_FAILURE() << "COSYVOICE_TEST_THREADS=" << v << ": expected an integer from 1 to 1024";
    return 1;
  }
  return static_cast<int>(n);
}

// A fresh, empty temporary directory removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cosyvoice-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path &path() const { return path_; }
  std::filesystem::path operator/(const std::string &name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace cosyvoice::testing

// Expects `statement` to throw cosyvoice::Error with `code` and a message containing `substr`.
#define EXPECT_COSY_ERROR(statement, expected_code, substr)                              \
  do {                                                                                   \
    try {                                                                                \
      statement;                                                                         \
      ADD_FAILURE() << "expected cosyvoice::Error containing \"" << (substr) << "\"";    \
    } catch (const ::cosyvoice::Error &cosy_error_) {                                    \
      EXPECT_EQ(cosy_error_.code(), (expected_code)) << cosy_error_.what();              \
      EXPECT_NE(std::string(cosy_error_.what()).find(substr), std::string::npos)         \
          << "message: " << cosy_error_.what() << "\nexpected to contain: " << (substr); \
    }                                                                                    \
  } while (0)
