// src/models/session_factory.h - the one place that turns a RuntimeConfig into session options.
#pragma once

#include <onnxruntime_cxx_api.h>  // NOLINT

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cosyvoice/runtime_config.h"

namespace cosyvoice {

struct SessionOptionsResult {
  Ort::SessionOptions options;
  // Providers actually enabled, in priority order; always ends with "cpu".
  std::vector<std::string> providers;
};

// Builds session options: graph optimization level, profiling, execution providers. Sessions use
// the process-wide thread pools of models/ort_env.h (sized by the first config that creates them).
// A requested provider that this ONNX Runtime build cannot enable is skipped with a single log
// line ("provider 'cuda' unavailable (...); using cpu") - the session still gets created on CPU.
// `graph_name` labels the profile file and the optimized-model dump.
SessionOptionsResult CreateSessionOptions(const RuntimeConfig &config, const std::string &graph_name);

// A session on `model` with `options` (from CreateSessionOptions). The first sessions of a process
// are created one at a time: ONNX Runtime adds the custom operator domain that every session here
// registers (kernels/custom_ops.h) to ONNX's process-wide domain map on the domain's first session,
// with an unguarded check-then-add (CreateCustomRegistry in onnxruntime/core/session/custom_ops.cc),
// so of two such first sessions created at once one failed ("the domain is already exist"). Once a
// session exists the domain is in the map, which then is only read, and sessions are created
// concurrently. Throws Ort::Exception as Ort::Session does.
std::unique_ptr<Ort::Session> NewSession(const std::filesystem::path &model,
                                         const Ort::SessionOptions &options);

// Logical CPUs this process may run on (its affinity mask, so taskset and cpusets count; >= 1).
int HardwareThreadCount();
// `requested` capped at HardwareThreadCount(); 0 (ONNX Runtime's own choice) stays 0. A cap is
// logged once per process and field: more threads than CPUs only make ONNX Runtime's spinning
// workers fight over the cores (64 threads on 2 cores ran 18x slower, 1000 seemed to hang).
int CapThreadCount(int requested, const char *field);
// Reports once per process that `provider` cannot be used: the summary of `reason` below, with the
// whole reason at debug level.
void LogProviderFallbackOnce(const std::string &provider, const std::string &reason);

// What a user needs from an ONNX Runtime error: its first line without the source location, the
// C++ signature and the status prefix ONNX Runtime puts in front of the message
// ("/onnxruntime_src/...cc:136 Sig(...) cond was false. Failed to get a WebGPU adapter: ..." ->
// "Failed to get a WebGPU adapter: ..."). Text in another shape comes back as its first line.
std::string ProviderErrorSummary(const std::string &reason);

// Provider names this ONNX Runtime library was built with, lower-case ("cpu", "cuda", ...).
std::vector<std::string> AvailableProviders();

// The provider sessions will most likely run on: the first of config.providers this build has
// ("cpu" when none). Used to pick the bundle variants made for it before any session exists.
std::string PreferredProvider(const RuntimeConfig &config);

}  // namespace cosyvoice
