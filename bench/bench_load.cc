// bench/bench_load.cc - what verifying the bundle's checksums at load costs (docs/bundle.md §4.1).
//
// usage: bench_load BUNDLE [--no-verify]
// Loads the model once (ModelConfig::verify_checksums on, or off with --no-verify) and prints the
// wall seconds of Model::Load and the process's CPU seconds. Run the two forms alternately, in
// separate processes (a process remembers the files it verified), and compare medians.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "cosyvoice/cosyvoice.h"

namespace {

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2 || (argc == 3 && std::strcmp(argv[2], "--no-verify") != 0) || argc > 3) {
    std::fprintf(stderr, "usage: %s BUNDLE [--no-verify]\n", argv[0]);
    return 2;
  }
  try {
    cosyvoice::ModelConfig config;
    config.model_dir = argv[1];
    config.verify_checksums = argc == 2;
    const auto start = std::chrono::steady_clock::now();
    const auto model = cosyvoice::Model::Load(config);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("load %s: %.2f s wall, %.2f s CPU\n", config.verify_checksums ? "verify" : "no-verify", wall,
                CpuSeconds());
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
