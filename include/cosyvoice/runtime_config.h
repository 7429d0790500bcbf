// cosyvoice/runtime_config.h - how ONNX Runtime sessions are created (load-time settings).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace cosyvoice {

enum class GraphOptimization { kDisabled, kBasic, kExtended, kAll };

// Load-time settings shared by every ONNX graph of a bundle. Per-request options live elsewhere.
struct RuntimeConfig {
  // Threads of ONNX Runtime's intra-op pool; 0 lets ONNX Runtime choose (one per physical core).
  // Every graph of every Model in the process shares one pool, created by the first Model loaded;
  // a later config asking for another size gets the existing pool (and one warning in the log).
  // More than the CPUs available to the process are capped at that count, with a warning.
  int intra_op_threads = 0;
  // Inter-op threads (same sharing); graphs run sequentially, so 1 is right.
  int inter_op_threads = 1;
  // Execution providers in order of preference, e.g. {"webgpu", "cpu"}. Known names: cpu, webgpu,
  // cuda, tensorrt, coreml, directml, nnapi, xnnpack, openvino (docs/gpu.md says which ONNX Runtime
  // package brings which). "cpu" is always appended as the last resort; a provider that cannot be
  // enabled - not in this build, its library missing, no GPU adapter - is reported once, in one
  // line, and the graphs run on the next provider.
  std::vector<std::string> providers = {"cpu"};
  // Per-provider options with ONNX Runtime's own keys, e.g. {"webgpu", {{"preferredLayout", "NHWC"}}}.
  // Validate() checks keys and values against the table in docs/gpu.md.
  std::map<std::string, std::map<std::string, std::string>> provider_options;
  // ONNX Runtime 1.30's WebGPU provider computes the HiFT vocoder's generator wrongly (spectrum off
  // by up to 50 %, measured on an NVIDIA H200: docs/gpu.md), while the LLM and the flow match the CPU
  // within the float32 bounds. So under "webgpu" the vocoder graphs run on the next provider unless
  // this is set (to check a newer ONNX Runtime).
  bool vocoder_on_webgpu = false;
  // Device index for providers that have one (cuda, tensorrt, directml) unless their options set it.
  int device_id = 0;
  GraphOptimization optimization = GraphOptimization::kAll;
  // Memory (docs/memory.md). Every graph of every Model in the process that sets this allocates
  // its CPU tensors from one shared ONNX Runtime arena instead of an arena of its own. An arena
  // never gives memory back, so with one per graph the process keeps the sum of every graph's
  // largest-ever working set; with one shared arena, the largest that was live at once. Measured
  // on a 90 kB text (tiny model): peak RSS 224-229 MB with per-graph arenas, 188 MB shared, 173 MB
  // shared with memory_pattern off (below); CPU time within run-to-run noise.
  bool shared_cpu_arena = true;
  // ONNX Runtime's memory patterns: per distinct set of input shapes, one planned block for all
  // intermediate tensors, kept for later runs of the same shapes. Our graphs see new shapes on
  // almost every run (each text segment, each decoding step), so the patterns are rarely reused
  // and their blocks add to the arena's high-water mark. Off by default (CPU time on the tiny
  // model within run-to-run noise; the full-size model not measured yet: docs/memory.md).
  bool memory_pattern = false;
  // When non-empty, ONNX Runtime writes a chrome-trace profile per session with this path prefix.
  std::string profile_prefix;
  // Where ONNX Runtime saves each optimized graph (debugging aid); empty: not saved.
  std::string optimized_model_dir;
  // Graphs to load instead of bundle graphs: absolute path of the bundle graph -> its optimized form
  // made for this machine by `cosyvoice optimize` (docs/bundle.md §8). The engine fills it from
  // ModelConfig::optimized_dir after checking the optimized directory's manifest; a graph that ONNX
  // Runtime then cannot load is reported in one line and the bundle graph is loaded instead.
  std::map<std::string, std::string> graph_overrides;

  // Throws cosyvoice::Error (kInvalidArgument) naming the offending field.
  void Validate() const;
  std::string ToString() const;
};

// Parses "cpu", "cuda", "cuda,cpu" ... into RuntimeConfig::providers (lower-case names).
std::vector<std::string> ParseProviderList(const std::string &text);
// Parses "provider.key=value" (e.g. "webgpu.preferredLayout=NHWC") into `config.provider_options`;
// throws Error(kInvalidArgument) when the text has another shape. Keys are checked by Validate().
void AddProviderOption(RuntimeConfig &config, const std::string &text);
GraphOptimization ParseGraphOptimization(const std::string &text);  // disabled|basic|extended|all

}  // namespace cosyvoice
