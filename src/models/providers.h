// src/models/providers.h - the execution providers cosyvoice knows by name, their options, and how
// each is appended to ONNX Runtime session options. No pipeline logic; no session creation.
#pragma once

#include <onnxruntime_cxx_api.h>  // NOLINT

#include <map>
#include <string>
#include <vector>

namespace cosyvoice {

// One option a provider accepts. Keys are ONNX Runtime's own names for that provider, so its
// documentation applies unchanged (docs/gpu.md lists them).
struct ProviderOptionSpec {
  enum class Kind { kEnum, kUnsigned, kBool, kText };
  std::string key;
  Kind kind = Kind::kText;
  std::vector<std::string> values;  // kEnum: the accepted values
  std::string help;
};

struct ProviderSpec {
  std::string name;      // cosyvoice's name, lower-case: "webgpu"
  std::string ort_name;  // as Ort::GetAvailableProviders() spells it: "WebGpuExecutionProvider"
  std::string package;   // which ONNX Runtime release brings it
  std::string devices;   // what it runs on
  std::vector<ProviderOptionSpec> options;
};

// Every provider cosyvoice can name, "cpu" included, in a fixed order.
const std::vector<ProviderSpec> &KnownProviders();
// nullptr when `name` is not a known provider.
const ProviderSpec *FindProvider(const std::string &name);

// Throws Error(kInvalidArgument) naming the provider, key and the expected values.
void ValidateProviderOptions(const std::string &provider, const std::map<std::string, std::string> &options);

// Appends provider `name` (not "cpu") with its options. `device_id` is used where the provider has
// a device index and the options do not set one. Throws Ort::Exception when ONNX Runtime refuses
// (e.g. its provider library is missing) and Error when the provider needs a platform API this
// library was not built with.
void AppendProvider(Ort::SessionOptions &options, const std::string &name,
                    const std::map<std::string, std::string> &provider_options, int device_id);

}  // namespace cosyvoice
