// src/models/session_factory.cc
#include "models/session_factory.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <onnxruntime_session_options_config_keys.h>  // NOLINT
#include <sched.h>

#include "common/log.h"
#include "cosyvoice/error.h"
#include "kernels/custom_ops.h"
#include "models/ort_env.h"
#include "models/providers.h"

namespace cosyvoice {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "CUDAExecutionProvider" -> "cuda", "DmlExecutionProvider" -> "directml"
std::string ShortProviderName(const std::string &ort_name) {
  for (const auto &p : KnownProviders()) {
    if (p.ort_name == ort_name) return p.name;
  }
  std::string s = ort_name;
  const std::string suffix = "ExecutionProvider";
  if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
    s.resize(s.size() - suffix.size());
  return Lower(s);
}

GraphOptimizationLevel ToOrt(GraphOptimization level) {
  switch (level) {
    case GraphOptimization::kDisabled: return ORT_DISABLE_ALL;
    case GraphOptimization::kBasic: return ORT_ENABLE_BASIC;
    case GraphOptimization::kExtended: return ORT_ENABLE_EXTENDED;
    case GraphOptimization::kAll: return ORT_ENABLE_ALL;
  }
  return ORT_ENABLE_ALL;
}

}  // namespace

std::string ProviderErrorSummary(const std::string &reason) {
  std::string line = reason.substr(0, reason.find('\n'));
  // ORT_THROW / ORT_ENFORCE: "<file>:<line> <signature> <message>". The signature has spaces and
  // parentheses of its own, so the message is found by the markers ONNX Runtime puts before it.
  static const char *const kMarkers[] = {" was false. ",           " : FAIL : ",
                                         " : INVALID_ARGUMENT : ", " : NO_SUCHFILE : ",
                                         " : NOT_IMPLEMENTED : ",  " : RUNTIME_EXCEPTION : ",
                                         " : EP_FAIL : "};
  const size_t space = line.find(' ');
  const size_t colon = line.rfind(':', space);
  const bool has_location = space != std::string::npos && colon != std::string::npos && colon + 1 < space &&
                            std::all_of(line.begin() + static_cast<std::ptrdiff_t>(colon) + 1,
                                        line.begin() + static_cast<std::ptrdiff_t>(space),
                                        [](unsigned char ch) { return std::isdigit(ch) != 0; });
  if (!has_location) return line;
  for (const char *marker : kMarkers) {
    const size_t at = line.find(marker);
    if (at != std::string::npos) return line.substr(at + std::char_traits<char>::length(marker));
  }
  return line.substr(space + 1);  // the location at least
}

// Log each provider fallback once per process, not once per graph.
void LogProviderFallbackOnce(const std::string &provider, const std::string &reason) {
  static std::mutex mu;
  static std::set<std::string> logged;
  std::lock_guard<std::mutex> lock(mu);
  if (logged.insert(provider).second) {
    COSY_LOG(kWarning) << "execution provider '" << provider << "' unavailable ("
                       << ProviderErrorSummary(reason) << "); using the next provider";
    COSY_LOG(kDebug) << "execution provider '" << provider << "': " << reason;
  }
}

namespace {

// Tries to enable one non-CPU provider; returns false (with a reason) when it cannot.
bool TryAppendProvider(Ort::SessionOptions &options, const std::string &name, const RuntimeConfig &config,
                       const std::vector<std::string> &available, std::string *reason) {
  const bool built_in = std::find(available.begin(), available.end(), name) != available.end();
  if (!built_in) {
    *reason = "not in this ONNX Runtime build";
    return false;
  }
  auto it = config.provider_options.find(name);
  static const std::map<std::string, std::string> kNone;
  try {
    AppendProvider(options, name, it == config.provider_options.end() ? kNone : it->second, config.device_id);
    return true;
  } catch (const std::exception &e) {
    *reason = e.what();
    return false;
  }
}

}  // namespace

int HardwareThreadCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return std::max(1u, std::thread::hardware_concurrency());
}

int CapThreadCount(int requested, const char *field) {
  const int hardware = HardwareThreadCount();
  if (requested <= hardware) return requested;
  static std::mutex mu;
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(mu);
  if (warned.insert(field).second) {
    COSY_LOG(kWarning) << field << " " << requested << " capped at " << hardware
                       << ", the number of CPUs available to this process";
  }
  return hardware;
}

std::vector<std::string> AvailableProviders() {
  std::vector<std::string> out;
  for (const auto &p : Ort::GetAvailableProviders()) out.push_back(ShortProviderName(p));
  return out;
}

std::string PreferredProvider(const RuntimeConfig &config) {
  const std::vector<std::string> available = AvailableProviders();
  for (const std::string &p : config.providers) {
    if (p == "cpu") return p;
    if (std::find(available.begin(), available.end(), p) != available.end()) return p;
  }
  return "cpu";
}

std::unique_ptr<Ort::Session> NewSession(const std::filesystem::path &model,
                                         const Ort::SessionOptions &options) {
  static std::mutex first_sessions;
  static std::atomic<bool> domain_registered{false};
  if (!domain_registered.load(std::memory_order_acquire)) {
    const std::lock_guard<std::mutex> lock(first_sessions);
    if (!domain_registered.load(std::memory_order_relaxed)) {
      auto session = std::make_unique<Ort::Session>(OrtEnvironment(), model.c_str(), options);
      domain_registered.store(true, std::memory_order_release);
      return session;
    }
  }
  return std::make_unique<Ort::Session>(OrtEnvironment(), model.c_str(), options);
}

