// src/models/providers.cc
#include "models/providers.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>

#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

using Kind = ProviderOptionSpec::Kind;

ProviderOptionSpec Enum(std::string key, std::vector<std::string> values, std::string help) {
  return {std::move(key), Kind::kEnum, std::move(values), std::move(help)};
}
ProviderOptionSpec Unsigned(std::string key, std::string help) {
  return {std::move(key), Kind::kUnsigned, {}, std::move(help)};
}
ProviderOptionSpec Bool(std::string key, std::string help) {
  return {std::move(key), Kind::kBool, {"0", "1"}, std::move(help)};
}
ProviderOptionSpec Text(std::string key, std::string help) {
  return {std::move(key), Kind::kText, {}, std::move(help)};
}

// Option names are ONNX Runtime's (onnxruntime.ai/docs/execution-providers/<name>-ExecutionProvider.html);
// WebGPU's are the short forms of onnxruntime/core/providers/webgpu/webgpu_provider_options.h
// (https://github.com/microsoft/onnxruntime/blob/main/onnxruntime/core/providers/webgpu/webgpu_provider_options.h).
std::vector<ProviderSpec> BuildTable() {
  std::vector<ProviderSpec> t;
  t.push_back({"cpu", "CPUExecutionProvider", "every ONNX Runtime build", "any CPU", {}});
  t.push_back({"webgpu",
               "WebGpuExecutionProvider",
               "built into the npm onnxruntime-node package (1.22+) and WebGPU-enabled builds",
               "any GPU through Dawn: Vulkan (Linux, Android), Metal (macOS, iOS), D3D12 (Windows)",
               {Unsigned("deviceId", "WebGPU context id (0: the default adapter)"),
                Enum("preferredLayout", {"NCHW", "NHWC"}, "tensor layout of convolutions on the GPU"),
                Bool("enableGraphCapture", "capture and replay the command buffers (static shapes only)"),
                Enum("validationMode", {"disabled", "wgpuOnly", "basic", "full"}, "WebGPU validation level"),
                Enum("storageBufferCacheMode", {"disabled", "lazyRelease", "simple", "bucket"},
                     "how freed GPU buffers are reused"),
                Enum("dawnBackendType", {"Vulkan", "D3D12"}, "Dawn backend (Metal is implied on Apple)"),
                Text("forceCpuNodeNames", "newline-separated node names to keep on the CPU")}});
  t.push_back(
      {"cuda",
       "CUDAExecutionProvider",
       "onnxruntime-gpu releases (Linux, Windows; CUDA 12 + cuDNN 9). The npm package lists it but "
       "its provider library is fetched at install time and is absent here",
       "NVIDIA GPUs",
       {Unsigned("device_id", "GPU index (default: RuntimeConfig::device_id)"),
        Unsigned("gpu_mem_limit", "bytes the arena may use"),
        Enum("arena_extend_strategy", {"kNextPowerOfTwo", "kSameAsRequested"}, "arena growth"),
        Enum("cudnn_conv_algo_search", {"EXHAUSTIVE", "HEURISTIC", "DEFAULT"}, "cuDNN algorithm search"),
        Bool("do_copy_in_default_stream", "copies on the compute stream"),
        Bool("enable_cuda_graph", "capture CUDA graphs (static shapes only)"),
        Bool("use_tf32", "TF32 matrix products on Ampere and newer"),
        Bool("prefer_nhwc", "NHWC convolutions")}});
  t.push_back({"tensorrt",
               "TensorrtExecutionProvider",
               "onnxruntime-gpu releases plus TensorRT 10 libraries",
               "NVIDIA GPUs (engines built per GPU and shape range)",
               {Unsigned("device_id", "GPU index (default: RuntimeConfig::device_id)"),
                Unsigned("trt_max_workspace_size", "bytes"), Bool("trt_fp16_enable", "allow fp16 kernels"),
                Bool("trt_engine_cache_enable", "keep built engines on disk"),
                Text("trt_engine_cache_path", "directory for the engine cache"),
                Bool("trt_timing_cache_enable", "keep tactic timings on disk"),
                Unsigned("trt_builder_optimization_level", "0..5"),
                Bool("trt_cuda_graph_enable", "capture CUDA graphs")}});
  t.push_back({"coreml",
               "CoreMLExecutionProvider",
               "the official macOS and iOS packages (onnxruntime-osx-*, CocoaPods onnxruntime-c)",
               "Apple GPU and Neural Engine",
               {Enum("ModelFormat", {"MLProgram", "NeuralNetwork"}, "Core ML model type"),
                Enum("MLComputeUnits", {"CPUOnly", "CPUAndNeuralEngine", "CPUAndGPU", "ALL"},
                     "devices Core ML may use"),
                Bool("RequireStaticInputShapes", "only take nodes with static shapes"),
                Bool("EnableOnSubgraphs", "also take nodes inside control flow"),
                Text("ModelCacheDirectory", "where compiled Core ML models are kept")}});
  t.push_back(
      {"directml",
       "DmlExecutionProvider",
       "onnxruntime-directml (Windows; NuGet Microsoft.ML.OnnxRuntime.DirectML)",
       "any Direct3D 12 GPU or NPU on Windows",
       {Unsigned("device_id", "adapter index (default: RuntimeConfig::device_id)"),
        Enum("performance_preference", {"default", "high_performance", "minimal_power"}, "adapter choice"),
        Enum("device_filter", {"gpu", "npu", "any"}, "adapter kinds considered")}});
  t.push_back({"nnapi",
               "NnapiExecutionProvider",
               "onnxruntime-android (Maven com.microsoft.onnxruntime:onnxruntime-android)",
               "Android NPUs, DSPs and GPUs through NNAPI (deprecated by Android 15)",
               {Bool("use_fp16", "relax fp32 to fp16"), Bool("use_nchw", "NCHW layout"),
                Bool("cpu_disabled", "never use NNAPI's CPU reference device"),
                Bool("cpu_only", "only NNAPI's CPU device (debugging)")}});
  t.push_back({"xnnpack",
               "XnnpackExecutionProvider",
               "onnxruntime-android, the iOS packages and builds with --use_xnnpack",
               "ARM and x86 CPUs (phones, boards)",
               {Unsigned("intra_op_num_threads", "XNNPACK's own threads (0: the session's)")}});
  t.push_back({"openvino",
               "OpenVINOExecutionProvider",
               "Intel's onnxruntime-openvino packages (pip, NuGet) with OpenVINO 2025",
               "Intel CPUs, iGPUs and NPUs",
               {Text("device_type", "CPU, GPU, NPU, AUTO:GPU,CPU, HETERO:..."),
                Enum("precision", {"FP32", "FP16", "ACCURACY"}, "inference precision"),
                Unsigned("num_of_threads", "CPU threads"), Unsigned("num_streams", "parallel streams"),
                Text("cache_dir", "where compiled blobs are kept")}});
  return t;
}

