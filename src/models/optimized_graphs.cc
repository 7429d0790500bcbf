// src/models/optimized_graphs.cc
#include "models/optimized_graphs.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "common/atomic_file.h"
#include "common/json_reader.h"
#include "common/log.h"
#include "cosyvoice/error.h"
#include "cosyvoice/version.h"
#include "models/session_factory.h"

namespace cosyvoice {
namespace {

constexpr const char *kFormat = "cosyvoice-ort-optimized";

std::string LevelName(GraphOptimization level) {
  switch (level) {
    case GraphOptimization::kDisabled: return "disabled";
    case GraphOptimization::kBasic: return "basic";
    case GraphOptimization::kExtended: return "extended";
    case GraphOptimization::kAll: return "all";
  }
  return "all";
}

OptimizedFile ReadFile(JsonObjectReader r, int version) {
  OptimizedFile f;
  f.path = r.String("path");
  f.bytes = static_cast<uint64_t>(r.Int("bytes", 0, INT64_MAX));
  f.sha256 = r.String("sha256");
  if (version >= 3) {
    f.crc32c = r.String("crc32c");
    if (f.crc32c.size() != 8 || f.crc32c.find_first_not_of("0123456789abcdef") != std::string::npos)
      r.Fail("crc32c", "expected 8 lower-case hex digits");
  }
  if (f.path.empty() || f.path.find("..") != std::string::npos || f.path.front() == '/')
    r.Fail("path", "expected a path inside the optimized directory, got '" + f.path + "'");
  if (f.sha256.size() != 64) r.Fail("sha256", "expected 64 hex digits");
  r.Finish();
  return f;
}

nlohmann::json FileJson(const OptimizedFile &f, int version) {
  nlohmann::json j = {{"path", f.path}, {"bytes", f.bytes}, {"sha256", f.sha256}};
  if (version >= 3) j["crc32c"] = f.crc32c;
  return j;
}

// Size check only (cheap); contents are checked by sha256 where the bundle's files are.
std::string MissingOrTruncated(const std::filesystem::path &dir, const OptimizedFile &f) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(dir / f.path, ec);
  if (ec) return (dir / f.path).string() + " is missing";
  if (size != f.bytes) {
    return (dir / f.path).string() + " has " + std::to_string(size) + " bytes, the manifest says " +
           std::to_string(f.bytes);
  }
  return "";
}

}  // namespace

std::string CpuFeatures() {
#if defined(__x86_64__) || defined(_M_X64)
  // The features MLAS dispatches on (platform.cpp) and the NCHWc block size follows (8 on AVX2, 16 on
  // AVX-512F); listing a few more costs nothing and only makes a match stricter.
  std::vector<std::string> f;
#define COSYVOICE_CPU_FEATURE(name) \
  if (__builtin_cpu_supports(name)) f.push_back(name);
  COSYVOICE_CPU_FEATURE("sse4.1")
  COSYVOICE_CPU_FEATURE("avx")
  COSYVOICE_CPU_FEATURE("avx2")
  COSYVOICE_CPU_FEATURE("fma")
  COSYVOICE_CPU_FEATURE("f16c")
  COSYVOICE_CPU_FEATURE("avx512f")
  COSYVOICE_CPU_FEATURE("avx512bw")
  COSYVOICE_CPU_FEATURE("avx512dq")
  COSYVOICE_CPU_FEATURE("avx512vl")
  COSYVOICE_CPU_FEATURE("avx512vnni")
  COSYVOICE_CPU_FEATURE("avx512bf16")
  COSYVOICE_CPU_FEATURE("avxvnni")
#undef COSYVOICE_CPU_FEATURE
  std::string out = "x86_64";
  for (const auto &name : f) out += " " + name;
  return out;
#elif defined(__aarch64__)
  return "aarch64";  // MLAS picks aarch64 kernels at run time too; a different CPU gets a re-optimize
#else
  return "unknown";
#endif
}

OptimizationTarget OptimizationTarget::Current(const RuntimeConfig &config) {
  OptimizationTarget t;
  t.onnxruntime = OrtVersionString();
  t.optimization = LevelName(config.optimization);
  t.provider = PreferredProvider(config);
  t.cpu = CpuFeatures();
  return t;
}

