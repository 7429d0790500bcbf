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

uint64_t PromptCacheKey(const Voice &v, const FlowOptions &o) {
  uint64_t h = 1469598103934665603ull;
  Fnv(h, v.speech_tokens.data(), v.speech_tokens.size() * sizeof(int32_t));
  Fnv(h, v.speaker_embedding.data(), v.speaker_embedding.size() * sizeof(float));
  Fnv(h, v.prompt_mel.data(), v.prompt_mel.size() * sizeof(float));
  Fnv(h, &o.n_timesteps, sizeof(o.n_timesteps));
  Fnv(h, &o.cfg_rate, sizeof(o.cfg_rate));
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
  const int64_t whole = voice.mel_frames();
  const int64_t chunks =
      PromptCacheFrames(static_cast<int64_t>(voice.speech_tokens.size()), model.bundle.flow);
  const int64_t start = kind == PromptCache::kWholePrompt ? whole : chunks;
  const size_t per_frame =
      StreamCacheBytesPerFrame(ChunkGraph(model).shape(), model.stream_cache, options.n_timesteps);
  if (max_cache_bytes > 0 &&
      static_cast<size_t>(whole + start) * per_frame > static_cast<size_t>(max_cache_bytes)) {
    prompt.Release();  // the voice's cache and the segment's copy of it: over the limit already
    prompt_key = 0;
    flow.Release();
    return false;
  }
  const uint64_t key = PromptCacheKey(voice, options);
  if (key != prompt_key) {
    prompt_key = 0;
    BuildPromptCache(voice, options, chunks, cancel);
    prompt_key = key;
  }
  flow.StartFrom(prompt, start);
  return true;
}

// One cache for both kinds: the whole prompt advanced in two steps, the voice-only chunks first
// (marked: exact starts there) and then the prompt's tail on its own (fast starts after it). The
// chunks' frames attend to no later frame, and the finalize form's zero lookahead does not reach
// them, so they are the same either way; the tail's mu is the prompt tokens' alone.
void StreamingState::BuildPromptCache(const Voice &voice, const FlowOptions &options, int64_t chunks,
                                      const CancelToken &cancel) {
  const auto t0 = SteadyClock::now();
  const FlowConfig &f = model.bundle.flow;
  const int64_t whole = voice.mel_frames(), m = f.mel_bins;
  std::vector<int64_t> tokens(voice.speech_tokens.begin(), voice.speech_tokens.end());
  const FlowEncoderGraph::Output enc = model.flow_encoder->Run(tokens, voice.speaker_embedding);
  CheckFiniteOutput(enc.mu.data(), enc.mu.size(), "flow encoder (mu)");  // as FlowMatching::Run does
  CheckFiniteOutput(enc.spks.data(), enc.spks.size(), "flow encoder (speaker projection)");
  if (enc.frames < whole)
    throw Error(ErrorCode::kRuntime, "streaming: the flow encoder gave fewer frames than the prompt's");
  prompt.Start(enc.spks, options);
  prompt.LimitCapacity(whole);  // no geometric growth past the prompt between the two advances
  auto advance = [&](int64_t from, int64_t to, AdvanceEnd end) {
    const int64_t n = to - from;
    std::vector<float> mu(static_cast<size_t>(m * n)), cond(static_cast<size_t>(m * n));
    for (int64_t c = 0; c < m; ++c) {
      std::memcpy(&mu[static_cast<size_t>(c * n)], &enc.mu[static_cast<size_t>(c * enc.frames + from)],
                  sizeof(float) * static_cast<size_t>(n));
      for (int64_t t = 0; t < n; ++t)
        cond[static_cast<size_t>(c * n + t)] = voice.prompt_mel[(from + t) * m + c];
    }
    prompt.Advance(mu.data(), cond.data(), n, end, cancel);
  };
  if (chunks > 0) advance(0, chunks, AdvanceEnd::kChunkBoundary);
  prompt.MarkFrames();
  if (whole > chunks) advance(chunks, whole, AdvanceEnd::kPromptEnd);
  ++prompt_builds;
  COSY_LOG(kDebug) << "streaming prompt cache: " << whole << " frames (" << chunks
                   << " in whole attention chunks), " << prompt.cache_bytes() / 1048576 << " MiB, "
                   << SecondsSince(t0) << " s";
}

}  // namespace cosyvoice
