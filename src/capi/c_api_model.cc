// src/capi/c_api_model.cc - models and voices of the C API (include/cosyvoice/cosyvoice_c.h).
#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "capi/atomic_file.h"
#include "capi/boundary.h"
#include "capi/handles.h"

using cosyvoice::Error;
using cosyvoice::ErrorCode;
using cosyvoice::capi::Guard;
using cosyvoice::capi::RequireArg;

static_assert(cosyvoice::capi::NoTailPadding<cosyvoice_model_params>(
    offsetof(cosyvoice_model_params, max_stream_cache_mb) + sizeof(int64_t)));
static_assert(cosyvoice::capi::NoTailPadding<cosyvoice_model_info>(offsetof(cosyvoice_model_info, variants) +
                                                                   sizeof(const char *)));

static_assert(static_cast<int>(cosyvoice::GraphOptimization::kDisabled) == COSYVOICE_GRAPH_OPT_DISABLED);
static_assert(static_cast<int>(cosyvoice::GraphOptimization::kAll) == COSYVOICE_GRAPH_OPT_ALL);

namespace {

cosyvoice::GraphOptimization ToGraphOptimization(int32_t value) {
  switch (value) {
    case COSYVOICE_GRAPH_OPT_DISABLED: return cosyvoice::GraphOptimization::kDisabled;
    case COSYVOICE_GRAPH_OPT_BASIC: return cosyvoice::GraphOptimization::kBasic;
    case COSYVOICE_GRAPH_OPT_EXTENDED: return cosyvoice::GraphOptimization::kExtended;
    case COSYVOICE_GRAPH_OPT_ALL: return cosyvoice::GraphOptimization::kAll;
    default: break;
  }
  throw Error(ErrorCode::kInvalidArgument, "cosyvoice_model_params.graph_optimization " +
                                               std::to_string(value) +
                                               ": expected COSYVOICE_GRAPH_OPT_DISABLED (0) .. _ALL (3)");
}

// "webgpu.a=1;webgpu.b=2" into `runtime.provider_options` (empty entries skipped); the keys and
// values are checked by ModelConfig::Validate.
void AddProviderOptions(cosyvoice::RuntimeConfig &runtime, const std::string &text) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(';', start), text.size());
    const std::string entry = text.substr(start, end - start);
    if (!entry.empty()) {
      try {
        cosyvoice::AddProviderOption(runtime, entry);
      } catch (const Error &e) {
        throw Error(e.code(), std::string("cosyvoice_model_params.provider_options: ") + e.what());
      }
    }
    start = end + 1;
  }
}

cosyvoice::ModelConfig ToModelConfig(const char *bundle_dir, const cosyvoice_model_params &p) {
  cosyvoice::ModelConfig config;
  config.model_dir = bundle_dir;
  config.runtime.intra_op_threads = p.intra_op_threads;
  config.runtime.inter_op_threads = p.inter_op_threads;
  if (p.providers != nullptr && p.providers[0] != '\0')
    config.runtime.providers = cosyvoice::ParseProviderList(p.providers);
  config.runtime.device_id = p.device_id;
  config.runtime.optimization = ToGraphOptimization(p.graph_optimization);
  if (p.profile_prefix != nullptr) config.runtime.profile_prefix = p.profile_prefix;
  if (p.optimized_model_dir != nullptr) config.runtime.optimized_model_dir = p.optimized_model_dir;
  config.verify_checksums = p.verify_checksums;
  if (p.precision != nullptr && p.precision[0] != '\0') config.precision = p.precision;
  if (p.provider_options != nullptr) AddProviderOptions(config.runtime, p.provider_options);
  if (p.stream_cache != nullptr && p.stream_cache[0] != '\0') config.stream_cache = p.stream_cache;
  if (p.max_stream_cache_mb < 0 || p.max_stream_cache_mb > (int64_t{1} << 30)) {
    throw Error(ErrorCode::kInvalidArgument,
                "cosyvoice_model_params.max_stream_cache_mb must be 0 (no limit) .. 2^30 MiB, got " +
                    std::to_string(p.max_stream_cache_mb));
  }
  config.max_stream_cache_bytes = p.max_stream_cache_mb << 20;
  config.Validate();
  return config;
}

