// tests/unit/test_optimized_graphs.cc - graphs optimized once (docs/bundle.md §8): the manifest, the
// target match and every way a mismatch falls back to the plain graph.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/crc32c.h"
#include "common/sha256.h"
#include "cosyvoice/version.h"
#include "models/onnx_graph.h"
#include "models/optimized_graphs.h"
#include "models/tensor.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using testing::TempDir;
using testing::TestData;
using Files = std::map<std::string, std::pair<uint64_t, std::string>>;

void WriteBytes(const std::filesystem::path &p, const std::string &bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

OptimizedFile Described(const std::filesystem::path &dir, const std::string &rel) {
  return {rel, std::filesystem::file_size(dir / rel), Sha256File(dir / rel), Crc32cFile(dir / rel)};
}

// A manifest for this process with one graph "g/a.onnx" (+ data) made from a source of 7 bytes.
struct Fixture {
  TempDir tmp;
  OptimizedGraphsManifest manifest;
  Files bundle = {{"g/a.onnx", {7, std::string(64, 'a')}}};
  Fixture() {
    WriteBytes(tmp / "g/a.onnx", "graph");
    WriteBytes(tmp / "g/a.onnx.data", "weights");
    manifest.target = OptimizationTarget::Current(RuntimeConfig{});
    manifest.created = "2026-12-04T00:00:00Z";
    OptimizedGraph g;
    g.source = "g/a.onnx";
    g.source_bytes = 7;
    g.source_sha256 = std::string(64, 'a');
    g.graph = Described(tmp.path(), "g/a.onnx");
    g.data = {Described(tmp.path(), "g/a.onnx.data")};
    manifest.graphs[g.source] = g;
    manifest.Save(tmp.path());
  }
  OptimizedGraphs Open() const {
    return OptimizedGraphs::Open(tmp.path(), OptimizationTarget::Current(RuntimeConfig{}), bundle);
  }
};

TEST(OptimizedGraphs, TargetRecordsVersionLevelProviderAndCpu) {
  RuntimeConfig c;
  c.optimization = GraphOptimization::kExtended;
  const OptimizationTarget t = OptimizationTarget::Current(c);
  EXPECT_EQ(t.onnxruntime, OrtVersionString());
  EXPECT_EQ(t.optimization, "extended");
  EXPECT_EQ(t.provider, "cpu");
  EXPECT_EQ(t.cpu, CpuFeatures());
#if defined(__x86_64__)
  EXPECT_THAT(t.cpu, ::testing::StartsWith("x86_64"));
#endif
  EXPECT_EQ(t.Mismatch(t), "");
}

TEST(OptimizedGraphs, EveryTargetFieldMustMatch) {
  const OptimizationTarget here = OptimizationTarget::Current(RuntimeConfig{});
  OptimizationTarget other = here;
  other.onnxruntime = "1.29.0";
  EXPECT_THAT(other.Mismatch(here), ::testing::HasSubstr("ONNX Runtime version differs (made for '1.29.0'"));
  other = here;
  other.optimization = "basic";
  EXPECT_THAT(other.Mismatch(here), ::testing::HasSubstr("graph optimization level differs"));
  other = here;
  other.provider = "cuda";
  EXPECT_THAT(other.Mismatch(here), ::testing::HasSubstr("execution provider differs"));
  other = here;
  other.cpu = here.cpu + " avx512f";  // made on an AVX-512 machine: NCHWc blocks of 16, other kernels
  EXPECT_THAT(other.Mismatch(here), ::testing::HasSubstr("CPU instruction set differs"));
}

TEST(OptimizedGraphs, ManifestRoundTripsAndMatchingGraphsAreChosen) {
  Fixture f;
  const OptimizedGraphsManifest back = OptimizedGraphsManifest::Load(f.tmp.path());
  EXPECT_EQ(back.target.cpu, f.manifest.target.cpu);
  ASSERT_EQ(back.graphs.size(), 1u);
  EXPECT_EQ(back.graphs.at("g/a.onnx").data.at(0).bytes, 7u);
  EXPECT_EQ(back.graphs.at("g/a.onnx").data.at(0).crc32c, Crc32cFile(f.tmp / "g/a.onnx.data"));
  const OptimizedGraphs og = f.Open();
  EXPECT_EQ(og.Find("g/a.onnx").value_or(""), f.tmp / "g/a.onnx");
  EXPECT_FALSE(og.Find("g/b.onnx").has_value());
  EXPECT_EQ(og.Files().size(), 2u);
}

TEST(OptimizedGraphs, OtherMachineMeansPlainGraphs) {
  Fixture f;
  f.manifest.target.cpu += " avx512f";
  f.manifest.Save(f.tmp.path());
  EXPECT_TRUE(f.Open().empty());
  f.manifest.target = OptimizationTarget::Current(RuntimeConfig{});
  f.manifest.target.optimization = "extended";
  f.manifest.Save(f.tmp.path());
  EXPECT_TRUE(f.Open().empty());
}

// Directories written before the MatMulNBits fix (manifest version 1) are not used: their int4/int8
// LLM graphs hold pre-packed weights ONNX Runtime reads back wrongly. A newer version is refused.
TEST(OptimizedGraphs, EarlierManifestVersionMeansPlainGraphs) {
  Fixture f;
  EXPECT_TRUE(f.Open().Find("g/a.onnx").has_value());
  f.manifest.version = 1;
  f.manifest.Save(f.tmp.path());
  EXPECT_EQ(OptimizedGraphsManifest::Load(f.tmp.path()).version, 1);
  EXPECT_TRUE(f.Open().empty());
  f.manifest.version = OptimizedGraphsManifest::kVersion + 1;
  f.manifest.Save(f.tmp.path());
  EXPECT_COSY_ERROR(OptimizedGraphsManifest::Load(f.tmp.path()), ErrorCode::kBundle, "version");
}

// Version 2 (sha256 only) is still used, its files verified by sha256 (no CRC-32C to check);
// version 3 must list every file's CRC-32C.
TEST(OptimizedGraphs, VersionTwoIsUsedAndVersionThreeNeedsCrcs) {
  Fixture f;
  f.manifest.version = 2;
  for (auto &[source, g] : f.manifest.graphs) {
    g.graph.crc32c.clear();
    for (OptimizedFile &d : g.data) d.crc32c.clear();
  }
  f.manifest.Save(f.tmp.path());
  const OptimizedGraphs og = f.Open();
  ASSERT_TRUE(og.Find("g/a.onnx").has_value());
  for (const auto &[path, file] : og.FilesFor("g/a.onnx")) EXPECT_EQ(file.crc32c, "") << path;
  f.manifest.version = 3;  // the same files without CRCs
  f.manifest.Save(f.tmp.path());
  EXPECT_COSY_ERROR(f.Open(), ErrorCode::kBundle, "crc32c");
  f.manifest.graphs.at("g/a.onnx").graph.crc32c = "E3069283";
  f.manifest.graphs.at("g/a.onnx").data.at(0).crc32c = "e3069283";
  f.manifest.Save(f.tmp.path());
  EXPECT_COSY_ERROR(f.Open(), ErrorCode::kBundle, "expected 8 lower-case hex digits");
}

TEST(OptimizedGraphs, StaleSourceOrDamagedFileMeansThePlainGraph) {
  {
    Fixture f;  // the bundle graph was re-exported since
    f.bundle["g/a.onnx"].second = std::string(64, 'b');
    EXPECT_FALSE(f.Open().Find("g/a.onnx").has_value());
  }
  {
    Fixture f;
    f.bundle["g/a.onnx"].first = 8;
    EXPECT_FALSE(f.Open().Find("g/a.onnx").has_value());
  }
  {
    Fixture f;  // truncated data file
    WriteBytes(f.tmp / "g/a.onnx.data", "weight");
    EXPECT_FALSE(f.Open().Find("g/a.onnx").has_value());
  }
  {
    Fixture f;  // missing optimized graph
    std::filesystem::remove(f.tmp / "g/a.onnx");
    EXPECT_FALSE(f.Open().Find("g/a.onnx").has_value());
  }
}

TEST(OptimizedGraphs, MalformedManifestIsAnErrorNamingTheField) {
  Fixture f;
  std::string text;
  {
    std::ifstream in(f.tmp / "manifest.json");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string typo =
      text.substr(0, text.find("\"created\"")) + "\"creatd\"" + text.substr(text.find("\"created\"") + 9);
  WriteBytes(f.tmp / "manifest.json", typo);
  EXPECT_COSY_ERROR(f.Open(), ErrorCode::kBundle, "manifest.json");
  const std::string escape = text.substr(0, text.find("\"g/a.onnx\",")) + "\"../a.onnx\"," +
                             text.substr(text.find("\"g/a.onnx\",") + 11);
  WriteBytes(f.tmp / "manifest.json", escape);
  EXPECT_COSY_ERROR(f.Open(), ErrorCode::kBundle, "expected a path inside the optimized directory");
}

std::vector<float> RunAdd(const OnnxGraph &g) {
  std::vector<float> x = {1, 2, 3}, y = {10, 20, 30};
  std::vector<Ort::Value> in;
  in.push_back(TensorView(x, {1, 3}));
  in.push_back(TensorView(y, {1, 3}));
  auto out = g.session().Run(Ort::RunOptions{nullptr}, g.input_names(), in.data(), 2, g.output_names(), 1);
  return ToVector<float>(out[0]);
}

GraphSignature AddSignature() {
  return {{{"x", DType::kFloat32, {-1, 3}}, {"y", DType::kFloat32, {-1, 3}}},
          {{"z", DType::kFloat32, {-1, 3}}}};
}

TEST(OptimizedGraphs, WrittenGraphLoadsInsteadOfThePlainOneAndGivesTheSameResult) {
  TempDir tmp;
  const auto source = TestData() / "graphs/add.onnx";
  const auto files = WriteOptimizedGraph(source, tmp / "add.onnx", RuntimeConfig{});
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.front(), "add.onnx");
  RuntimeConfig c;
  c.graph_overrides[source.string()] = (tmp / "add.onnx").string();
  OnnxGraph optimized(source, AddSignature(), c);
  OnnxGraph plain(source, AddSignature(), RuntimeConfig{});
  EXPECT_EQ(RunAdd(optimized), RunAdd(plain));
  EXPECT_EQ(optimized.Metadata("purpose").value_or(""), "unit-test");  // metadata survives optimization
}

TEST(OptimizedGraphs, UnloadableOptimizedGraphFallsBackToThePlainOne) {
  TempDir tmp;
  WriteBytes(tmp / "add.onnx", "not a graph");
  const auto source = TestData() / "graphs/add.onnx";
  RuntimeConfig c;
  c.graph_overrides[source.string()] = (tmp / "add.onnx").string();
  OnnxGraph g(source, AddSignature(), c);
  EXPECT_THAT(RunAdd(g), ::testing::ElementsAre(11, 22, 33));
}

}  // namespace
}  // namespace cosyvoice
