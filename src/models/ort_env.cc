// src/models/ort_env.cc
#include "models/ort_env.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "common/log.h"
#include "cosyvoice/version.h"

namespace cosyvoice {
namespace {

// ONNX Runtime's official Linux library (1.2x, e.g. the npm/PyPI builds) contains Microsoft's 1DS
// telemetry SDK. Creating the first Ort::Env starts it: it writes
// $XDG_CACHE_HOME or ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} (a
// persistent device id and a queue of events: executable path, CPU model, model file and graph
// names, errors) and $TMPDIR/mat-debug-<pid>.log, and uploads in the background.
// Ort::Env::DisableTelemetryEvents() only drops later events: the SDK, its files and the
// process-info event are set up by then. Only ORT_DISABLE_TELEMETRY in the environment before the
// first Env prevents all of it (onnxruntime/core/platform/posix/telemetry.cc, Initialize(); checked
// with strace, docs/privacy.md). COSYVOICE_ORT_TELEMETRY=1 keeps ONNX Runtime's default.
bool TelemetryOptedIn() {
  const char *v = std::getenv("COSYVOICE_ORT_TELEMETRY");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

void DisableOrtTelemetryUnlessOptedIn() {
  if (!TelemetryOptedIn()) ::setenv("ORT_DISABLE_TELEMETRY", "1", /*overwrite=*/1);
}

// Also done before main(), while the process has a single thread: setenv() is not safe while other
// threads may read the environment, and a program may create its threads before its first model.
const bool kTelemetryConfiguredAtStartup = (DisableOrtTelemetryUnlessOptedIn(), true);

// ONNX Runtime's own log lines, through ours. Its warnings and errors repeat what reaches the
// caller anyway - as an exception with our context, or as the one-line provider fallback of
// session_factory.cc (ORT printed five red lines for `--provider cuda,cpu`, one per graph) - so
// they are debug output (-v); only a fatal message is shown as an error.
void OrtLogToOurs(void * /*param*/, OrtLoggingLevel severity, const char * /*category*/,
                  const char * /*logid*/, const char *code_location, const char *message) {
  const LogLevel level = severity >= ORT_LOGGING_LEVEL_FATAL ? LogLevel::kError : LogLevel::kDebug;
  if (!LogEnabled(level)) return;
  std::string text(message != nullptr ? message : "");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  LogMessage(level).stream() << "onnxruntime: " << text << " (" << code_location << ")";
}

struct SharedEnv {
  Ort::Env *env = nullptr;
  int intra = 0, inter = 1;
  bool warned = false;
};

SharedEnv &Shared() {
  static SharedEnv shared;
  return shared;
}
std::mutex &EnvMutex() {
  static std::mutex mu;
  return mu;
}

// One CPU arena for every session that asks for it (RuntimeConfig::shared_cpu_arena). With an
// arena per session, each graph keeps the memory of its own largest input for the life of the
// model, and the process holds the sum of those high-water marks; long texts, whose segments
// give every graph new shapes, grew by 86 MB on the tiny model that way (docs/memory.md). One
// arena holds the largest that was ever live at once. ORT's default growth policy (power of two).
void RegisterSharedCpuArena(Ort::Env &env) {
  const Ort::MemoryInfo info = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const Ort::ArenaCfg arena(/*max_mem=*/0, /*arena_extend_strategy=*/-1, /*initial_chunk_size_bytes=*/-1,
                            /*max_dead_bytes_per_chunk=*/-1);
  try {
    env.CreateAndRegisterAllocator(info, arena);
  } catch (const Ort::Exception &e) {  // sessions then use an arena each, ONNX Runtime's default
    COSY_LOG(kWarning) << "ONNX Runtime: no shared CPU arena (" << e.what() << "); each graph gets its own";
  }
}

Ort::Env &Create(SharedEnv &s, int intra, int inter) {
  Ort::ThreadingOptions threading;
  threading.SetGlobalIntraOpNumThreads(intra);
  threading.SetGlobalInterOpNumThreads(inter);
  // Leaked on purpose: destroying the Env during static destruction races sessions owned by
  // other static objects.
  (void)kTelemetryConfiguredAtStartup;
  DisableOrtTelemetryUnlessOptedIn();  // before the Env: its creation starts ONNX Runtime's telemetry
  s.env = new Ort::Env(threading, OrtLogToOurs, nullptr, ORT_LOGGING_LEVEL_WARNING, "cosyvoice");
  if (!TelemetryOptedIn()) s.env->DisableTelemetryEvents();
  RegisterSharedCpuArena(*s.env);
  s.intra = intra;
  s.inter = inter;
  COSY_LOG(kDebug) << "ONNX Runtime " << Ort::GetVersionString() << ", shared thread pool: intra-op " << intra
                   << ", inter-op " << inter;
  return *s.env;
}

}  // namespace

Ort::Env &OrtEnvironment(int intra_op_threads, int inter_op_threads) {
  std::lock_guard<std::mutex> lock(EnvMutex());
  SharedEnv &s = Shared();
  if (s.env == nullptr) return Create(s, intra_op_threads, inter_op_threads);
  if ((intra_op_threads != s.intra || inter_op_threads != s.inter) && !s.warned) {
    s.warned = true;
    COSY_LOG(kWarning) << "ONNX Runtime's shared thread pool already exists with intra-op " << s.intra
                       << ", inter-op " << s.inter << " threads; the request for " << intra_op_threads << "/"
                       << inter_op_threads << " is ignored (the first model loaded sizes the pool)";
  }
  return *s.env;
}

Ort::Env &OrtEnvironment() {
  std::lock_guard<std::mutex> lock(EnvMutex());
  SharedEnv &s = Shared();
  return s.env != nullptr ? *s.env : Create(s, 0, 1);
}

int OrtEnvironmentIntraOpThreads() {
  std::lock_guard<std::mutex> lock(EnvMutex());
  return Shared().intra;
}

const char *OrtVersionString() {
  return OrtGetApiBase()->GetVersionString();
}

}  // namespace cosyvoice
