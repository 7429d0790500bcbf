// src/kernels/custom_ops_library.cc - libcosyvoice_ops.so: this project's operators (custom_ops.h)
// for any ONNX Runtime host, e.g. Python's SessionOptions.register_custom_ops_library or the C API's
// RegisterCustomOpsLibrary_V2 (the exporter checks its variants this way). ONNX Runtime calls the
// one exported symbol; errors come back as OrtStatus.
#include <onnxruntime_cxx_api.h>  // NOLINT

#include <exception>

#include "kernels/custom_ops.h"

extern "C" __attribute__((visibility("default"))) OrtStatus *ORT_API_CALL
RegisterCustomOps(OrtSessionOptions *options, const OrtApiBase *api_base) {
  const OrtApi *api = api_base->GetApi(ORT_API_VERSION);
  if (api == nullptr) return nullptr;  // cannot even report: an ONNX Runtime older than our headers
  try {
    cosyvoice::kernels::AddCustomOps(options);
    return nullptr;
  } catch (const std::exception &e) {
    return api->CreateStatus(ORT_FAIL, e.what());
  }
}
