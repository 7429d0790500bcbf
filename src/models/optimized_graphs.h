// src/models/optimized_graphs.h - graphs optimized once for one machine and loaded fast (docs/bundle.md §8).
//
// Creating an ONNX Runtime session for a 1.4 GB graph costs 20-30 s on 2 cores, almost all of it in
// pre-packing the MatMul weights into MLAS's blocked layout and in graph optimization. Both results
// depend on the ONNX Runtime version, the optimization level, the execution provider and the CPU's
// instruction set (NCHWc block size 8 on AVX2 vs 16 on AVX-512, MLAS kernels per ISA). `cosyvoice
// optimize` lets ONNX Runtime write the optimized graph once, with every initializer and every
// pre-packed weight in a page-aligned external data file that later sessions memory-map instead of
// recomputing; a manifest records what it was made for. The engine uses an optimized graph only when
// the manifest matches this process exactly, and otherwise loads the plain graph with one log line:
// a graph optimized for another machine is never run. The plain graphs stay the bundle's contract.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cosyvoice/runtime_config.h"

namespace cosyvoice {

// What an optimized graph was made for. Two environments are compatible only when equal.
struct OptimizationTarget {
  std::string onnxruntime;   // ONNX Runtime version string, e.g. "1.30.0"
  std::string optimization;  // graph optimization level: disabled|basic|extended|all
  std::string provider;      // execution provider, e.g. "cpu"
  std::string cpu;           // instruction-set features ONNX Runtime's kernels select on (CpuFeatures())

  // The target of sessions created with `config` in this process (provider: the first usable one).
  static OptimizationTarget Current(const RuntimeConfig &config);
  // "" when equal, else the first difference, e.g. "made for cpu avx2 fma, this CPU has avx512f ...".
  std::string Mismatch(const OptimizationTarget &here) const;
};

// The instruction-set features that change which kernels and packed layouts ONNX Runtime uses, as a
// sorted space-separated list prefixed by the architecture: "x86_64 avx avx2 f16c fma ...".
std::string CpuFeatures();

// One file written by `optimize`: its size is checked when the directory is opened, its CRC-32C
// (sha256 for a version-2 manifest) while the graphs load.
struct OptimizedFile {
  std::string path;  // relative to the optimized directory
  uint64_t bytes = 0;
  std::string sha256;
  std::string crc32c;  // 8 hex digits; empty in a version-2 manifest
};

struct OptimizedGraph {
  // The bundle graph it was made from (relative to the bundle) and that file's recorded identity
  // (config.json `files`): a re-exported bundle never picks up a stale optimized graph.
  std::string source;
  uint64_t source_bytes = 0;
  std::string source_sha256;
  OptimizedFile graph;              // the optimized .onnx
  std::vector<OptimizedFile> data;  // its external data (initializers and pre-packed weights)
};

// The directory `cosyvoice optimize` writes: manifest.json plus one optimized graph (and its data) per
// bundle graph.
struct OptimizedGraphsManifest {
  static constexpr const char *kFileName = "manifest.json";
  // 2 since 2026-12-05. Directories of version 1 may hold MatMulNBits graphs with saved pre-packed
  // weights, which ONNX Runtime 1.30 reads back wrongly (NaN logits): they are not used. 3 adds each
  // file's CRC-32C, which loads check instead of the sha256 (version 2 is still read and used).
  static constexpr int kVersion = 3;
  static constexpr int kOldestUsable = 2;
  int version = kVersion;
  OptimizationTarget target;
  std::string created;                           // UTC ISO-8601, informational
  std::map<std::string, OptimizedGraph> graphs;  // by source path (relative to the bundle)

  // Throws Error(kBundle) naming DIR/manifest.json and the field.
  static OptimizedGraphsManifest Load(const std::filesystem::path &dir);
  // Writes DIR/manifest.json atomically.
  void Save(const std::filesystem::path &dir) const;
};

// How WriteOptimizedGraph stores weights.
struct OptimizedGraphWriteOptions {
  // Initializers of at least this many bytes go to the data file; smaller ones stay in the graph
  // (ONNX Runtime's shape inference cannot read external data: a Pad's pads, a Reshape's shape).
  // Tests lower it so that the tiny model's weights take the path the full-size ones take.
  int64_t external_min_bytes = 65536;
  // Store the kernels' pre-packed weights too, so that a later session maps them instead of packing
  // again. Off for graphs with MatMulNBits: ONNX Runtime 1.30 restores those wrongly (every logit NaN
  // on the first run; OptimizeBundle decides, docs/bundle.md §8).
  bool save_prepacked = true;
};

// Lets ONNX Runtime optimize the graph `source` as a session made with `config` would, and write the
// result to `out` with its large initializers (and, with save_prepacked, the pre-packed weights) in
// `out`.data (page-aligned, so later sessions memory-map it). Returns the files written (relative to
// out's directory). Throws Error(kBundle) when ONNX Runtime cannot load or save the graph.
std::vector<std::string> WriteOptimizedGraph(const std::filesystem::path &source,
                                             const std::filesystem::path &out, const RuntimeConfig &config,
                                             const OptimizedGraphWriteOptions &write = {});

// What the engine loads for each graph: filled by the Model when a matching optimized directory is
// there, consulted by the session factory. Immutable once the Model exists.
class OptimizedGraphs {
 public:
  OptimizedGraphs() = default;
  // Reads `dir`'s manifest and keeps the graphs made for `here` from the bundle files as recorded
  // (`bundle_files`: path -> {bytes, sha256}). Any mismatch - another target, another source graph,
  // a missing or truncated file - is one log line and the plain graphs; a malformed manifest is an
  // error (a damaged file must not pass silently).
  static OptimizedGraphs Open(const std::filesystem::path &dir, const OptimizationTarget &here,
                              const std::map<std::string, std::pair<uint64_t, std::string>> &bundle_files);
  // The optimized graph to load instead of the bundle graph `source` (relative path), if any.
  std::optional<std::filesystem::path> Find(const std::string &source) const;
  // Every file the chosen graphs need (for checksum verification).
  std::vector<std::pair<std::filesystem::path, OptimizedFile>> Files() const;
  // The files of the optimized graph made from `source` (empty when none was chosen).
  std::vector<std::pair<std::filesystem::path, OptimizedFile>> FilesFor(const std::string &source) const;
  bool empty() const { return chosen_.empty(); }
  const std::filesystem::path &dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::map<std::string, OptimizedGraph> chosen_;
};

}  // namespace cosyvoice
