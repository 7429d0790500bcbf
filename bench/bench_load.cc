// bench/bench_load.cc - what loading a bundle costs: wall and CPU seconds of Model::Load, peak and
// current RSS after it (docs/bundle.md §4.1 checksums, §8 optimized graphs).
//
// usage: bench_load BUNDLE [--no-verify] [--optimized DIR|off] [--precision P]
// Loads the model once (ModelConfig::verify_checksums on, or off with --no-verify; optimized graphs
// as ModelConfig::optimized_dir; variants as ModelConfig::precision) and prints one line: wall
// seconds of Model::Load, the process's CPU seconds, peak RSS and RSS after the load (MB), and how
// many of the five synthesis graphs came from the optimized directory. Run the forms alternately, in
// separate processes (a process remembers the files it verified), and compare medians.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "cosyvoice/cosyvoice.h"

namespace {

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double PeakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// Resident pages now (anonymous + file-backed: memory-mapped weights count once they are touched).
double CurrentRssMb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * 4096.0 / 1e6;
}

int Usage(const char *argv0) {
  std::fprintf(stderr, "usage: %s BUNDLE [--no-verify] [--optimized DIR|off] [--precision P]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) return Usage(argv[0]);
  cosyvoice::ModelConfig config;
  config.model_dir = argv[1];
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-verify") == 0) {
      config.verify_checksums = false;
    } else if (std::strcmp(argv[i], "--optimized") == 0 && i + 1 < argc) {
      config.optimized_dir = argv[++i];
    } else if (std::strcmp(argv[i], "--precision") == 0 && i + 1 < argc) {
      config.precision = argv[++i];
    } else {
      return Usage(argv[0]);
    }
  }
  try {
    const auto start = std::chrono::steady_clock::now();
    const auto model = cosyvoice::Model::Load(config);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("load %s precision %s optimized %d: %.2f s wall, %.2f s CPU, peak RSS %.0f MB, RSS %.0f MB\n",
                config.verify_checksums ? "verify" : "no-verify", config.precision.c_str(),
                model->info().optimized_graphs, wall, CpuSeconds(), PeakRssMb(), CurrentRssMb());
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
