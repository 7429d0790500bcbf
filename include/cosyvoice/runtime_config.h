// cosyvoice/runtime_config.h - how ONNX Runtime sessions are created (load-time settings).
#pragma once

#include <string>
#include <vector>

namespace cosyvoice {

enum class GraphOptimization { kDisabled, kBasic, kExtended, kAll };

// Load-time settings shared by every ONNX graph of a bundle. Per-request options live elsewhere.
struct RuntimeConfig {
  // Threads of ONNX Runtime's intra-op pool; 0 lets ONNX Runtime choose (one per physical core).
  // Every graph of every Model in the process shares one pool, created by the first Model loaded;
  // a later config asking for another size gets the existing pool (and one warning in the log).
  int intra_op_threads = 0;
  // Inter-op threads (same sharing); graphs run sequentially, so 1 is right.
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
