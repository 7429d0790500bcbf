// tests/unit/test_variants.cc - config.json's variants section and the --precision choice
// (docs/bundle.md §7).
#include <nlohmann/json.hpp>

#include <set>

#include "cosyvoice/error.h"
#include "engine/bundle_config.h"
#include "engine/variants.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using nlohmann::json;

const std::set<std::string> kListed = {"llm/a_int4.onnx", "llm/a_int8.onnx",  "llm/fused.onnx",
                                       "llm/t16.npy",     "flow/e_int8.onnx", "flow/e_fp16.onnx",
                                       "flow/c_int8.onnx"};

VariantMap Read(const json &j) {
  return ReadVariants(j, "bundle/config.json", [](const std::string &rel) { return kListed.count(rel) > 0; });
}

json Variant(const std::string &name, const std::string &precision, const std::string &file,
             const std::string &status, json extra = json::object()) {
  json v = {{"name", name},
            {"precision", precision},
            {"providers", {"cpu"}},
            {"files", {{"file", file}}},
            {"gate", {{"status", status}}}};
  v.update(extra);
  return v;
}

json Sample() {
  return {{"llm",
           {Variant("int4", "int4", "llm/a_int4.onnx", "passed",
                    {{"files", {{"file", "llm/a_int4.onnx"}, {"text_embedding", "llm/t16.npy"}}},
                     {"speedup", {{"cpu", 3.2}}},
                     {"quantization", {{"bits", 4}}}}),
            Variant("int8", "int8", "llm/a_int8.onnx", "untested", {{"speedup", {{"cpu", 1.8}}}}),
            Variant("fp32-fused", "fp32", "llm/fused.onnx", "parity")}},
          {"flow",
           {{{"name", "int8"},
             {"precision", "int8"},
             {"providers", {"cpu"}},
             {"files", {{"estimator", "flow/e_int8.onnx"}}},
             {"gate", {{"status", "failed"}, {"figures", {{"mel_l1", 0.5}}}, {"tool", "cosyvoice ab"}}}},
            {{"name", "fp16"},
             {"precision", "fp16"},
             {"providers", {"cuda"}},
             {"files", {{"estimator", "flow/e_fp16.onnx"}}},
             {"gate", {{"status", "passed"}}}}}}};
}

TEST(Variants, ReadsEveryField) {
  const VariantMap m = Read(Sample());
  ASSERT_EQ(m.at("llm").size(), 3u);
  const VariantConfig &v = m.at("llm")[0];
  EXPECT_EQ(v.family, "llm");
  EXPECT_EQ(v.name, "int4");
  EXPECT_EQ(v.precision, "int4");
  EXPECT_EQ(v.files.at("text_embedding"), "llm/t16.npy");
  EXPECT_DOUBLE_EQ(v.speedup.at("cpu"), 3.2);
  EXPECT_EQ(v.quantization, R"({"bits":4})");
  EXPECT_TRUE(v.Trusted());
  EXPECT_FALSE(m.at("llm")[1].Trusted());
  EXPECT_TRUE(m.at("llm")[2].Trusted());  // parity
  EXPECT_TRUE(m.at("flow")[1].MadeFor("cuda"));
  EXPECT_FALSE(m.at("flow")[1].MadeFor("cpu"));
}

TEST(Variants, RefusesMalformedEntriesNamingTheField) {
  auto bad = [](json j, const std::string &message) {
    EXPECT_COSY_ERROR(Read(j), ErrorCode::kBundle, message);
  };
  json j = Sample();
  j["vocoder"] = j["flow"];
  bad(j, "field variants.vocoder: unknown family");
  j = Sample();
  j["llm"][0]["precision"] = "int3";
  bad(j, "field variants.llm[0].precision: expected one of fp32, fp16, int8, int4");
  j = Sample();
  j["llm"][1]["files"]["file"] = "llm/missing.onnx";
  bad(j, "field variants.llm[1].files.file: \"llm/missing.onnx\" is not listed in files");
  j = Sample();
  j["llm"][1]["files"] = {{"estimator", "llm/a_int8.onnx"}};
  bad(j, "field variants.llm[1].files.estimator: not a file field of llm");
  j = Sample();
  j["llm"][2]["name"] = "int4";
  bad(j, "field variants.llm[2].name: duplicate variant name \"int4\"");
  j = Sample();
  j["llm"][0]["gate"]["status"] = "ok";
  bad(j, "field variants.llm[0].gate.status: expected one of untested, passed, failed, parity");
  j = Sample();
  j["llm"][0]["gate"]["score"] = 1;
  bad(j, "unknown field variants.llm[0].gate.score");
  j = Sample();
  j["llm"][0]["colour"] = "red";
  bad(j, "unknown field variants.llm[0].colour");
  j = Sample();
  j["llm"][0]["providers"] = {"tpu"};
  bad(j, "field variants.llm[0].providers");
  j = Sample();
  j["llm"][0]["name"] = "Int 4";
  bad(j, "field variants.llm[0].name");
  j = Sample();
  j["llm"][0]["name"] = "base";
  bad(j, "field variants.llm[0].name: \"base\" is a precision keyword, not a variant name");
  j = Sample();
  j["llm"] = json::array();
  bad(j, "field variants.llm: expected a non-empty list");
}

