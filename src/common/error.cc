// src/common/error.cc
#include "cosyvoice/error.h"

namespace cosyvoice {

const char *ErrorCodeName(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kInvalidAudio: return "invalid audio";
    case ErrorCode::kBundle: return "bad model bundle";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kRuntime: return "runtime error";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kUnsupported: return "unsupported";
  }
  return "error";
}

}  // namespace cosyvoice