std::string OptimizationTarget::Mismatch(const OptimizationTarget &here) const {
  auto differs = [](const char *what, const std::string &made, const std::string &now) {
    return std::string(what) + " differs (made for '" + made + "', this process: '" + now + "')";
  };
  if (onnxruntime != here.onnxruntime) return differs("ONNX Runtime version", onnxruntime, here.onnxruntime);
  if (optimization != here.optimization)
    return differs("graph optimization level", optimization, here.optimization);
  if (provider != here.provider) return differs("execution provider", provider, here.provider);
  if (cpu != here.cpu) return differs("CPU instruction set", cpu, here.cpu);
  return "";
}

std::vector<std::string> WriteOptimizedGraph(const std::filesystem::path &source,
                                             const std::filesystem::path &out, const RuntimeConfig &config,
                                             const OptimizedGraphWriteOptions &write) {
  RuntimeConfig plain = config;
  plain.graph_overrides.clear();
  plain.optimized_model_dir.clear();
  plain.profile_prefix.clear();
  SessionOptionsResult opts = CreateSessionOptions(plain, source.stem().string());
  const std::string data_name = out.filename().string() + ".data";
  opts.options.SetOptimizedModelFilePath(out.c_str());
  // ONNX Runtime warns that a graph saved at level "all" is specific to this machine: that is what
  // the manifest's target records and checks, so the warning is not repeated for every graph.
  opts.options.SetLogSeverityLevel(ORT_LOGGING_LEVEL_ERROR);
  // Every weight goes to the data file (not the protobuf, to be parsed and copied), and so does
  // every weight a kernel pre-packs (unless told otherwise): a later session maps them instead of
  // packing again.
  opts.options.AddConfigEntry("session.optimized_model_external_initializers_file_name", data_name.c_str());
  // Small tensors stay in the graph (OptimizedGraphWriteOptions::external_min_bytes).
  opts.options.AddConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes",
                              std::to_string(write.external_min_bytes).c_str());
  opts.options.AddConfigEntry("session.save_external_prepacked_constant_initializers",
                              write.save_prepacked ? "1" : "0");
  try {
    NewSession(source, opts.options);  // writes the optimized graph
  } catch (const Ort::Exception &e) {
    throw Error(ErrorCode::kBundle,
                source.string() + ": ONNX Runtime cannot optimize this graph: " + e.what());
  }
  std::vector<std::string> files = {out.filename().string()};
  if (std::filesystem::exists(out.parent_path() / data_name)) files.push_back(data_name);
  return files;
}

OptimizedGraphsManifest OptimizedGraphsManifest::Load(const std::filesystem::path &dir) {
  const std::string file = (dir / kFileName).string();
  const nlohmann::json json = ReadJsonFile(file);
  if (!json.is_object()) throw Error(ErrorCode::kBundle, file + ": expected a JSON object");
  JsonObjectReader r(json, file);
  if (r.String("format") != kFormat) r.Fail("format", std::string("expected \"") + kFormat + "\"");
  OptimizedGraphsManifest m;
  m.version = static_cast<int>(r.Int("version", 1, OptimizedGraphsManifest::kVersion));
  {
    JsonObjectReader t = r.Object("target");
    m.target.onnxruntime = t.String("onnxruntime");
    m.target.optimization = t.String("optimization");
    m.target.provider = t.String("provider");
    m.target.cpu = t.String("cpu");
    t.Finish();
  }
  m.created = r.String("created");
  JsonObjectReader graphs = r.Object("graphs");
  for (const std::string &source : r.ObjectKeys("graphs")) {
    JsonObjectReader g = graphs.Object(source);
    OptimizedGraph og;
    og.source = source;
    og.source_bytes = static_cast<uint64_t>(g.Int("source_bytes", 0, INT64_MAX));
    og.source_sha256 = g.String("source_sha256");
    og.graph = ReadFile(g.Object("graph"), m.version);
    const nlohmann::json &data = g.Raw("data");
    if (!data.is_array()) g.Fail("data", "expected an array of files");
    for (size_t i = 0; i < data.size(); ++i) {
      if (!data[i].is_object()) g.Fail("data", "expected objects");
      og.data.push_back(ReadFile(
          JsonObjectReader(data[i], file, g.FieldName("data") + "[" + std::to_string(i) + "]"), m.version));
    }
    g.Finish();
    m.graphs[source] = std::move(og);
  }
  r.Finish();
  return m;
}

