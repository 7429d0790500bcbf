// src/capi/boundary.h - the one exception boundary of the C API (include/cosyvoice/cosyvoice_c.h).
//
// Every fallible entry point is `return Guard("name", [&] { ... });`: the body may throw anything;
// Guard turns cosyvoice::Error into its status, std::bad_alloc and every other exception into
// COSYVOICE_ERROR_INTERNAL, and records the message for cosyvoice_last_error(). Nothing escapes:
// Guard itself is noexcept and reporting an error cannot throw (the pattern of onnxruntime-genai's
// OGA_TRY/OGA_CATCH, https://github.com/microsoft/onnxruntime-genai/blob/main/src/ort_genai_c.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "cosyvoice/cosyvoice_c.h"
#include "cosyvoice/error.h"

namespace cosyvoice::capi {

// Records a failure for this thread's cosyvoice_last_error() (never throws) and returns `status`.
cosyvoice_status Fail(cosyvoice_status status, const char *message) noexcept;
void ClearLastError() noexcept;
const char *LastErrorMessage() noexcept;  // never null
// Maps whatever is being handled (call only inside a catch block) to a status and a message.
cosyvoice_status FailFromCurrentException(const char *function) noexcept;

template <typename Body>
cosyvoice_status Guard(const char *function, Body &&body) noexcept {
  try {
    ClearLastError();
    std::forward<Body>(body)();
    return COSYVOICE_OK;
  } catch (...) {
    return FailFromCurrentException(function);
  }
}

// Throws Error(kInvalidArgument) "<function>: <name> is NULL" when `p` is null.
void RequireArg(const void *p, const char *function, const char *name);

// Reads a caller's parameter struct of any size from its first version up to ours (ABI growth):
// fields beyond the caller's struct_size keep the values of `defaults`. NULL gives the defaults.
//
// Growth rule: append fields only at the end, and keep each struct free of tail padding
// (static_asserts in the .cc files), so that an older struct_size always ends on a field boundary
// and a new field never lies in an old struct's padding.
template <typename T>
T ReadVersioned(const T *in, const T &defaults, const char *function, const char *name) {
  if (in == nullptr) return defaults;
  const size_t size = in->struct_size;
  if (size < sizeof(uint32_t) || size > sizeof(T))
    throw Error(ErrorCode::kInvalidArgument,
                std::string(function) + ": " + name + "->struct_size is " + std::to_string(size) +
                    "; expected " + std::to_string(sizeof(uint32_t)) + ".." + std::to_string(sizeof(T)) +
                    (size == 0 ? " (initialize the struct with its cosyvoice_*_default* function)"
                               : " (the program was built against a newer cosyvoice_c.h than this library)"));
  T out = defaults;
  std::memcpy(static_cast<void *>(&out), in, size);
  out.struct_size = static_cast<uint32_t>(sizeof(T));
  return out;
}

// Writes `full` into a caller's output struct of any size (see ReadVersioned): at most the bytes
// the caller declared in out->struct_size; struct_size then says how many were written.
template <typename T>
void WriteVersioned(T *out, const T &full, const char *function, const char *name) {
  const size_t size = out->struct_size;
  if (size < sizeof(uint32_t))
    throw Error(ErrorCode::kInvalidArgument, std::string(function) + ": " + name + "->struct_size is " +
                                                 std::to_string(size) + "; set it to sizeof(*" + name + ")");
  const size_t written = size < sizeof(T) ? size : sizeof(T);
  std::memcpy(static_cast<void *>(out), &full, written);
  out->struct_size = static_cast<uint32_t>(written);
}

// True when T has no padding after its last field (`end` = offsetof(last) + sizeof(last)).
template <typename T>
constexpr bool NoTailPadding(size_t end) {
  return sizeof(T) == end;
}

}  // namespace cosyvoice::capi
