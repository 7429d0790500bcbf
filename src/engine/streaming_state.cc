// src/engine/streaming_state.cc
#include "engine/streaming_state.h"

#include <cstring>

#include "common/log.h"
#include "common/timer.h"
#include "cosyvoice/error.h"
#include "engine/finite_check.h"

namespace cosyvoice {
namespace {

const FlowChunkGraph &ChunkGraph(const Model::Impl &model) {
  const FlowChunkGraph *g = model.flow_chunk();
  if (g == nullptr) throw Error(ErrorCode::kBundle, "flow: the bundle has no flow_estimator_chunk.onnx");
  return *g;
}

void Fnv(uint64_t &h, const void *data, size_t n) {
  const auto *p = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
}

}  // namespace

PromptCache PromptCacheOf(StreamMode mode) {
  return mode == StreamMode::kFast ? PromptCache::kWholePrompt : PromptCache::kVoiceOnlyChunks;
}

uint64_t PromptCacheKey(const Voice &v, const FlowOptions &o, PromptCache kind) {
  uint64_t h = 1469598103934665603ull;
  Fnv(h, v.speech_tokens.data(), v.speech_tokens.size() * sizeof(int32_t));
  Fnv(h, v.speaker_embedding.data(), v.speaker_embedding.size() * sizeof(float));
  Fnv(h, v.prompt_mel.data(), v.prompt_mel.size() * sizeof(float));
  Fnv(h, &o.n_timesteps, sizeof(o.n_timesteps));
  Fnv(h, &o.cfg_rate, sizeof(o.cfg_rate));
  Fnv(h, &kind, sizeof(kind));
  return h == 0 ? 1 : h;
}

StreamingState::StreamingState(const Model::Impl &m)
    : model(m),
      flow(ChunkGraph(m), m.flow_noise, m.bundle.flow, m.stream_cache),
      prompt(ChunkGraph(m), m.flow_noise, m.bundle.flow, m.stream_cache),
      vocoder(*m.hift_f0, *m.hift_generator, *m.vocoder, m.bundle.hift, m.bundle.flow.mel_bins) {}

bool StreamingState::StartSegment(const Voice &voice, const FlowOptions &options, PromptCache kind,
                                  int64_t max_cache_bytes, const CancelToken &cancel) {
  vocoder.Start();
  const int64_t p0 =
      kind == PromptCache::kWholePrompt
          ? voice.mel_frames()
          : PromptCacheFrames(static_cast<int64_t>(voice.speech_tokens.size()), model.bundle.flow);
  const size_t per_frame =
      StreamCacheBytesPerFrame(ChunkGraph(model).shape(), model.stream_cache, options.n_timesteps);
  if (max_cache_bytes > 0 && 2 * static_cast<size_t>(p0) * per_frame > static_cast<size_t>(max_cache_bytes)) {
    prompt.Release();  // the voice's cache and the segment's copy of it: over the limit already
    prompt_key = 0;
    flow.Release();
    return false;
  }
  const uint64_t key = PromptCacheKey(voice, options, kind);
  if (key != prompt_key) {
    const auto t0 = SteadyClock::now();
    prompt_key = 0;
    const FlowConfig &f = model.bundle.flow;
    std::vector<int64_t> tokens(voice.speech_tokens.begin(), voice.speech_tokens.end());
    const FlowEncoderGraph::Output enc = model.flow_encoder->Run(tokens, voice.speaker_embedding);
    CheckFiniteOutput(enc.mu.data(), enc.mu.size(), "flow encoder (mu)");  // as FlowMatching::Run does
    CheckFiniteOutput(enc.spks.data(), enc.spks.size(), "flow encoder (speaker projection)");
    if (enc.frames < p0)
      throw Error(ErrorCode::kRuntime, "streaming: the flow encoder gave fewer frames than the prompt's");
    prompt.Start(enc.spks, options);
    if (p0 > 0) {
      // mu of the prompt's tokens alone (finalize form: for kWholePrompt its zero lookahead stands
      // for the speech tokens at the prompt's end; for kVoiceOnlyChunks it does not reach the
      // frames) and cond = the prompt mel there
      const int64_t m = f.mel_bins;
      std::vector<float> mu(static_cast<size_t>(m * p0)), cond(static_cast<size_t>(m * p0));
      for (int64_t c = 0; c < m; ++c) {
        std::memcpy(&mu[static_cast<size_t>(c * p0)], &enc.mu[static_cast<size_t>(c * enc.frames)],
                    sizeof(float) * static_cast<size_t>(p0));
        for (int64_t t = 0; t < p0; ++t) cond[static_cast<size_t>(c * p0 + t)] = voice.prompt_mel[t * m + c];
      }
      prompt.Advance(mu.data(), cond.data(), p0,
                     kind == PromptCache::kWholePrompt ? AdvanceEnd::kPromptEnd : AdvanceEnd::kChunkBoundary,
                     cancel);
    }
    prompt_key = key;
    COSY_LOG(kDebug) << "streaming prompt cache: " << p0 << " frames"
                     << (kind == PromptCache::kWholePrompt ? " (the whole prompt), " : ", ")
                     << prompt.cache_bytes() / 1048576 << " MiB, " << SecondsSince(t0) << " s";
  }
  flow.StartFrom(prompt);
  return true;
}

}  // namespace cosyvoice