void OptimizedGraphsManifest::Save(const std::filesystem::path &dir) const {
  nlohmann::json graphs_json = nlohmann::json::object();
  for (const auto &[source, g] : graphs) {
    nlohmann::json data = nlohmann::json::array();
    for (const auto &f : g.data) data.push_back(FileJson(f, version));
    graphs_json[source] = {{"source_bytes", g.source_bytes},
                           {"source_sha256", g.source_sha256},
                           {"graph", FileJson(g.graph, version)},
                           {"data", data}};
  }
  const nlohmann::json json = {{"format", kFormat},
                               {"version", version},
                               {"target",
                                {{"onnxruntime", target.onnxruntime},
                                 {"optimization", target.optimization},
                                 {"provider", target.provider},
                                 {"cpu", target.cpu}}},
                               {"created", created},
                               {"graphs", graphs_json}};
  const std::string text = json.dump(2) + "\n";
  AtomicFile out((dir / kFileName).string());
  out.Write(text.data(), text.size());
  out.Commit();
}

OptimizedGraphs OptimizedGraphs::Open(
    const std::filesystem::path &dir, const OptimizationTarget &here,
    const std::map<std::string, std::pair<uint64_t, std::string>> &bundle_files) {
  OptimizedGraphs out;
  out.dir_ = dir;
  const OptimizedGraphsManifest m = OptimizedGraphsManifest::Load(dir);
  std::string mismatch = m.target.Mismatch(here);
  if (mismatch.empty() && m.version < OptimizedGraphsManifest::kOldestUsable)
    mismatch = "made by an earlier cosyvoice-ort (manifest version " + std::to_string(m.version) +
               "), whose int8/int4 LLM graphs give NaN";
  if (!mismatch.empty()) {
    COSY_LOG(kWarning)
        << "optimized graphs in " << dir.string() << " not used: " << mismatch
        << "; loading the plain graphs (run `cosyvoice optimize --force` on this machine to replace them)";
    return out;
  }
  for (const auto &[source, g] : m.graphs) {
    auto it = bundle_files.find(source);
    std::string why;
    if (it == bundle_files.end()) {
      why = "the bundle has no file " + source;
    } else if (it->second.first != g.source_bytes || it->second.second != g.source_sha256) {
      why = "made from another " + source + " (sha256 " + g.source_sha256.substr(0, 16) +
            ", the bundle's is " + it->second.second.substr(0, 16) + ")";
    } else {
      why = MissingOrTruncated(dir, g.graph);
      for (const auto &f : g.data)
        if (why.empty()) why = MissingOrTruncated(dir, f);
    }
    if (!why.empty()) {
      COSY_LOG(kWarning) << "optimized graph for " << source << " not used: " << why
                         << "; loading the plain graph";
      continue;
    }
    out.chosen_[source] = g;
  }
  return out;
}

std::optional<std::filesystem::path> OptimizedGraphs::Find(const std::string &source) const {
  auto it = chosen_.find(source);
  if (it == chosen_.end()) return std::nullopt;
  return dir_ / it->second.graph.path;
}

std::vector<std::pair<std::filesystem::path, OptimizedFile>> OptimizedGraphs::Files() const {
  std::vector<std::pair<std::filesystem::path, OptimizedFile>> out;
  for (const auto &[source, g] : chosen_) {
    out.emplace_back(dir_ / g.graph.path, g.graph);
    for (const auto &f : g.data) out.emplace_back(dir_ / f.path, f);
  }
  return out;
}

std::vector<std::pair<std::filesystem::path, OptimizedFile>> OptimizedGraphs::FilesFor(
    const std::string &source) const {
  std::vector<std::pair<std::filesystem::path, OptimizedFile>> out;
  auto it = chosen_.find(source);
  if (it == chosen_.end()) return out;
  out.emplace_back(dir_ / it->second.graph.path, it->second.graph);
  for (const auto &f : it->second.data) out.emplace_back(dir_ / f.path, f);
  return out;
}

}  // namespace cosyvoice
