// cosyvoice/runtime_config.h - how ONNX Runtime sessions are created (load-time settings).
#pragma once

#include <string>
#include <vector>

namespace cosyvoice {

enum class GraphOptimization { kDisabled, kBasic, kExtended, kAll };

// Load-time settings shared by every ONNX graph of a bundle. Per-request options live elsewhere.
struct RuntimeConfig {
  // Intra-op threads per session; 0 lets ONNX Runtime choose (one per physical core). More than the
  // CPUs available to the process are capped at that count, with a warning.
  int intra_op_threads = 0;
  // Inter-op threads; graphs here are sequential, so 1 is right unless a graph has parallel branches.
  int inter_op_threads = 1;
  // Execution providers in order of preference, e.g. {"cuda", "cpu"}. "cpu" is always appended
  // as the last resort; a provider that cannot be enabled is logged once and skipped.
  std::vector<std::string> providers = {"cpu"};
  // CUDA device for the "cuda" provider.
  int device_id = 0;
  GraphOptimization optimization = GraphOptimization::kAll;
  // When non-empty, ONNX Runtime writes a chrome-trace profile per session with this path prefix.
  std::string profile_prefix;
  // Where ONNX Runtime saves each optimized graph (debugging aid); empty: not saved.
  std::string optimized_model_dir;

  // Throws cosyvoice::Error (kInvalidArgument) naming the offending field.
  void Validate() const;
  std::string ToString() const;
};

// Parses "cpu", "cuda", "cuda,cpu" ... into RuntimeConfig::providers (lower-case names).
std::vector<std::string> ParseProviderList(const std::string &text);
GraphOptimization ParseGraphOptimization(const std::string &text);  // disabled|basic|extended|all

}  // namespace cosyvoice
