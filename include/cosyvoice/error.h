// cosyvoice/error.h - the one exception type the library throws.
#pragma once

#include <stdexcept>
#include <string>

namespace cosyvoice {

// What kind of failure an Error reports. The CLI maps these to exit codes (docs/cli.md) and the
// future C API to status codes, so values are stable.
enum class ErrorCode : int {
  kInvalidArgument = 2,  // a caller-supplied option or text is unusable
  kInvalidAudio = 3,     // unreadable, silent, too short/long or wrong-rate audio
  kBundle = 4,           // the model bundle is missing, truncated or does not match this build
  kIo = 5,               // a file could not be read or written
  kRuntime = 6,          // ONNX Runtime or another backend failed while running
  kCancelled = 7,        // a callback asked to stop
  kUnsupported = 8,      // valid, but not supported by this build or bundle
};

// Messages name the file/field involved and what was expected, e.g.
//   "bundle/config.json: field llm.num_layers: expected a positive integer, got -1".
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string &message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

const char *ErrorCodeName(ErrorCode code) noexcept;

}  // namespace cosyvoice
