// src/models/ort_env.cc
#include "models/ort_env.h"

#include "common/log.h"
#include "cosyvoice/version.h"

namespace cosyvoice {

Ort::Env &OrtEnvironment() {
  // Leaked on purpose: destroying the Env during static destruction races sessions owned by
  // other static objects.
  static Ort::Env *env = [] {
    auto *e = new Ort::Env(ORT_LOGGING_LEVEL_WARNING, "cosyvoice");
    COSY_LOG(kDebug) << "ONNX Runtime " << Ort::GetVersionString();
    return e;
  }();
  return *env;
}

const char *OrtVersionString() {
  return OrtGetApiBase()->GetVersionString();
}

}  // namespace cosyvoice
