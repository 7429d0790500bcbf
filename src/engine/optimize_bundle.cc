// src/engine/optimize_bundle.cc
#include "engine/optimize_bundle.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "common/crc32c.h"
#include "common/file_chunks.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/timer.h"
#include "cosyvoice/error.h"
#include "engine/bundle_config.h"
#include "engine/bundle_verifier.h"
#include "models/session_factory.h"

namespace cosyvoice {
namespace {

bool IsGraph(const std::string &rel) {
  return rel.size() > 5 && rel.compare(rel.size() - 5, 5, ".onnx") == 0;
}

// Both digests from one read of the file (the float32 optimized files are 8 GB).
OptimizedFile Describe(const std::filesystem::path &dir, const std::string &rel) {
  OptimizedFile f;
  f.path = rel;
  Sha256 sha;
  Crc32c crc;
  f.bytes = ReadFileInChunks(dir / rel, [&](const char *data, size_t size) {
    sha.Update(data, size);
    crc.Update(data, size);
  });
  f.sha256 = sha.HexDigest();
  f.crc32c = crc.HexValue();
  return f;
}

// Removes a directory tree on every way out of OptimizeBundle that does not commit it.
struct TempDir {
  std::filesystem::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

// The bundle-relative graphs to optimize: every graph, or those a load with `precision` reads.
std::set<std::string> GraphsToOptimize(const BundleConfig &bundle, const std::string &precision,
                                       const RuntimeConfig &runtime) {
  std::set<std::string> out;
  if (precision == "all") {
    for (const auto &[rel, f] : bundle.files)
      if (IsGraph(rel)) out.insert(rel);
    return out;
  }
  BundleConfig in_use = bundle;
  for (const VariantChoice &c : ChooseVariants(bundle.variants, precision, PreferredProvider(runtime)))
    if (c.variant != nullptr) ApplyVariant(in_use, *c.variant);
  for (const FileToVerify &f : FilesInUse(bundle, in_use)) {
    const std::string rel = std::filesystem::relative(f.path, bundle.dir).generic_string();
    if (IsGraph(rel)) out.insert(rel);
  }
  return out;
}

// Whether the graph `rel` is a file of a variant quantized with MatMulNBits (its quantization
// description says so, docs/bundle.md §7). ONNX Runtime 1.30 writes such a graph's pre-packed
// weights in a form its next session reads wrongly: with them, the full-size int4 and int8 LLM
// variants gave NaN for every logit of the first prefill (found 2026-12-05; the tiny model's weights
// stayed in the graph below external_min_bytes, so its tests did not see it until
// LlmVariantGolden.OptimizedGraphIsBitIdentical lowered the size).
bool UsesMatMulNBits(const BundleConfig &bundle, const std::string &rel) {
  for (const auto &[family, variants] : bundle.variants) {
    for (const VariantConfig &v : variants) {
      const bool names_it =
          std::any_of(v.files.begin(), v.files.end(), [&](const auto &f) { return f.second == rel; });
      if (!names_it || v.quantization.empty()) continue;
      const nlohmann::json q = nlohmann::json::parse(v.quantization, nullptr, /*allow_exceptions=*/false);
      if (q.is_object() && q.value("method", "") == "MatMulNBits") return true;
    }
  }
  return false;
}

// Whether `rel` is a streaming chunk graph of the flow (the bundle's or a variant's,
// docs/bundle.md §3.8). Its pre-packed weights are not saved: mapped from the data file they made
// every chunk slower than weights ONNX Runtime packs itself at session creation (full size, int8 DiT,
// `bench-stream --modes offline,fast`, 125 tokens, 2 threads, 2026-12-05: flow 7.27 / 8.64 s with
// them, 6.12 / 7.38 s without, offline unchanged; why is not known), while the graph is loaded only
// for the first streamed request (1.0 s with them, 2.5 s without). Streaming pays per chunk; the
// load is paid once per process.
bool IsFlowChunkGraph(const BundleConfig &bundle, const std::string &rel) {
  if (rel == bundle.flow.estimator_chunk.file) return true;
  for (const auto &[family, variants] : bundle.variants) {
    for (const VariantConfig &v : variants) {
      const auto it = v.files.find("estimator_chunk.file");
      if (it != v.files.end() && it->second == rel) return true;
    }
  }
  return false;
}

}  // namespace

OptimizedGraphsManifest OptimizeBundle(const OptimizeBundleOptions &options) {
  const BundleConfig bundle = BundleConfig::Load(options.bundle_dir);
  const std::filesystem::path out =
      options.out_dir.empty() ? bundle.dir / "optimized" : std::filesystem::absolute(options.out_dir);
  if (std::filesystem::exists(out) && !options.force) {
    throw Error(ErrorCode::kInvalidArgument, out.string() + " exists (use --force to replace it)");
  }
  OptimizedGraphsManifest manifest;
  manifest.target = OptimizationTarget::Current(options.runtime);
  if (manifest.target.provider != "cpu") {
    throw Error(ErrorCode::kInvalidArgument,
                "optimize: graphs can be optimized for the cpu provider only, not '" +
                    manifest.target.provider + "'");
  }
  TempDir tmp{out.parent_path() / ("." + out.filename().string() + ".partial-" + std::to_string(::getpid()))};
  std::filesystem::remove_all(tmp.path);
  const std::set<std::string> graphs = GraphsToOptimize(bundle, options.precision, options.runtime);
  for (const auto &[rel, f] : bundle.files) {
    if (!graphs.count(rel)) continue;
    const auto t0 = SteadyClock::now();
    const std::filesystem::path target = tmp.path / rel;
    std::filesystem::create_directories(target.parent_path());
    const std::string sub = std::filesystem::path(rel).parent_path().string();
    auto prefixed = [&](const std::string &name) { return sub.empty() ? name : sub + "/" + name; };
    OptimizedGraphWriteOptions write;
    write.external_min_bytes = options.external_min_bytes;
    write.save_prepacked = !UsesMatMulNBits(bundle, rel) && !IsFlowChunkGraph(bundle, rel);
    const std::vector<std::string> written =
        WriteOptimizedGraph(bundle.Path(rel), target, options.runtime, write);
    OptimizedGraph g;
    g.source = rel;
    g.source_bytes = f.bytes;
    g.source_sha256 = f.sha256;
    g.graph = Describe(tmp.path, prefixed(written.front()));
    for (size_t i = 1; i < written.size(); ++i) g.data.push_back(Describe(tmp.path, prefixed(written[i])));
    COSY_LOG(kInfo) << "optimized " << rel << " in " << SecondsSince(t0) << " s";
    manifest.graphs[rel] = std::move(g);
  }
  manifest.created = UtcNowIso8601();
  manifest.Save(tmp.path);  // last: a directory without a manifest is never used
  if (std::filesystem::exists(out)) std::filesystem::remove_all(out);
  std::filesystem::rename(tmp.path, out);
  tmp.path.clear();
  return manifest;
}

}  // namespace cosyvoice
