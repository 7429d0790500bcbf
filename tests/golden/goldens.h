// tests/golden/goldens.h - reading the reference's goldens (docs/goldens.md) and comparing arrays.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "common/npy.h"
#include "cosyvoice/cosyvoice.h"

namespace cosyvoice::testing {

// models/tiny (bundle/ and goldens/), made by `make tiny-model`; COSYVOICE_TINY overrides.
inline std::filesystem::path TinyDir() {
  const char *d = std::getenv("COSYVOICE_TINY");
  return d ? std::filesystem::path(d) : std::filesystem::path(COSYVOICE_SOURCE_DIR) / "models/tiny";
}
inline std::filesystem::path BundleDir() {
  return TinyDir() / "bundle";
}
inline std::filesystem::path GoldensDir() {
  return TinyDir() / "goldens";
}

// Execution providers for the golden tiers: COSYVOICE_TEST_PROVIDERS (e.g. "webgpu,cpu"; default
// cpu) and COSYVOICE_TEST_PROVIDER_OPTIONS ("webgpu.validationMode=disabled;..."). scripts/gpu-check.sh
// runs the tier on a GPU this way; docs/gpu.md says which tolerances apply there.
inline void ApplyTestProviders(RuntimeConfig &runtime) {
  if (const char *p = std::getenv("COSYVOICE_TEST_PROVIDERS"); p && *p)
    runtime.providers = ParseProviderList(p);
  if (const char *v = std::getenv("COSYVOICE_TEST_VOCODER_ON_WEBGPU"); v && std::string(v) == "1")
    runtime.vocoder_on_webgpu = true;
  if (const char *o = std::getenv("COSYVOICE_TEST_PROVIDER_OPTIONS"); o && *o) {
    std::string all = o;
    for (size_t start = 0; start <= all.size();) {
      const size_t end = std::min(all.find(';', start), all.size());
      if (end > start) AddProviderOption(runtime, all.substr(start, end - start));
      start = end + 1;
    }
  }
}

inline nlohmann::json ReadJson(const std::filesystem::path &p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error(p.string() + ": missing (run `make tiny-model`)");
  return nlohmann::json::parse(in);
}

template <typename T>
std::vector<T> Load(const std::filesystem::path &p) {
  return NpyArray::Load(p).ToVector<T>();
}

struct Diff {
  double max_abs = 0;
  double max_ref = 0;
  size_t mismatches = 0;  // elements differing at all
  double rel() const { return max_ref > 0 ? max_abs / max_ref : max_abs; }
};

// Max |a - b| and max |b| over equal-length arrays (length mismatch is a test failure).
template <typename A, typename B>
Diff Compare(const std::vector<A> &got, const std::vector<B> &want) {
  Diff d;
  EXPECT_EQ(got.size(), want.size());
  const size_t n = std::min(got.size(), want.size());
  for (size_t i = 0; i < n; ++i) {
    const double a = static_cast<double>(got[i]), b = static_cast<double>(want[i]);
    const double e = std::abs(a - b);
    if (!(e <= d.max_abs)) d.max_abs = std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
    d.max_ref = std::max(d.max_ref, std::abs(b));
    d.mismatches += a != b;
  }
  return d;
}

// One line per comparison, collected from `ctest -L golden -V` for the parity report.
inline void Report(const std::string &stage, const std::string &what, const Diff &d) {
  std::printf("PARITY %-28s %-34s max_abs %.3g  max_rel %.3g  (max|ref| %.3g, %zu differ)\n", stage.c_str(),
              what.c_str(), d.max_abs, d.rel(), d.max_ref, d.mismatches);
}

}  // namespace cosyvoice::testing