std::string Join(const std::vector<std::string> &names) {
  std::string out;
  for (const auto &n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

std::string Variants(const cosyvoice::ModelInfo &info) {
  std::vector<std::string> parts;
  for (const auto &p : info.precisions) parts.push_back(p.family + "=" + p.variant);
  std::sort(parts.begin(), parts.end());
  return Join(parts);
}

cosyvoice_voice *NewVoice(cosyvoice::Voice voice) {
  return new cosyvoice_voice{std::move(voice)};
}

}  // namespace

extern "C" {

cosyvoice_model_params cosyvoice_model_default_params(void) {
  cosyvoice_model_params p{};
  p.struct_size = sizeof(p);
  p.providers = nullptr;         // "cpu"
  p.precision = nullptr;         // "fp32"
  p.provider_options = nullptr;  // none
  p.stream_cache = nullptr;      // "fp32"
  p.max_stream_cache_mb = cosyvoice::kDefaultMaxStreamCacheBytes >> 20;
  p.verify_checksums = cosyvoice::ModelConfig{}.verify_checksums;  // on, as in C++ (docs/bundle.md §4.1)
  try {
    const cosyvoice::RuntimeConfig runtime;  // the defaults, from their one definition
    p.intra_op_threads = runtime.intra_op_threads;
    p.inter_op_threads = runtime.inter_op_threads;
    p.device_id = runtime.device_id;
    p.graph_optimization = static_cast<int32_t>(runtime.optimization);
  } catch (...) {  // RuntimeConfig allocates (its provider list): no exception may leave this function
    p.inter_op_threads = 1;
    p.graph_optimization = COSYVOICE_GRAPH_OPT_ALL;
  }
  return p;
}

cosyvoice_status cosyvoice_model_load(const char *bundle_dir, const cosyvoice_model_params *params,
                                      cosyvoice_model **out) {
  return Guard("cosyvoice_model_load", [&] {
    RequireArg(out, "cosyvoice_model_load", "out");
    *out = nullptr;
    RequireArg(bundle_dir, "cosyvoice_model_load", "bundle_dir");
    const cosyvoice_model_params p = cosyvoice::capi::ReadVersioned(params, cosyvoice_model_default_params(),
                                                                    "cosyvoice_model_load", "params");
    auto handle = std::make_unique<cosyvoice_model>();
    handle->model = cosyvoice::Model::Load(ToModelConfig(bundle_dir, p));
    handle->providers = Join(handle->model->info().providers);
    handle->variants = Variants(handle->model->info());
    *out = handle.release();
  });
}

void cosyvoice_model_free(cosyvoice_model *model) {
  delete model;
}

cosyvoice_status cosyvoice_model_get_info(const cosyvoice_model *model, cosyvoice_model_info *info) {
  return Guard("cosyvoice_model_get_info", [&] {
    RequireArg(model, "cosyvoice_model_get_info", "model");
    RequireArg(info, "cosyvoice_model_get_info", "info");
    const cosyvoice::ModelInfo &i = model->model->info();
    cosyvoice_model_info full{};
    full.struct_size = sizeof(full);
    full.model_name = i.model_name.c_str();
    full.format_version = i.format_version.c_str();
    full.bundle_dir = i.bundle_dir.c_str();
    full.providers = model->providers.c_str();
    full.sample_rate = i.sample_rate;
    full.mel_bins = i.mel_bins;
    full.variants = model->variants.c_str();
    cosyvoice::capi::WriteVersioned(info, full, "cosyvoice_model_get_info", "info");
  });
}

int32_t cosyvoice_model_sample_rate(const cosyvoice_model *model) {
  return model != nullptr ? model->model->sample_rate() : 0;
}

cosyvoice_status cosyvoice_voice_create(const cosyvoice_model *model, const float *samples,
                                        size_t num_samples, int32_t sample_rate, const char *transcript,
                                        cosyvoice_voice **out) {
  return Guard("cosyvoice_voice_create", [&] {
    RequireArg(out, "cosyvoice_voice_create", "out");
    *out = nullptr;
    RequireArg(model, "cosyvoice_voice_create", "model");
    if (num_samples > 0) RequireArg(samples, "cosyvoice_voice_create", "samples");
    cosyvoice::Audio prompt;
    prompt.samples.assign(samples, samples + num_samples);
    prompt.sample_rate = sample_rate;
    *out = NewVoice(model->model->CreateVoice(prompt, transcript != nullptr ? transcript : ""));
  });
}

cosyvoice_status cosyvoice_voice_create_from_file(const cosyvoice_model *model, const char *audio_path,
                                                  const char *transcript, cosyvoice_voice **out) {
  return Guard("cosyvoice_voice_create_from_file", [&] {
    RequireArg(out, "cosyvoice_voice_create_from_file", "out");
    *out = nullptr;
    RequireArg(model, "cosyvoice_voice_create_from_file", "model");
    RequireArg(audio_path, "cosyvoice_voice_create_from_file", "audio_path");
    *out = NewVoice(model->model->CreateVoiceFromFile(audio_path, transcript != nullptr ? transcript : ""));
  });
}

cosyvoice_status cosyvoice_voice_load(const char *path, cosyvoice_voice **out) {
  return Guard("cosyvoice_voice_load", [&] {
    RequireArg(out, "cosyvoice_voice_load", "out");
    *out = nullptr;
    RequireArg(path, "cosyvoice_voice_load", "path");
    *out = NewVoice(cosyvoice::Voice::Load(path));
  });
}

cosyvoice_status cosyvoice_voice_save(const cosyvoice_voice *voice, const char *path) {
  return Guard("cosyvoice_voice_save", [&] {
    RequireArg(voice, "cosyvoice_voice_save", "voice");
    RequireArg(path, "cosyvoice_voice_save", "path");
    cosyvoice::capi::WriteAtomically(path, [&](const std::string &temp) { voice->voice.Save(temp); });
  });
}

void cosyvoice_voice_free(cosyvoice_voice *voice) {
  delete voice;
}

const char *cosyvoice_voice_transcript(const cosyvoice_voice *voice) {
  return voice != nullptr ? voice->voice.transcript.c_str() : "";
}

const char *cosyvoice_voice_source(const cosyvoice_voice *voice) {
  return voice != nullptr ? voice->voice.source.c_str() : "";
}

double cosyvoice_voice_prompt_seconds(const cosyvoice_voice *voice) {
  return voice != nullptr ? voice->voice.prompt_seconds : 0.0;
}

size_t cosyvoice_voice_num_prompt_tokens(const cosyvoice_voice *voice) {
  return voice != nullptr ? voice->voice.speech_tokens.size() : 0;
}

}  // extern "C"
