// tests/golden/test_llm_variants_golden.cc - the engine running the bundle's int8/int4 LLM variants
// (models/tiny/bundle-q, made by `quantize --llm panel,fp32,int8,int4`) against their own reference
// (models/tiny/goldens-q, `variant-goldens`: the quantized weights read from each graph file and
// MatMulNBits written out in numpy, float64; python/cosyvoice_export/export/llm_qref.py).
//
// Tolerance per segment (docs/parity.md, "Quantized LLM variants"), both from the reference:
//   tol  = 4 max(max|ref32 - ref64|, 64 u max|ref64|): float32's own error on this function (the
//          rule for the fp32 graphs);
//   flip = the whole effect of the int8 activation rounding (accuracy level 4) on these logits. An
//          activation at a rounding tie may get the neighbouring code in ONNX Runtime (its float32
//          activations differ from the reference's in the last bits); a flip moves one rounding by
//          one code and carries on through the KV cache, its effect is of the order of the roundings
//          the reference makes anyway.
// Every position must be within max(tol, flip); how many are within tol is reported.
#include <algorithm>

#include "engine/model_impl.h"
#include "engine/optimize_bundle.h"
#include "goldens.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using nlohmann::json;
using testing::GoldensDir;
using testing::Load;
using testing::ReadJson;
using testing::TinyDir;

std::filesystem::path VariantGoldensDir() {
  return TinyDir() / "goldens-q";
}

// Logits of every step [steps, vocab], teacher-forced: the prefill of `lm_input`, then the
// reference's tokens one at a time, through the engine's LLM graph and speech table.
std::vector<float> TeacherForced(const Model::Impl &engine, const std::vector<float> &lm_input,
                                 const std::vector<int32_t> &tokens, int64_t steps) {
  const LlmConfig &l = engine.bundle.llm;
  const int64_t prefill = static_cast<int64_t>(lm_input.size()) / l.hidden_size;
  KvCache cache(engine.llm->shape(), prefill + steps, engine.llm->kv_layout());
  LlmGraph::RunState run(*engine.llm);
  std::vector<float> embed(static_cast<size_t>(l.hidden_size)), out;
  for (int64_t i = 0; i < steps; ++i) {
    const float *row = nullptr;
    if (i == 0) {
      row = engine.llm->Forward(run, lm_input.data(), prefill, cache);
    } else {
      engine.speech_embedding->CopyRow(tokens[static_cast<size_t>(i - 1)], embed.data());
      row = engine.llm->Forward(run, embed.data(), 1, cache);
    }
    out.insert(out.end(), row, row + l.speech_vocab_size);
  }
  return out;
}

class LlmVariantGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(LlmVariantGolden, EngineSelectsTheVariantAndMatchesItsReference) {
  const std::string name = GetParam();
  const json manifest = ReadJson(VariantGoldensDir() / "manifest.json");
  ASSERT_TRUE(manifest["variants"].contains(name)) << "goldens-q has no variant " << name;
  const json &want = manifest["variants"][name];

  ModelConfig c;
  c.model_dir = (TinyDir() / "bundle-q").string();
  c.runtime.intra_op_threads = 1;
  c.precision = "llm=" + name;
  const auto model = Model::Load(c);
  const Model::Impl &engine = model->impl();
  // the engine took the variant's files: the info, the graph's interface and its own metadata agree
  const auto p = std::find_if(model->info().precisions.begin(), model->info().precisions.end(),
                              [](const ModelInfo::Precision &x) { return x.family == "llm"; });
  ASSERT_NE(p, model->info().precisions.end());
  EXPECT_EQ(p->variant, name);
  EXPECT_EQ(p->precision, want["precision"].get<std::string>());
  EXPECT_EQ(engine.bundle.llm.file, want["file"].get<std::string>());
  EXPECT_EQ(engine.llm->interface(), LlmGraph::Interface::kFused);
  EXPECT_EQ(engine.llm->precision(), want["precision"].get<std::string>());

