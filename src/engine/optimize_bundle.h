// src/engine/optimize_bundle.h - `cosyvoice optimize`: a bundle's graphs optimized once for this machine.
#pragma once

#include <filesystem>

#include "cosyvoice/runtime_config.h"
#include "models/optimized_graphs.h"

namespace cosyvoice {

struct OptimizeBundleOptions {
  std::filesystem::path bundle_dir;
  std::filesystem::path out_dir;  // empty: BUNDLE/optimized
  RuntimeConfig runtime;          // optimization level and provider the graphs are made for
  bool force = false;             // replace an existing out_dir
  // "all": every graph (base and variants); else a --precision request ("fp32", "llm=int4,flow=int8",
  // "auto"): only the graphs a load with it reads (a bundle with variants holds several GB more).
  std::string precision = "all";
  // Initializers from this size on go to the data files (OptimizedGraphWriteOptions); tests lower it.
  int64_t external_min_bytes = 65536;
};

// Writes every graph of the bundle (base and variants, or those options.precision reads) optimized and
// pre-packed by ONNX Runtime for this process's target (OptimizationTarget::Current), and the manifest that
// records it, into out_dir (docs/bundle.md §8). Everything is written into a temporary directory beside
// out_dir and renamed into place at the end: a failure or an interrupt leaves no partial directory and the
// previous one intact. Throws Error(kInvalidArgument) when out_dir exists (without force) or the
// provider is not the CPU, Error(kBundle)/Error(kIo) otherwise. Returns the manifest written.
OptimizedGraphsManifest OptimizeBundle(const OptimizeBundleOptions &options);

}  // namespace cosyvoice