TEST(PrecisionRequest, ParsesGlobalAndPerFamily) {
  PrecisionRequest r = PrecisionRequest::Parse("int4");
  EXPECT_EQ(r.For("llm"), "int4");
  EXPECT_EQ(r.For("flow"), "int4");
  r = PrecisionRequest::Parse("llm=int4, flow=int8");
  EXPECT_EQ(r.For("llm"), "int4");
  EXPECT_EQ(r.For("flow"), "int8");
  EXPECT_EQ(r.For("hift"), "fp32");
  r = PrecisionRequest::Parse("auto,llm=fp32-fused");
  EXPECT_EQ(r.For("hift"), "auto");
  EXPECT_EQ(r.For("llm"), "fp32-fused");
  for (const char *bad : {"", "llm=", "vocoder=int8", "llm=int4,llm=int8", "INT4", "llm=a b"}) {
    EXPECT_COSY_ERROR(PrecisionRequest::Parse(bad), ErrorCode::kInvalidArgument, "precision '");
  }
}

TEST(SelectVariant, Fp32TakesAParityVariantElseTheBase) {
  const VariantMap m = Read(Sample());
  EXPECT_EQ(SelectVariant(m, "llm", "fp32", "cpu").variant->name, "fp32-fused");
  EXPECT_EQ(SelectVariant(m, "flow", "fp32", "cpu").variant, nullptr);
  EXPECT_EQ(SelectVariant(m, "hift", "fp32", "cpu").variant, nullptr);  // no variants at all
}

TEST(SelectVariant, ExplicitByPrecisionOrNameForTheProvider) {
  const VariantMap m = Read(Sample());
  VariantChoice c = SelectVariant(m, "llm", "int8", "cpu");
  EXPECT_EQ(c.variant->name, "int8");
  EXPECT_NE(c.warning.find("gate status 'untested'"), std::string::npos);
  c = SelectVariant(m, "llm", "int4", "cpu");
  EXPECT_EQ(c.variant->name, "int4");
  EXPECT_TRUE(c.warning.empty());
  EXPECT_EQ(SelectVariant(m, "llm", "fp32-fused", "cpu").variant->precision, "fp32");
  // an fp32 variant named explicitly runs on another provider too, with a warning (docs/gpu.md)
  c = SelectVariant(m, "llm", "fp32-fused", "webgpu");
  EXPECT_EQ(c.variant->name, "fp32-fused");
  EXPECT_NE(c.warning.find("was checked for cpu, not for webgpu"), std::string::npos) << c.warning;
  EXPECT_EQ(SelectVariant(m, "flow", "fp16", "cuda").variant->name, "fp16");
  EXPECT_COSY_ERROR(
      SelectVariant(m, "flow", "fp16", "cpu"), ErrorCode::kInvalidArgument,
      "no such flow variant for the cpu provider (it has: int8 (int8, cpu), fp16 (fp16, cuda))");
  EXPECT_COSY_ERROR(SelectVariant(m, "hift", "int8", "cpu"), ErrorCode::kInvalidArgument, "it has: none");
  // a failed variant still loads when asked for, with a warning
  c = SelectVariant(m, "flow", "int8", "cpu");
  EXPECT_NE(c.warning.find("'failed'"), std::string::npos);
}

TEST(SelectVariant, AutoTakesTheFastestTrustedVariant) {
  VariantMap m = Read(Sample());
  EXPECT_EQ(SelectVariant(m, "llm", "auto", "cpu").variant->name, "int4");    // passed, 3.2x (int8 untested)
  EXPECT_EQ(SelectVariant(m, "flow", "auto", "cpu").variant, nullptr);        // int8 failed: base
  EXPECT_EQ(SelectVariant(m, "flow", "auto", "cuda").variant->name, "fp16");  // passed on cuda
  m.at("llm")[0].gate_status = "untested";
  EXPECT_EQ(SelectVariant(m, "llm", "auto", "cpu").variant->name, "fp32-fused");  // parity only
  m.at("llm")[1].gate_status = "passed";
  EXPECT_EQ(SelectVariant(m, "llm", "auto", "cpu").variant->name, "int8");
}

