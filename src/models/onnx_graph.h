// src/models/onnx_graph.h - typed base for the per-graph wrappers.
#pragma once

#include <onnxruntime_cxx_api.h>  // NOLINT

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/npy.h"
#include "cosyvoice/runtime_config.h"

namespace cosyvoice {

// What a wrapper expects of one graph input or output. dims: -1 accepts any size (symbolic or
// fixed); a value >= 0 must match a fixed dimension of the graph (a symbolic one is accepted).
struct TensorSpec {
  TensorSpec() = default;
  TensorSpec(std::string n, DType t, std::vector<int64_t> d, std::vector<DType> also = {})
      : name(std::move(n)), dtype(t), dims(std::move(d)), also_accepted(std::move(also)) {}
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> dims;         // rank = dims.size()
  std::vector<DType> also_accepted;  // other element types the wrapper handles
};

struct GraphSignature {
  GraphSignature() = default;
  GraphSignature(std::vector<TensorSpec> in, std::vector<TensorSpec> out, bool positional = false)
      : inputs(std::move(in)), outputs(std::move(out)), by_position(positional) {}
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  // Match tensors by position instead of name (graphs we do not produce ourselves, such as the
  // release's speech tokenizer, which upstream also calls positionally). The names are then
  // replaced by the graph's own.
  bool by_position = false;
};

// What a graph file declares (symbolic dimensions as -1).
struct GraphDescription {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::map<std::string, std::string> metadata;
};
// Loads a graph only to describe it (used by `cosyvoice inspect`). Throws Error(kBundle).
GraphDescription DescribeGraph(const std::filesystem::path &path, const RuntimeConfig &config);

// Owns one Ort::Session. At construction it reads the graph's inputs and outputs once and checks
// them against the wrapper's signature: the same names (no missing, no extra), element types,
// ranks and fixed dimensions. Any mismatch throws Error(kBundle) naming the file, the tensor and
// what was expected - a bundle exported for another model or format fails here, not mid-run.
// Derived classes add typed Run methods; no pipeline logic lives in wrappers.
//
// Thread safety: a graph is immutable after construction and its const methods may be called from
// any number of threads at once (Ort::Session::Run is thread-safe). What a run needs that cannot be
// shared - an Ort::IoBinding, output buffers - belongs to the caller (e.g. LlmGraph::RunState).
class OnnxGraph {
 public:
  OnnxGraph(const std::filesystem::path &path, GraphSignature signature, const RuntimeConfig &config);
  // For a wrapper that serves several interfaces: the signature is chosen from the graph's
  // metadata (e.g. cosyvoice.graph) once the session exists, then checked as above.
  using SignatureChooser = std::function<GraphSignature(const std::map<std::string, std::string> &metadata)>;
  OnnxGraph(const std::filesystem::path &path, const SignatureChooser &choose, const RuntimeConfig &config);
  virtual ~OnnxGraph();
  OnnxGraph(const OnnxGraph &) = delete;
  OnnxGraph &operator=(const OnnxGraph &) = delete;

  const std::filesystem::path &path() const { return path_; }
  const GraphSignature &signature() const { return signature_; }
  // The element type the graph declares for a tensor (useful with TensorSpec::also_accepted).
  DType DeclaredType(const std::string &name) const;
  // Execution providers the session was created with, e.g. {"cpu"}.
  const std::vector<std::string> &providers() const { return providers_; }
  // True when the session came from the optimized form in RuntimeConfig::graph_overrides.
  bool optimized() const { return optimized_; }
  // Custom metadata written by the exporter (ONNX metadata_props).
  std::optional<std::string> Metadata(const std::string &key) const;
  // The graph's declared shape of an input/output (symbolic dims as -1), for diagnostics.
  std::vector<int64_t> DeclaredShape(const std::string &name) const;

  // The session, e.g. to create a per-caller Ort::IoBinding. Running it is thread-safe.
  Ort::Session &session() const { return *session_; }
  const char *const *input_names() const { return input_names_.data(); }
  const char *const *output_names() const { return output_names_.data(); }

 protected:
  // Runs the graph with inputs in signature order; returns every output in signature order.
  // ONNX Runtime failures become Error(kRuntime) naming the graph file.
  std::vector<Ort::Value> Run(const std::vector<Ort::Value> &inputs) const;
  // Runs with pre-bound inputs/outputs (zero-copy paths such as the KV cache). The binding is the
  // caller's: one per thread.
  void Run(Ort::IoBinding &binding) const;

 private:
  std::filesystem::path path_;
  GraphSignature signature_;
  std::unique_ptr<Ort::Session> session_;
  std::vector<std::string> providers_;
  bool optimized_ = false;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, std::vector<int64_t>> declared_shapes_;
  std::map<std::string, DType> declared_types_;
  std::vector<const char *> input_names_;   // point into signature_
  std::vector<const char *> output_names_;  // point into signature_
};

}  // namespace cosyvoice
