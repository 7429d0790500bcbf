// tests/unit/test_sampler_cross.cc - the C++ sampler against the Python reference sampler, across the
// two languages: tests/tools/make_sampler_cases.py decodes each case's logits with the Python
// RasSampler (python/cosyvoice_export/sampling.py) at test time; here the C++ RasSampler replays the
// same float32 logits with the same seed and must sample the same tokens and stop id.
//
// Exact, not approximate: both sides compute the float64 softmax in the order docs/determinism.md
// fixes, with this machine's libm exp (Python's math.exp and std::exp are glibc's), and draw from the
// same xoshiro256** stream; no rounding order or thread count enters.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "common/npy.h"
#include "engine/sampler.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using testing::TestData;

TEST(SamplerCrossLanguage, SameTokensAsThePythonReference) {
  const auto dir = TestData() / "sampler";
  std::ifstream in(dir / "cases.json");
  ASSERT_TRUE(in) << dir / "cases.json"
                  << " missing: the fixture generate_sampler_cases did not run";
  const nlohmann::json all = nlohmann::json::parse(in);
  const int vocab = all["vocab"].get<int>();
  const int stop_begin = all["stop_begin"].get<int>(), stop_end = all["stop_end"].get<int>();
  ASSERT_GE(all["cases"].size(), 5u);
  for (const auto &c : all["cases"]) {
    const std::string name = c["name"];
    const NpyArray logits = NpyArray::Load(dir / (name + "_logits.npy"));
    ASSERT_EQ(logits.dim(1), vocab) << name;
    RasSampler sampler(RasParams{}, stop_begin, stop_end, c["seed"].get<uint64_t>());
    std::vector<int> emitted;
    int stop = -1;
    const int min_len = c["min_len"].get<int>();
    for (int64_t i = 0; i < logits.dim(0); ++i) {
      const int t = sampler.Sample(logits.data<float>() + i * vocab, vocab, emitted, i < min_len);
      if (t >= stop_begin) {
        stop = t;
        break;
      }
      emitted.push_back(t);
    }
    EXPECT_EQ(emitted, c["tokens"].get<std::vector<int>>()) << name;
    EXPECT_EQ(stop, c["stop"].is_null() ? -1 : c["stop"].get<int>()) << name;
  }
  // what the cases exercise (make_sampler_cases.py fails unless each is non-zero)
  for (const char *k : {"fallback", "stop_from_nucleus", "stop_from_fallback", "max_len_reached",
                        "ties_in_logits", "minus_inf_logits"})
    EXPECT_GT(all["covered"][k].get<int>(), 0) << k;
}

}  // namespace
}  // namespace cosyvoice