bool IsUnsigned(const std::string &v) {
  return !v.empty() && v.size() <= 19 &&
         std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Join(const std::vector<std::string> &items) {
  std::string out;
  for (const auto &s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::pair<std::vector<const char *>, std::vector<const char *>> KeysAndValues(
    const std::map<std::string, std::string> &options) {
  std::vector<const char *> keys, values;
  for (const auto &[k, v] : options) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  return {keys, values};
}

std::map<std::string, std::string> WithDeviceId(std::map<std::string, std::string> options, const char *key,
                                                int device_id) {
  options.emplace(key, std::to_string(device_id));  // keeps an explicit option
  return options;
}

void AppendCuda(Ort::SessionOptions &so, const std::map<std::string, std::string> &options) {
  const OrtApi &api = Ort::GetApi();
  OrtCUDAProviderOptionsV2 *cuda = nullptr;
  Ort::ThrowOnError(api.CreateCUDAProviderOptions(&cuda));
  std::unique_ptr<OrtCUDAProviderOptionsV2, decltype(api.ReleaseCUDAProviderOptions)> owner(
      cuda, api.ReleaseCUDAProviderOptions);
  auto [keys, values] = KeysAndValues(options);
  Ort::ThrowOnError(api.UpdateCUDAProviderOptions(cuda, keys.data(), values.data(), keys.size()));
  so.AppendExecutionProvider_CUDA_V2(*cuda);
}

void AppendTensorRt(Ort::SessionOptions &so, const std::map<std::string, std::string> &options) {
  const OrtApi &api = Ort::GetApi();
  OrtTensorRTProviderOptionsV2 *trt = nullptr;
  Ort::ThrowOnError(api.CreateTensorRTProviderOptions(&trt));
  std::unique_ptr<OrtTensorRTProviderOptionsV2, decltype(api.ReleaseTensorRTProviderOptions)> owner(
      trt, api.ReleaseTensorRTProviderOptions);
  auto [keys, values] = KeysAndValues(options);
  Ort::ThrowOnError(api.UpdateTensorRTProviderOptions(trt, keys.data(), values.data(), keys.size()));
  so.AppendExecutionProvider_TensorRT_V2(*trt);
}

// NNAPI has only a dedicated entry point, declared in nnapi_provider_factory.h of the Android
// package; looked up at run time so that this file builds against any ONNX Runtime.
void AppendNnapi(Ort::SessionOptions &so, const std::map<std::string, std::string> &options) {
  using AppendFn = OrtStatus *(*)(OrtSessionOptions *, uint32_t);
  auto fn = reinterpret_cast<AppendFn>(dlsym(RTLD_DEFAULT, "OrtSessionOptionsAppendExecutionProvider_Nnapi"));
  if (fn == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "nnapi: this ONNX Runtime library has no NNAPI entry point");
  }
  // Flag values of nnapi_provider_factory.h (NNAPI_FLAG_USE_FP16 = 0x001 ... NNAPI_FLAG_CPU_ONLY = 0x008).
  const std::pair<const char *, uint32_t> flags[] = {
      {"use_fp16", 0x001}, {"use_nchw", 0x002}, {"cpu_disabled", 0x004}, {"cpu_only", 0x008}};
  uint32_t bits = 0;
  for (const auto &[key, bit] : flags) {
    auto it = options.find(key);
    if (it != options.end() && it->second == "1") bits |= bit;
  }
  Ort::ThrowOnError(fn(so, bits));
}

void AppendByName(Ort::SessionOptions &so, const char *ort_registration_name,
                  const std::map<std::string, std::string> &options) {
  so.AppendExecutionProvider(ort_registration_name,
                             std::unordered_map<std::string, std::string>(options.begin(), options.end()));
}

}  // namespace

const std::vector<ProviderSpec> &KnownProviders() {
  static const std::vector<ProviderSpec> table = BuildTable();
  return table;
}

const ProviderSpec *FindProvider(const std::string &name) {
  for (const auto &p : KnownProviders()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

void ValidateProviderOptions(const std::string &provider, const std::map<std::string, std::string> &options) {
  const ProviderSpec *spec = FindProvider(provider);
  auto fail = [&](const std::string &msg) {
    throw Error(ErrorCode::kInvalidArgument, "provider option " + provider + "." + msg);
  };
  if (spec == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "provider options for unknown provider '" + provider + "'");
  }
  for (const auto &[key, value] : options) {
    auto it = std::find_if(spec->options.begin(), spec->options.end(),
                           [&](const ProviderOptionSpec &o) { return o.key == key; });
    if (it == spec->options.end()) {
      std::vector<std::string> keys;
      for (const auto &o : spec->options) keys.push_back(o.key);
      fail(key + ": unknown option (" + provider + " accepts: " + (keys.empty() ? "none" : Join(keys)) + ")");
    }
    switch (it->kind) {
      case Kind::kEnum:
      case Kind::kBool:
        if (std::find(it->values.begin(), it->values.end(), value) == it->values.end())
          fail(key + ": expected one of " + Join(it->values) + ", got '" + value + "'");
        break;
      case Kind::kUnsigned:
        if (!IsUnsigned(value)) fail(key + ": expected a non-negative integer, got '" + value + "'");
        break;
      case Kind::kText:
        // forceCpuNodeNames can list hundreds of node names.
        if (value.empty() || value.size() > (1u << 20)) fail(key + ": expected 1 character to 1 MiB");
        break;
    }
  }
}

void AppendProvider(Ort::SessionOptions &so, const std::string &name,
                    const std::map<std::string, std::string> &options, int device_id) {
  if (name == "cuda") return AppendCuda(so, WithDeviceId(options, "device_id", device_id));
  if (name == "tensorrt") return AppendTensorRt(so, WithDeviceId(options, "device_id", device_id));
  if (name == "webgpu") return AppendByName(so, "WebGPU", options);
  if (name == "coreml") return AppendByName(so, "CoreML", options);
  if (name == "directml") return AppendByName(so, "DML", WithDeviceId(options, "device_id", device_id));
  if (name == "xnnpack") return AppendByName(so, "XNNPACK", options);
  if (name == "openvino") {
    so.AppendExecutionProvider_OpenVINO_V2(
        std::unordered_map<std::string, std::string>(options.begin(), options.end()));
    return;
  }
  if (name == "nnapi") return AppendNnapi(so, options);
  throw Error(ErrorCode::kInvalidArgument, "provider '" + name + "' cannot be appended");
}

}  // namespace cosyvoice
