// src/models/onnx_graph.cc
#include "models/onnx_graph.h"

#include <algorithm>
#include <set>

#include "common/log.h"
#include "common/timer.h"
#include "cosyvoice/error.h"
#include "models/session_factory.h"
#include "models/tensor.h"

namespace cosyvoice {
namespace {

std::vector<TensorSpec> ReadDeclared(Ort::Session &session, bool inputs, const std::string &file) {
  Ort::AllocatorWithDefaultOptions allocator;
  const size_t n = inputs ? session.GetInputCount() : session.GetOutputCount();
  std::vector<TensorSpec> out;
  for (size_t i = 0; i < n; ++i) {
    Ort::AllocatedStringPtr name =
        inputs ? session.GetInputNameAllocated(i, allocator) : session.GetOutputNameAllocated(i, allocator);
    // Keep the TypeInfo alive: the shape info below is a view into it.
    Ort::TypeInfo type_info = inputs ? session.GetInputTypeInfo(i) : session.GetOutputTypeInfo(i);
    if (type_info.GetONNXType() != ONNX_TYPE_TENSOR) {
      throw Error(ErrorCode::kBundle,
                  file + ": " + (inputs ? "input" : "output") + " '" + name.get() + "' is not a tensor");
    }
    auto tensor_info = type_info.GetTensorTypeAndShapeInfo();
    TensorSpec t;
    t.name = name.get();
    try {
      t.dtype = FromOrtType(tensor_info.GetElementType());
    } catch (const Error &e) {
      throw Error(ErrorCode::kBundle, file + ": tensor '" + t.name + "': " + e.what());
    }
    t.dims = tensor_info.GetShape();
    out.push_back(std::move(t));
  }
  return out;
}

void CheckAgainst(std::vector<TensorSpec> &expected, const std::vector<TensorSpec> &declared,
                  const char *kind, const std::string &file, bool by_position) {
  if (by_position) {
    if (expected.size() != declared.size()) {
      throw Error(ErrorCode::kBundle, file + ": has " + std::to_string(declared.size()) + " " + kind +
                                          "s, expected " + std::to_string(expected.size()));
    }
    for (size_t i = 0; i < expected.size(); ++i) expected[i].name = declared[i].name;
  }
  std::set<std::string> expected_names;
  for (const auto &e : expected) expected_names.insert(e.name);
  for (const auto &d : declared) {
    if (!expected_names.count(d.name)) {
      std::string list;
      for (const auto &e : expected) list += (list.empty() ? "" : ", ") + e.name;
      throw Error(ErrorCode::kBundle, file + ": unexpected " + kind + " '" + d.name +
                                          "' (expected exactly: " + list +
                                          "); was this graph exported for another bundle format?");
    }
  }
  for (const auto &e : expected) {
    const TensorSpec *d = nullptr;
    for (const auto &x : declared)
      if (x.name == e.name) d = &x;
    if (d == nullptr) throw Error(ErrorCode::kBundle, file + ": missing " + kind + " '" + e.name + "'");
    const std::string what = file + ": " + kind + " '" + e.name + "'";
    const bool type_ok = d->dtype == e.dtype || std::find(e.also_accepted.begin(), e.also_accepted.end(),
                                                          d->dtype) != e.also_accepted.end();
    if (!type_ok) {
      throw Error(ErrorCode::kBundle,
                  what + " has element type " + DTypeName(d->dtype) + ", expected " + DTypeName(e.dtype));
    }
    if (d->dims.size() != e.dims.size()) {
      throw Error(ErrorCode::kBundle, what + " has rank " + std::to_string(d->dims.size()) + " " +
                                          ShapeToString(d->dims) + ", expected rank " +
                                          std::to_string(e.dims.size()) + " " + ShapeToString(e.dims));
    }
    for (size_t k = 0; k < e.dims.size(); ++k) {
      if (e.dims[k] >= 0 && d->dims[k] >= 0 && d->dims[k] != e.dims[k]) {
        throw Error(ErrorCode::kBundle, what + " has shape " + ShapeToString(d->dims) + ", expected " +
                                            ShapeToString(e.dims) + " (dimension " + std::to_string(k) +
                                            " differs: the graph does not match this bundle's config)");
      }
    }
  }
}

std::map<std::string, std::string> ReadMetadata(Ort::Session &session) {
  std::map<std::string, std::string> out;
  Ort::AllocatorWithDefaultOptions allocator;
  Ort::ModelMetadata meta = session.GetModelMetadata();
  for (const auto &key : meta.GetCustomMetadataMapKeysAllocated(allocator)) {
    auto value = meta.LookupCustomMetadataMapAllocated(key.get(), allocator);
    if (value) out[key.get()] = value.get();
  }
  return out;
}

// The optimized form of `path` (RuntimeConfig::graph_overrides), when there is one and ONNX Runtime
// loads it; nullptr otherwise (reported once, then the bundle graph is loaded).
std::unique_ptr<Ort::Session> OpenOptimized(const std::filesystem::path &path, const RuntimeConfig &config,
                                            std::vector<std::string> *providers) {
  auto it = config.graph_overrides.find(path.string());
  if (it == config.graph_overrides.end()) return nullptr;
  SessionOptionsResult opts = CreateSessionOptions(config, path.stem().string());
  // Already optimized and pre-packed for this target: the weights come memory-mapped from its data file.
  *providers = opts.providers;
  const auto t0 = SteadyClock::now();
  try {
    auto session = NewSession(it->second, opts.options);
    COSY_LOG(kDebug) << "session for " << path.filename().string() << " from " << it->second << " in "
                     << SecondsSince(t0) << " s";
    return session;
  } catch (const Ort::Exception &e) {
    COSY_LOG(kWarning) << it->second << ": ONNX Runtime cannot load this optimized graph ("
                       << std::string(e.what()).substr(0, std::string(e.what()).find('\n'))
                       << "); loading the plain graph " << path.string();
    return nullptr;
  }
}

std::unique_ptr<Ort::Session> OpenSession(const std::filesystem::path &path, const RuntimeConfig &config,
                                          std::vector<std::string> *providers, bool *optimized = nullptr) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(ErrorCode::kBundle, path.string() + ": graph file not found");
  }
  if (auto session = OpenOptimized(path, config, providers)) {
    if (optimized != nullptr) *optimized = true;
    return session;
  }
  SessionOptionsResult opts = CreateSessionOptions(config, path.stem().string());
  *providers = opts.providers;
  try {
    const auto t0 = SteadyClock::now();
    auto session = NewSession(path, opts.options);
    COSY_LOG(kDebug) << "session for " << path.filename().string() << " in " << SecondsSince(t0) << " s";
    return session;
  } catch (const Ort::Exception &e) {
    if (opts.providers.size() == 1) {
      throw Error(ErrorCode::kBundle, path.string() + ": ONNX Runtime cannot load this graph: " + e.what());
    }
    // A provider can append fine and still fail when the session starts (WebGPU without an
    // adapter, a CUDA driver too old): report it once and load the graph on the CPU.
    LogProviderFallbackOnce(opts.providers.front(), e.what());
  }
  RuntimeConfig cpu_only = config;
  cpu_only.providers = {"cpu"};
  cpu_only.graph_overrides.clear();  // optimized for the provider that failed, not for the CPU
  return OpenSession(path, cpu_only, providers);
}

}  // namespace

