// src/capi/boundary.cc
#include "capi/boundary.h"

#include <exception>
#include <new>
#include <stdexcept>

namespace cosyvoice::capi {
namespace {

// The message of this thread's last failure. Assigning it may fail for lack of memory; the
// fallback then points at a static text, so reporting never throws.
thread_local std::string t_message;
thread_local const char *t_fallback = nullptr;

cosyvoice_status StatusOf(ErrorCode code) noexcept {
  const int value = static_cast<int>(code);
  return value >= COSYVOICE_ERROR_INVALID_ARGUMENT && value <= COSYVOICE_ERROR_UNSUPPORTED
             ? static_cast<cosyvoice_status>(value)
             : COSYVOICE_ERROR_INTERNAL;
}

}  // namespace

// The C status values are cosyvoice::ErrorCode's (the header promises it).
static_assert(COSYVOICE_ERROR_INVALID_ARGUMENT == static_cast<int>(ErrorCode::kInvalidArgument));
static_assert(COSYVOICE_ERROR_INVALID_AUDIO == static_cast<int>(ErrorCode::kInvalidAudio));
static_assert(COSYVOICE_ERROR_BUNDLE == static_cast<int>(ErrorCode::kBundle));
static_assert(COSYVOICE_ERROR_IO == static_cast<int>(ErrorCode::kIo));
static_assert(COSYVOICE_ERROR_RUNTIME == static_cast<int>(ErrorCode::kRuntime));
static_assert(COSYVOICE_ERROR_CANCELLED == static_cast<int>(ErrorCode::kCancelled));
static_assert(COSYVOICE_ERROR_UNSUPPORTED == static_cast<int>(ErrorCode::kUnsupported));

void ClearLastError() noexcept {
  t_message.clear();
  t_fallback = nullptr;
}

cosyvoice_status Fail(cosyvoice_status status, const char *message) noexcept {
  try {
    t_message = message;
    t_fallback = nullptr;
  } catch (...) {
    t_fallback = "out of memory while recording an error message";
  }
  return status;
}

cosyvoice_status FailFromCurrentException(const char *function) noexcept {
  try {
    throw;
  } catch (const Error &e) {
    return Fail(StatusOf(e.code()), e.what());
  } catch (const std::bad_alloc &) {
    try {
      return Fail(COSYVOICE_ERROR_INTERNAL, (std::string(function) + ": out of memory").c_str());
    } catch (...) {
      return Fail(COSYVOICE_ERROR_INTERNAL, "out of memory");
    }
  } catch (const std::exception &e) {
    try {
      return Fail(COSYVOICE_ERROR_INTERNAL,
                  (std::string(function) + ": internal error: " + e.what()).c_str());
    } catch (...) {
      return Fail(COSYVOICE_ERROR_INTERNAL, e.what());
    }
  } catch (...) {
    return Fail(COSYVOICE_ERROR_INTERNAL, "internal error: unknown exception");
  }
}

void RequireArg(const void *p, const char *function, const char *name) {
  if (p == nullptr)
    throw Error(ErrorCode::kInvalidArgument, std::string(function) + ": " + name + " is NULL");
}

const char *LastErrorMessage() noexcept {
  return t_fallback != nullptr ? t_fallback : t_message.c_str();
}

}  // namespace cosyvoice::capi