SessionOptionsResult CreateSessionOptions(const RuntimeConfig &config, const std::string &graph_name) {
  config.Validate();
  // The Env (and with it the process-wide thread pools) must exist before any session options are
  // used; every session runs on those pools instead of creating its own.
  // More threads than CPUs only make the pool's spinning workers fight (CapThreadCount).
  OrtEnvironment(CapThreadCount(config.intra_op_threads, "intra_op_threads"),
                 CapThreadCount(config.inter_op_threads, "inter_op_threads"));
  SessionOptionsResult result;
  Ort::SessionOptions &options = result.options;
  options.DisablePerSessionThreads();
  options.SetGraphOptimizationLevel(ToOrt(config.optimization));
  // Memory for long texts (docs/memory.md): one arena for all graphs (registered with the Env,
  // models/ort_env.cc) and no per-shape memory patterns, which only pay off when shapes repeat.
  if (config.shared_cpu_arena) options.AddConfigEntry(kOrtSessionOptionsConfigUseEnvAllocators, "1");
  if (!config.memory_pattern) options.DisableMemPattern();
  options.SetExecutionMode(ORT_SEQUENTIAL);
  // The project's operators (kernels/custom_ops.h), used by CPU variants such as hift/fp32-winograd.
  kernels::AddCustomOps(options);
  if (!config.profile_prefix.empty()) {
    const std::string prefix = config.profile_prefix + graph_name;
    options.EnableProfiling(prefix.c_str());
  }
  if (!config.optimized_model_dir.empty()) {
    std::filesystem::create_directories(config.optimized_model_dir);
    const auto path = std::filesystem::path(config.optimized_model_dir) / (graph_name + ".optimized.onnx");
    options.SetOptimizedModelFilePath(path.c_str());
  }

  const std::vector<std::string> available = AvailableProviders();
  for (const std::string &name : config.providers) {
    if (name == "cpu") break;  // cpu is the default provider: nothing after it matters
    std::string reason;
    if (TryAppendProvider(options, name, config, available, &reason)) {
      result.providers.push_back(name);
    } else {
      LogProviderFallbackOnce(name, reason);
    }
  }
  result.providers.push_back("cpu");
  return result;
}

// ---- RuntimeConfig -------------------------------------------------------------------------------

void RuntimeConfig::Validate() const {
  auto fail = [](const std::string &msg) {
    throw Error(ErrorCode::kInvalidArgument, "runtime config: " + msg);
  };
  if (intra_op_threads < 0 || intra_op_threads > 1024)
    fail("intra_op_threads: expected 0 (auto) to 1024, got " + std::to_string(intra_op_threads));
  if (inter_op_threads < 0 || inter_op_threads > 1024)
    fail("inter_op_threads: expected 0 (auto) to 1024, got " + std::to_string(inter_op_threads));
  if (providers.empty()) fail("providers: expected at least one provider, e.g. \"cpu\"");
  std::string known;
  for (const auto &p : KnownProviders()) known += (known.empty() ? "" : ", ") + p.name;
  for (const auto &p : providers) {
    if (FindProvider(p) == nullptr) fail("providers: unknown provider '" + p + "' (known: " + known + ")");
  }
  for (const auto &[name, options] : provider_options) {
    if (FindProvider(name) == nullptr)
      fail("provider_options: unknown provider '" + name + "' (known: " + known + ")");
    ValidateProviderOptions(name, options);
  }
  if (device_id < 0) fail("device_id: expected >= 0, got " + std::to_string(device_id));
}

std::string RuntimeConfig::ToString() const {
  std::ostringstream os;
  os << "RuntimeConfig(intra_op_threads=" << intra_op_threads << ", inter_op_threads=" << inter_op_threads
     << ", providers=[";
  for (size_t i = 0; i < providers.size(); ++i) os << (i ? "," : "") << providers[i];
  os << "], device_id=" << device_id << ", optimization=" << static_cast<int>(optimization) << ")";
  return os.str();
}

std::vector<std::string> ParseProviderList(const std::string &text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(Lower(item));
  }
  if (out.empty()) throw Error(ErrorCode::kInvalidArgument, "provider list '" + text + "' is empty");
  return out;
}

void AddProviderOption(RuntimeConfig &config, const std::string &text) {
  const size_t dot = text.find('.');
  const size_t eq = text.find('=');
  if (dot == std::string::npos || eq == std::string::npos || dot == 0 || eq < dot + 2 ||
      eq + 1 == text.size()) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "provider option '" + text + "': expected provider.key=value, e.g. webgpu.preferredLayout=NHWC");
  }
  config.provider_options[Lower(text.substr(0, dot))][text.substr(dot + 1, eq - dot - 1)] =
      text.substr(eq + 1);
}

GraphOptimization ParseGraphOptimization(const std::string &text) {
  const std::string t = Lower(text);
  if (t == "disabled" || t == "none") return GraphOptimization::kDisabled;
  if (t == "basic") return GraphOptimization::kBasic;
  if (t == "extended") return GraphOptimization::kExtended;
  if (t == "all") return GraphOptimization::kAll;
  throw Error(ErrorCode::kInvalidArgument,
              "graph optimization level '" + text + "': expected disabled, basic, extended or all");
}

}  // namespace cosyvoice