GraphDescription DescribeGraph(const std::filesystem::path &path, const RuntimeConfig &config) {
  std::vector<std::string> providers;
  auto session = OpenSession(path, config, &providers);
  GraphDescription d;
  d.inputs = ReadDeclared(*session, true, path.string());
  d.outputs = ReadDeclared(*session, false, path.string());
  d.metadata = ReadMetadata(*session);
  return d;
}

OnnxGraph::OnnxGraph(const std::filesystem::path &path, GraphSignature signature, const RuntimeConfig &config)
    : OnnxGraph(
          path, [&signature](const std::map<std::string, std::string> &) { return std::move(signature); },
          config) {}

OnnxGraph::OnnxGraph(const std::filesystem::path &path, const SignatureChooser &choose,
                     const RuntimeConfig &config)
    : path_(path) {
  const std::string file = path_.string();
  session_ = OpenSession(path_, config, &providers_, &optimized_);
  metadata_ = ReadMetadata(*session_);
  signature_ = choose(metadata_);

  const auto inputs = ReadDeclared(*session_, true, file);
  const auto outputs = ReadDeclared(*session_, false, file);
  CheckAgainst(signature_.inputs, inputs, "input", file, signature_.by_position);
  CheckAgainst(signature_.outputs, outputs, "output", file, signature_.by_position);
  for (const auto *list : {&inputs, &outputs}) {
    for (const auto &t : *list) {
      declared_shapes_[t.name] = t.dims;
      declared_types_[t.name] = t.dtype;
    }
  }
  for (const auto &s : signature_.inputs) input_names_.push_back(s.name.c_str());
  for (const auto &s : signature_.outputs) output_names_.push_back(s.name.c_str());

  COSY_LOG(kDebug) << "loaded " << path_.filename().string() << " (" << inputs.size() << " inputs, "
                   << outputs.size() << " outputs, provider " << providers_.front() << ")";
}

OnnxGraph::~OnnxGraph() = default;

std::optional<std::string> OnnxGraph::Metadata(const std::string &key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return std::nullopt;
  return it->second;
}

std::vector<int64_t> OnnxGraph::DeclaredShape(const std::string &name) const {
  auto it = declared_shapes_.find(name);
  if (it == declared_shapes_.end()) {
    throw Error(ErrorCode::kInvalidArgument, path_.string() + ": no tensor named '" + name + "'");
  }
  return it->second;
}

DType OnnxGraph::DeclaredType(const std::string &name) const {
  auto it = declared_types_.find(name);
  if (it == declared_types_.end()) {
    throw Error(ErrorCode::kInvalidArgument, path_.string() + ": no tensor named '" + name + "'");
  }
  return it->second;
}

std::vector<Ort::Value> OnnxGraph::Run(const std::vector<Ort::Value> &inputs) const {
  if (inputs.size() != input_names_.size()) {
    throw Error(ErrorCode::kRuntime, path_.string() + ": " + std::to_string(inputs.size()) +
                                         " inputs given, the graph takes " +
                                         std::to_string(input_names_.size()));
  }
  try {
    return session_->Run(Ort::RunOptions{nullptr}, input_names_.data(), inputs.data(), inputs.size(),
                         output_names_.data(), output_names_.size());
  } catch (const Ort::Exception &e) {
    throw Error(ErrorCode::kRuntime, path_.string() + ": run failed: " + e.what());
  }
}

void OnnxGraph::Run(Ort::IoBinding &binding) const {
  try {
    session_->Run(Ort::RunOptions{nullptr}, binding);
  } catch (const Ort::Exception &e) {
    throw Error(ErrorCode::kRuntime, path_.string() + ": run failed: " + e.what());
  }
}

}  // namespace cosyvoice