  const int64_t vocab = engine.bundle.llm.speech_vocab_size;
  int segments = 0;
  const json goldens = ReadJson(GoldensDir() / "manifest.json");
  for (const json &cs : goldens["cases"]) {
    // vc samples nothing; text-in streaming has no per-segment LLM inputs (variant_goldens.py)
    if (cs["mode"] == "vc" || cs.value("bistream", false)) continue;
    const std::string case_name = cs["name"].get<std::string>();
    ASSERT_TRUE(want["cases"].contains(case_name)) << case_name;
    for (const json &seg : want["cases"][case_name]) {
      const std::string s = std::to_string(seg["segment"].get<int>());
      const std::string what = name + " " + case_name + " seg" + s;
      const std::string pre = (GoldensDir() / cs["dir"].get<std::string>()).string() + "/seg" + s + "_";
      const auto ref = Load<float>(VariantGoldensDir() / name / case_name / ("seg" + s + "_logits.npy"));
      const int64_t steps = seg["steps"].get<int64_t>();
      ASSERT_EQ(static_cast<int64_t>(ref.size()), steps * vocab) << what;
      const auto got =
          TeacherForced(engine, Load<float>(pre + "lm_input.npy"), Load<int32_t>(pre + "tokens.npy"), steps);

      const double tol = seg["tol"].get<double>(), flip = seg["flip"].get<double>();
      int64_t within_tol = 0, top1_same = 0;
      double worst = 0;
      for (int64_t i = 0; i < steps; ++i) {
        double err = 0;
        for (int64_t v = 0; v < vocab; ++v) {
          const size_t k = static_cast<size_t>(i * vocab + v);
          err = std::max(err, std::abs(static_cast<double>(got[k]) - static_cast<double>(ref[k])));
        }
        worst = std::max(worst, err);
        within_tol += err <= tol;
        const auto row = [&](const std::vector<float> &a) { return a.begin() + i * vocab; };
        top1_same += std::max_element(row(got), row(got) + vocab) - row(got) ==
                     std::max_element(row(ref), row(ref) + vocab) - row(ref);
      }
      std::printf(
          "[parity] %-34s %-30s max abs %.3g (tol %.3g, flip %.3g), %lld/%lld positions within tol, "
          "top-1 %lld/%lld\n",
          (name + " llm logits").c_str(), (case_name + " seg" + s).c_str(), worst, tol, flip,
          static_cast<long long>(within_tol), static_cast<long long>(steps),
          static_cast<long long>(top1_same), static_cast<long long>(steps));
      EXPECT_LE(worst, std::max(tol, flip)) << what;
      ++segments;
    }
  }
  EXPECT_GT(segments, 0);
}

// `cosyvoice optimize` on a MatMulNBits variant: the optimized graph gives the plain graph's logits
// bit for bit. external_min_bytes is lowered so that the tiny model's weights go to the data file
// as the full-size ones do; ONNX Runtime 1.30 restores such a graph's saved pre-packed weights
// wrongly (NaN logits), so OptimizeBundle does not save them for MatMulNBits graphs.
TEST_P(LlmVariantGolden, OptimizedGraphIsBitIdentical) {
  const std::string name = GetParam();
  testing::TempDir tmp;
  OptimizeBundleOptions o;
  o.bundle_dir = TinyDir() / "bundle-q";
  o.out_dir = tmp / "optimized";
  o.runtime.intra_op_threads = 1;
  o.precision = "llm=" + name;
  o.external_min_bytes = 1024;
  const OptimizedGraphsManifest manifest = OptimizeBundle(o);
  ASSERT_EQ(manifest.graphs.count("llm/llm_fused_" + name + ".onnx"), 1u);
  EXPECT_FALSE(manifest.graphs.at("llm/llm_fused_" + name + ".onnx").data.empty())
      << "the weights stayed in the graph: the test would not take the full-size path";

  ModelConfig c;
  c.model_dir = o.bundle_dir.string();
  c.runtime.intra_op_threads = 1;
  c.precision = o.precision;
  c.optimized_dir = "off";
  const auto plain = Model::Load(c);
  c.optimized_dir = o.out_dir.string();
  const auto optimized = Model::Load(c);
  ASSERT_TRUE(optimized->impl().llm->optimized());

  const json goldens = ReadJson(GoldensDir() / "manifest.json");
  int segments = 0;
  for (const json &cs : goldens["cases"]) {
    if (cs["mode"] == "vc" || cs.value("bistream", false)) continue;
    const std::string pre = (GoldensDir() / cs["dir"].get<std::string>()).string() + "/seg0_";
    const auto lm_input = Load<float>(pre + "lm_input.npy");
    const auto tokens = Load<int32_t>(pre + "tokens.npy");
    const int64_t steps = std::min<int64_t>(8, static_cast<int64_t>(tokens.size()));
    const auto want = TeacherForced(plain->impl(), lm_input, tokens, steps);
    const auto got = TeacherForced(optimized->impl(), lm_input, tokens, steps);
    EXPECT_EQ(got, want) << name << " " << cs["name"].get<std::string>();
    ++segments;
  }
  EXPECT_GT(segments, 0);
}

INSTANTIATE_TEST_SUITE_P(Int8AndInt4, LlmVariantGolden, ::testing::Values("int8", "int4"));

}  // namespace
}  // namespace cosyvoice
