// src/models/ort_env.cc
#include "models/ort_env.h"

#include <mutex>

#include "common/log.h"
#include "cosyvoice/version.h"

namespace cosyvoice {
namespace {

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

Ort::Env &Create(SharedEnv &s, int intra, int inter) {
  Ort::ThreadingOptions threading;
  threading.SetGlobalIntraOpNumThreads(intra);
  threading.SetGlobalInterOpNumThreads(inter);
  // Leaked on purpose: destroying the Env during static destruction races sessions owned by
  // other static objects.
  s.env = new Ort::Env(threading, ORT_LOGGING_LEVEL_WARNING, "cosyvoice");
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