TEST(ChooseVariants, GlobalPrecisionAppliesWhereItExists) {
  const VariantMap m = Read(Sample());
  auto names = [](const std::vector<VariantChoice> &cs) {
    std::string s;
    for (const auto &c : cs) s += c.family + "=" + (c.variant ? c.variant->name : "base") + " ";
    return s;
  };
  EXPECT_EQ(names(ChooseVariants(m, "int8", "cpu")), "flow=int8 frontend=base hift=base llm=int8 ");
  EXPECT_EQ(names(ChooseVariants(m, "int4", "cpu")), "flow=base frontend=base hift=base llm=int4 ");
  EXPECT_EQ(names(ChooseVariants(m, "fp32", "cpu")), "flow=base frontend=base hift=base llm=fp32-fused ");
  // the fused fp32 graph after `variant record` wrote an A/B verdict over its `parity`
  VariantMap recorded = m;
  recorded.at("llm")[2].gate_status = "passed";
  EXPECT_EQ(names(ChooseVariants(recorded, "fp32", "cpu")),
            "flow=base frontend=base hift=base llm=fp32-fused ");
  recorded.at("llm")[2].gate_status = "failed";
  EXPECT_EQ(names(ChooseVariants(recorded, "fp32", "cpu")), "flow=base frontend=base hift=base llm=base ");
  EXPECT_EQ(names(ChooseVariants(m, "llm=int8", "cpu")), "flow=base frontend=base hift=base llm=int8 ");
  // `base`: the bundle's own files, also where an fp32-equivalent variant would be taken
  EXPECT_EQ(names(ChooseVariants(m, "base", "cpu")), "flow=base frontend=base hift=base llm=base ");
  EXPECT_EQ(names(ChooseVariants(m, "llm=base,flow=int8", "cpu")),
            "flow=int8 frontend=base hift=base llm=base ");
  EXPECT_COSY_ERROR(ChooseVariants(m, "fp16", "cpu"), ErrorCode::kInvalidArgument,
                    "precision 'fp16': the bundle has no fp16 variant for the cpu provider");
  EXPECT_COSY_ERROR(ChooseVariants(m, "int4,flow=int4", "cpu"), ErrorCode::kInvalidArgument,
                    "no such flow variant");
}

TEST(ApplyVariant, PointsTheFamilyFieldsAtTheVariantFiles) {
  const VariantMap m = Read(Sample());
  BundleConfig c;
  c.llm.file = "llm/llm.onnx";
  c.llm.text_embedding = "llm/text_embedding.npy";
  c.llm.speech_embedding = "llm/speech_embedding.npy";
  c.flow.estimator = "flow/flow_estimator.onnx";
  ApplyVariant(c, m.at("llm")[0]);
  ApplyVariant(c, m.at("flow")[0]);
  EXPECT_EQ(c.llm.file, "llm/a_int4.onnx");
  EXPECT_EQ(c.llm.text_embedding, "llm/t16.npy");
  EXPECT_EQ(c.llm.speech_embedding, "llm/speech_embedding.npy");
  EXPECT_EQ(c.flow.estimator, "flow/e_int8.onnx");
  EXPECT_EQ(c.flow.estimator_chunk.file, "") << "a variant without a chunk graph leaves it alone";
}

// A flow variant made from a bundle with the streaming chunk graph carries that graph in its
// precision too, so exact/fast streaming runs the same DiT weights as the final pass.
TEST(ApplyVariant, AFlowVariantWithAChunkGraphReplacesBoth) {
  json j = {{"flow",
             {{{"name", "int8"},
               {"precision", "int8"},
               {"providers", {"cpu"}},
               {"files", {{"estimator", "flow/e_int8.onnx"}, {"estimator_chunk.file", "flow/c_int8.onnx"}}},
               {"gate", {{"status", "untested"}}}}}}};
  const VariantMap m = Read(j);
  BundleConfig c;
  c.flow.estimator = "flow/flow_estimator.onnx";
  c.flow.estimator_chunk.file = "flow/flow_estimator_chunk.onnx";
  ApplyVariant(c, m.at("flow")[0]);
  EXPECT_EQ(c.flow.estimator, "flow/e_int8.onnx");
  EXPECT_EQ(c.flow.estimator_chunk.file, "flow/c_int8.onnx");
  BundleConfig no_chunk;  // a hand-edited config: the variant's chunk graph has no shape to run with
  EXPECT_COSY_ERROR(ApplyVariant(no_chunk, m.at("flow")[0]), ErrorCode::kBundle,
                    "has an estimator_chunk, but flow.estimator_chunk is absent");
}

}  // namespace
}  // namespace cosyvoice
