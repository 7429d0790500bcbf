// src/capi/c_api_runtime.cc - status names, last error, versions, providers, logging and audio
// buffers of the C API (include/cosyvoice/cosyvoice_c.h).
#include <cmath>
#include <string>
#include <vector>

#include "capi/atomic_file.h"
#include "capi/boundary.h"
#include "capi/owned_audio.h"
#include "common/log.h"
#include "cosyvoice/audio.h"
#include "cosyvoice/version.h"
#include "models/session_factory.h"

using cosyvoice::Error;
using cosyvoice::ErrorCode;
using cosyvoice::capi::Guard;
using cosyvoice::capi::RequireArg;

namespace {

static_assert(static_cast<int>(cosyvoice::LogLevel::kDebug) == COSYVOICE_LOG_DEBUG);
static_assert(static_cast<int>(cosyvoice::LogLevel::kInfo) == COSYVOICE_LOG_INFO);
static_assert(static_cast<int>(cosyvoice::LogLevel::kWarning) == COSYVOICE_LOG_WARNING);
static_assert(static_cast<int>(cosyvoice::LogLevel::kError) == COSYVOICE_LOG_ERROR);
static_assert(static_cast<int>(cosyvoice::LogLevel::kSilent) == COSYVOICE_LOG_SILENT);

// The provider names and the NULL-terminated array handed out, built once.
struct ProviderList {
  std::vector<std::string> names;
  std::vector<const char *> pointers;
};

const ProviderList &Providers() {
  static const ProviderList list = [] {
    ProviderList l;
    l.names = cosyvoice::AvailableProviders();
    for (const auto &n : l.names) l.pointers.push_back(n.c_str());
    l.pointers.push_back(nullptr);
    return l;
  }();
  return list;
}

}  // namespace

extern "C" {

const char *cosyvoice_status_name(cosyvoice_status status) {
  switch (status) {
    case COSYVOICE_OK: return "ok";
    case COSYVOICE_ERROR_INTERNAL: return "internal";
    case COSYVOICE_ERROR_INVALID_ARGUMENT: return "invalid_argument";
    case COSYVOICE_ERROR_INVALID_AUDIO: return "invalid_audio";
    case COSYVOICE_ERROR_BUNDLE: return "bundle";
    case COSYVOICE_ERROR_IO: return "io";
    case COSYVOICE_ERROR_RUNTIME: return "runtime";
    case COSYVOICE_ERROR_CANCELLED: return "cancelled";
    case COSYVOICE_ERROR_UNSUPPORTED: return "unsupported";
  }
  return "unknown";
}

const char *cosyvoice_last_error(void) {
  return cosyvoice::capi::LastErrorMessage();
}

const char *cosyvoice_version(void) {
  return cosyvoice::kVersion;
}

const char *cosyvoice_ort_version(void) {
  return cosyvoice::OrtVersionString();
}

const char *const *cosyvoice_available_providers(size_t *count) {
  const char *const *out = nullptr;
  Guard("cosyvoice_available_providers", [&] {
    const ProviderList &list = Providers();
    if (count != nullptr) *count = list.names.size();
    out = list.pointers.data();
  });
  return out;
}

void cosyvoice_log_set(cosyvoice_log_callback callback, void *user_data) {
  try {
    if (callback == nullptr) {
      cosyvoice::SetLogSink(nullptr);
    } else {
      // The pair is captured by value; SetLogSink guarantees the previous sink has returned.
      cosyvoice::SetLogSink([callback, user_data](cosyvoice::LogLevel level, const std::string &message) {
        callback(static_cast<cosyvoice_log_level>(level), message.c_str(), user_data);
      });
    }
  } catch (...) {  // std::mutex::lock may throw std::system_error; nothing may cross into C
  }
}

void cosyvoice_log_set_level(cosyvoice_log_level level) {
  const int clamped = level < COSYVOICE_LOG_DEBUG    ? COSYVOICE_LOG_DEBUG
                      : level > COSYVOICE_LOG_SILENT ? COSYVOICE_LOG_SILENT
                                                     : level;
  cosyvoice::SetLogLevel(static_cast<cosyvoice::LogLevel>(clamped));
}

void cosyvoice_audio_free(cosyvoice_audio *audio) {
  delete static_cast<cosyvoice::capi::OwnedAudio *>(audio);
}

cosyvoice_status cosyvoice_audio_read(const char *path, cosyvoice_audio **out) {
  return Guard("cosyvoice_audio_read", [&] {
    RequireArg(out, "cosyvoice_audio_read", "out");
    *out = nullptr;
    RequireArg(path, "cosyvoice_audio_read", "path");
    *out = cosyvoice::capi::GiveAway(cosyvoice::ReadAudioFile(path));
  });
}

cosyvoice_status cosyvoice_audio_write_wav(const char *path, const float *samples, size_t num_samples,
                                           int32_t sample_rate, bool float_samples) {
  return Guard("cosyvoice_audio_write_wav", [&] {
    RequireArg(path, "cosyvoice_audio_write_wav", "path");
    if (num_samples > 0) RequireArg(samples, "cosyvoice_audio_write_wav", "samples");
    cosyvoice::Audio audio;
    audio.samples.assign(samples, samples + num_samples);
    audio.sample_rate = sample_rate;
    for (size_t i = 0; i < num_samples; ++i)
      if (!std::isfinite(audio.samples[i]))
        throw Error(ErrorCode::kInvalidAudio,
                    std::string(path) + ": sample " + std::to_string(i) + " is not finite; nothing written");
    cosyvoice::capi::WriteAtomically(
        path, [&](const std::string &temp) { cosyvoice::WriteWavFile(temp, audio, float_samples); });
  });
}

}  // extern "C"
