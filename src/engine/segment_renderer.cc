// src/engine/segment_renderer.cc
#include "engine/segment_renderer.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "common/log.h"
#include "common/timer.h"
#include "cosyvoice/error.h"
#include "engine/finite_check.h"
#include "engine/incremental_vocoder.h"

namespace cosyvoice {

// Offline segments longer than this many mel frames (5 s of audio at 50 frames/s) go through the
// vocoder in windows of this size (VocodeOffline).
constexpr int64_t kOfflineVocoderWindow = 250;

// StreamSchedule::early_first_hop in fast mode (= python streaming.EARLY_FIRST_HOP).
constexpr int kFastEarlyFirstHop = 5;

StreamSchedule StreamScheduleOf(const BundleConfig &b, StreamMode mode) {
  StreamSchedule s;
  s.token_hop_len = b.streaming.token_hop_len;
  s.token_max_hop_len = b.streaming.token_max_hop_len;
  s.stream_scale_factor = b.streaming.stream_scale_factor;
  s.pre_lookahead = b.flow.pre_lookahead;
  s.chunk_tokens = b.flow.static_chunk_size / b.flow.token_mel_ratio;
  if (mode == StreamMode::kFast) {  // no recomputation to amortize: one attention chunk per emission
    s.token_hop_len = s.token_max_hop_len = s.chunk_tokens;
    s.stream_scale_factor = 1;
    s.early_first_hop = kFastEarlyFirstHop;  // the first audio at the first attention-chunk boundary
  }
  return s;
}

SegmentRenderer::SegmentRenderer(const Model::Impl &model, const Voice &voice, const ResolvedOptions &options,
                                 bool stream, StreamingState *incremental, AudioEmitter &emit,
                                 SynthesisStats &stats, const CancelToken &cancel)
    : model_(model),
      options_(options),
      stream_(stream),
      inc_(stream && options.stream_mode != StreamMode::kRecompute ? incremental : nullptr),
      emit_(emit),
      stats_(stats),
      cancel_(cancel),
      input_(Model::Impl::PromptFlowInput(voice)),
      scheduler_(StreamScheduleOf(model.bundle, stream ? options.stream_mode : StreamMode::kRecompute),
                 static_cast<int>(voice.speech_tokens.size())) {
  if (stream && options.stream_mode != StreamMode::kRecompute && inc_ == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "streaming: mode needs the Session's streaming state");
  }
  if (inc_ != nullptr) {
    const auto t0 = SteadyClock::now();
    if (!inc_->StartSegment(voice, options.flow, PromptCacheOf(options.stream_mode),
                            model.config.max_stream_cache_bytes, cancel))
      FallBackToRecompute();  // the voice's prompt cache alone would pass the limit
    x_base_ = flow_frames_ = inc_->flow.frames();
    stats_.seconds.flow += SecondsSince(t0);
  }
}

void SegmentRenderer::Push(int token) {
  tokens_.push_back(token);
  if (!stream_) return;
  if (inc_ != nullptr) AdvanceFlow(false);
  RunReadyChunks();
}

void SegmentRenderer::Finish() {
  if (tokens_.empty()) {
    emit_.Emit(nullptr, 0, true);
    return;
  }
  if (!stream_) {
    RenderOffline();
    return;
  }
  RunReadyChunks();
  RunChunk(scheduler_.Final(static_cast<int>(tokens_.size())));
}

int SegmentRenderer::TokensToNextChunk() const {
  return stream_ ? scheduler_.TokensToNextChunk(static_cast<int>(tokens_.size())) : -1;
}

void SegmentRenderer::RunReadyChunks() {
  while (auto chunk = scheduler_.Next(static_cast<int>(tokens_.size()))) RunChunk(*chunk);
}

// ---- the flow, incrementally -------------------------------------------------------------------

void SegmentRenderer::AdvanceFlow(bool final) {
  const FlowConfig &f = model_.bundle.flow;
  const int64_t k = static_cast<int64_t>(input_.prompt_tokens.size());
  const int64_t n = static_cast<int64_t>(tokens_.size());
  // mu is final for the frames whose tokens' lookahead exists; all of them at the end
  const int64_t avail = f.token_mel_ratio * (final ? k + n : k + n - f.pre_lookahead);
  const int64_t target = final ? avail : avail / f.static_chunk_size * f.static_chunk_size;
  const int64_t lo = flow_frames_;
  if (target <= lo) return;
  if (!recompute_flow_ && !CacheFits(target)) FallBackToRecompute();
  const auto t0 = SteadyClock::now();
  const std::vector<float> x =
      recompute_flow_ ? RecomputedFlowFrames(lo, target, final) : CachedFlowFrames(lo, target, final);
  const int64_t m = f.mel_bins, s = target - lo;
  const size_t old = x_.size();
  x_.resize(old + static_cast<size_t>(m * s));
  for (int64_t t = 0; t < s; ++t) {
    for (int64_t c = 0; c < m; ++c)
      x_[old + static_cast<size_t>(t * m + c)] = x[static_cast<size_t>(c * s + t)];
  }
  flow_frames_ = target;
  stats_.seconds.flow += SecondsSince(t0);
  if (!recompute_flow_)
    stats_.stream_cache_bytes = std::max<uint64_t>(stats_.stream_cache_bytes, inc_->flow.cache_bytes());
}

std::vector<float> SegmentRenderer::CachedFlowFrames(int64_t lo, int64_t target, bool final) {
  const FlowConfig &f = model_.bundle.flow;
  std::vector<int64_t> all(input_.prompt_tokens.begin(), input_.prompt_tokens.end());
  all.insert(all.end(), tokens_.begin(), tokens_.end());
  std::vector<float> emb(input_.embedding, input_.embedding + f.spk_embed_dim);
  const FlowEncoderGraph::Output enc = model_.flow_encoder->Run(all, emb);  // finalize form
  CheckFiniteOutput(enc.mu.data(), enc.mu.size(), "flow encoder (mu)");     // as FlowMatching::Run checks it
  const int64_t s = target - lo, m = f.mel_bins;
  std::vector<float> mu(static_cast<size_t>(m * s)), cond(static_cast<size_t>(m * s), 0.f);
  for (int64_t c = 0; c < m; ++c) {
    std::memcpy(&mu[static_cast<size_t>(c * s)], &enc.mu[static_cast<size_t>(c * enc.frames + lo)],
                sizeof(float) * static_cast<size_t>(s));
    for (int64_t t = lo; t < std::min(target, input_.prompt_frames); ++t) {
      cond[static_cast<size_t>(c * s + t - lo)] = input_.prompt_mel[t * m + c];
    }
  }
  stats_.flow_frame_steps += s * options_.flow.n_timesteps;
  return inc_->flow.Advance(mu.data(), cond.data(), s,
                            final ? AdvanceEnd::kFinal : AdvanceEnd::kChunkBoundary, cancel_);
}

// One flow pass over the prompt and the first `num_tokens` tokens (its work counted; its time is the
// caller's to count): returns the generated frames' mel [mel_bins, *frames].
std::vector<float> SegmentRenderer::FlowPass(size_t num_tokens, bool finalize, bool streaming,
                                             int64_t *frames) {
  input_.tokens.assign(tokens_.begin(), tokens_.begin() + static_cast<std::ptrdiff_t>(num_tokens));
  input_.finalize = finalize;
  input_.streaming = streaming;
  FlowStats fs;
  std::vector<float> mel = model_.flow->Run(input_, options_.flow, frames, &fs, cancel_);
  stats_.flow_frame_steps += fs.frames * fs.steps;
  return mel;
}

// Frames before `target` (an attention chunk boundary, or the end) attend to no later frame under
// the chunk mask, so one streaming-mask pass over everything gives them as the cache would (the
// equality `exact` rests on, docs/streaming.md §2); the final pass keeps the mask too, as `fast`'s
// final advance does. Frames of the prompt (before prompt_frames) are never vocoded: left zero.
std::vector<float> SegmentRenderer::RecomputedFlowFrames(int64_t lo, int64_t target, bool final) {
  const int64_t p = input_.prompt_frames, s = target - lo, m = model_.bundle.flow.mel_bins;
  std::vector<float> x(static_cast<size_t>(m * s), 0.f);
  if (target <= p) return x;  // prompt frames only (a segment that recomputes from its start)
  if (PromptCacheOf(options_.stream_mode) == PromptCache::kWholePrompt) {
    const std::vector<float> after = RecomputedAfterWholePrompt(target);
    for (int64_t c = 0; c < m; ++c) {
      for (int64_t t = std::max(lo, p); t < target; ++t)
        x[static_cast<size_t>(c * s + t - lo)] = after[static_cast<size_t>(c * (target - p) + t - p)];
    }
    return x;
  }
  int64_t frames = 0;
  const std::vector<float> mel = FlowPass(tokens_.size(), final, /*streaming=*/true, &frames);
  if (target - p > frames)
    throw Error(ErrorCode::kRuntime, "streaming: recomputed flow ends before the chunk");
  for (int64_t c = 0; c < m; ++c) {
    for (int64_t t = std::max(lo, p); t < target; ++t)
      x[static_cast<size_t>(c * s + t - lo)] = mel[static_cast<size_t>(c * frames + t - p)];
  }
  return x;
}

// `fast` (the prompt on its own, docs/streaming.md §8.5): the prompt's mu from its tokens alone and
// the frames after it from every token so far, solved per ODE step through the chunk graph as the
// cache would give them (SolveAfterWholePrompt). Returns frames [prompt_frames, target).
std::vector<float> SegmentRenderer::RecomputedAfterWholePrompt(int64_t target) {
  const FlowConfig &f = model_.bundle.flow;
  const int64_t p = input_.prompt_frames, n = target - p, m = f.mel_bins;
  const std::vector<float> emb(input_.embedding, input_.embedding + f.spk_embed_dim);
  std::vector<int64_t> tokens(input_.prompt_tokens.begin(), input_.prompt_tokens.end());
  const FlowEncoderGraph::Output prompt = model_.flow_encoder->Run(tokens, emb);  // finalize form
  tokens.insert(tokens.end(), tokens_.begin(), tokens_.end());
  const FlowEncoderGraph::Output all = model_.flow_encoder->Run(tokens, emb);
  CheckFiniteOutput(prompt.mu.data(), prompt.mu.size(), "flow encoder (mu)");
  CheckFiniteOutput(all.mu.data(), all.mu.size(), "flow encoder (mu)");
  if (prompt.frames < p || all.frames < target)
    throw Error(ErrorCode::kRuntime, "streaming: the flow encoder gave fewer frames than the chunk needs");
  std::vector<float> prompt_mu(static_cast<size_t>(m * p)), prompt_cond(static_cast<size_t>(m * p));
  std::vector<float> mu(static_cast<size_t>(m * n)), cond(static_cast<size_t>(m * n), 0.f);
  for (int64_t c = 0; c < m; ++c) {
    std::memcpy(&prompt_mu[static_cast<size_t>(c * p)], &prompt.mu[static_cast<size_t>(c * prompt.frames)],
                sizeof(float) * static_cast<size_t>(p));
    for (int64_t t = 0; t < p; ++t)
      prompt_cond[static_cast<size_t>(c * p + t)] = input_.prompt_mel[t * m + c];
    std::memcpy(&mu[static_cast<size_t>(c * n)], &all.mu[static_cast<size_t>(c * all.frames + p)],
                sizeof(float) * static_cast<size_t>(n));
  }
  stats_.flow_frame_steps += target * options_.flow.n_timesteps;
  return SolveAfterWholePrompt(*model_.flow_chunk(), model_.flow_noise, f, options_.flow, all.spks,
                               prompt_mu.data(), prompt_cond.data(), p, mu.data(), cond.data(), n, cancel_);
}

bool SegmentRenderer::CacheFits(int64_t target) {
  if (model_.config.max_stream_cache_bytes == 0) return true;
  const size_t limit = static_cast<size_t>(model_.config.max_stream_cache_bytes);
  const size_t prompt = inc_->prompt.cache_bytes();
  const int64_t frames = prompt < limit ? inc_->flow.FramesWithin(limit - prompt) : 0;
  inc_->flow.LimitCapacity(frames);
  return target <= frames;
}

void SegmentRenderer::FallBackToRecompute() {
  const int64_t limit = model_.config.max_stream_cache_bytes;  // whole MiB from the CLI, C and Python
  const std::string limit_text =
      limit % 1048576 == 0 ? std::to_string(limit / 1048576) + " MiB" : std::to_string(limit) + " bytes";
  COSY_LOG(kWarning) << "streaming: the segment's cache would pass its limit of " << limit_text
                     << " (max_stream_cache) at " << flow_frames_
                     << " mel frames; the rest of the segment recomputes the flow per chunk "
                        "(docs/streaming.md §5.2)";
  recompute_flow_ = true;
  inc_->flow.Release();
  ++stats_.stream_cache_fallbacks;
}

std::vector<float> SegmentRenderer::FlowFrames(int64_t from, int64_t to) const {
  const int64_t m = model_.bundle.flow.mel_bins, n = to - from;
  std::vector<float> mel(static_cast<size_t>(m * n));
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t c = 0; c < m; ++c) {
      mel[static_cast<size_t>(c * n + t)] = x_[static_cast<size_t>((from - x_base_ + t) * m + c)];
    }
  }
  return mel;
}

void SegmentRenderer::Vocode(const std::vector<float> &mel, int64_t frames, bool final) {
  cancel_.Check();
  const auto t0 = SteadyClock::now();
  IncrementalVocoder &v = inc_->vocoder;
  const int64_t before = v.generator_frames();
  const std::vector<float> wav = v.Push(mel.data(), frames, final);
  stats_.seconds.vocoder += SecondsSince(t0);
  stats_.vocoder_frames += v.generator_frames() - before;
  emit_.Emit(wav.data(), wav.size(), final);
}

// ---- chunks ------------------------------------------------------------------------------------

void SegmentRenderer::RunChunk(const StreamChunk &chunk) {
  cancel_.Check();
  const int64_t ratio = model_.bundle.flow.token_mel_ratio;
  if (inc_ != nullptr) {
    const int64_t from = input_.prompt_frames + chunk.offset * ratio;
    if (chunk.final && options_.stream_mode == StreamMode::kExact) {
      // upstream's final chunk: full attention over everything, so nothing cached applies
      const auto t0 = SteadyClock::now();
      int64_t frames = 0;
      const std::vector<float> mel =
          FlowPass(tokens_.size(), /*finalize=*/true, /*streaming=*/false, &frames);
      stats_.seconds.flow += SecondsSince(t0);
      const int64_t skip = chunk.offset * ratio, n = frames - skip, m = model_.bundle.flow.mel_bins;
      std::vector<float> tail(static_cast<size_t>(m * n));
      for (int64_t c = 0; c < m; ++c) {
        std::memcpy(&tail[static_cast<size_t>(c * n)], &mel[static_cast<size_t>(c * frames + skip)],
                    sizeof(float) * static_cast<size_t>(n));
      }
      Vocode(tail, n, true);
      return;
    }
    if (chunk.final) AdvanceFlow(true);
    const int64_t to = chunk.final ? flow_frames_ : input_.prompt_frames + (chunk.offset + chunk.hop) * ratio;
    if (to > flow_frames_) throw Error(ErrorCode::kRuntime, "streaming: chunk beyond the flow's frames");
    Vocode(FlowFrames(from, to), to - from, chunk.final);
    return;
  }
  auto t0 = SteadyClock::now();
  int64_t frames = 0;
  // upstream's last chunk runs with full attention
  const std::vector<float> mel =
      FlowPass(static_cast<size_t>(chunk.end), chunk.final, /*streaming=*/!chunk.final, &frames);
  stats_.seconds.flow += SecondsSince(t0);
  AppendMel(mel, frames, static_cast<int64_t>(chunk.offset) * ratio);

  cancel_.Check();
  t0 = SteadyClock::now();
  const std::vector<float> wav = model_.vocoder->Run(acc_mel_.data(), acc_frames_, chunk.final);
  stats_.seconds.vocoder += SecondsSince(t0);
  stats_.vocoder_frames += acc_frames_;
  const size_t n = wav.size() > emitted_samples_ ? wav.size() - emitted_samples_ : 0;
  emit_.Emit(wav.data() + emitted_samples_, n, chunk.final);
  emitted_samples_ += n;
}

void SegmentRenderer::AppendMel(const std::vector<float> &mel, int64_t frames, int64_t from_frame) {
  const int64_t bins = model_.bundle.flow.mel_bins;
  const int64_t add = std::max<int64_t>(0, frames - from_frame);
  std::vector<float> merged(static_cast<size_t>(bins * (acc_frames_ + add)));
  for (int64_t c = 0; c < bins; ++c) {
    std::copy_n(acc_mel_.begin() + c * acc_frames_, acc_frames_, merged.begin() + c * (acc_frames_ + add));
    std::copy_n(mel.begin() + c * frames + from_frame, add,
                merged.begin() + c * (acc_frames_ + add) + acc_frames_);
  }
  acc_mel_.swap(merged);
  acc_frames_ += add;
}

void SegmentRenderer::RenderOffline() {
  auto t0 = SteadyClock::now();
  int64_t frames = 0;
  std::vector<float> mel = FlowPass(tokens_.size(), /*finalize=*/true, /*streaming=*/false, &frames);
  stats_.seconds.flow += SecondsSince(t0);
  if (options_.speed != 1.0f) {  // upstream: F.interpolate(mel, size=int(frames / speed), mode='linear')
    const int64_t n = static_cast<int64_t>(static_cast<float>(frames) / options_.speed);
    mel = ResampleMelLinear(mel, model_.bundle.flow.mel_bins, frames, n);
    frames = n;
  }
  VocodeOffline(mel, frames);
}

// A long segment goes through the vocoder in windows, each window's audio emitted as it is made:
// HiFT's working set grows with the samples it renders at once (about 6 MB per second of audio on
// the tiny model, docs/memory.md), and one segment can hold 30 s and more, which kept a long
// text's peak memory above its shortest sentence's by the working set of its longest segment
// (issue 14). The incremental vocoder of streaming gives the samples one Vocoder::Run over all
// frames gives, up to float32 summation order (docs/streaming.md §2); its extra work is the left
// context and lookahead of each window (31 + 8 frames of 250 with the release's HiFT).
void SegmentRenderer::VocodeOffline(const std::vector<float> &mel, int64_t frames) {
  cancel_.Check();
  const auto t0 = SteadyClock::now();
  const HiftConfig &h = model_.bundle.hift;
  if (frames <= kOfflineVocoderWindow || h.left_context_frames < 1) {  // (older bundles: no windows)
    const std::vector<float> wav = model_.vocoder->Run(mel.data(), frames, true);
    stats_.seconds.vocoder += SecondsSince(t0);
    stats_.vocoder_frames += frames;
    emit_.Emit(wav.data(), wav.size(), true);
    return;
  }
  IncrementalVocoder vocoder(*model_.hift_f0, *model_.hift_generator, *model_.vocoder, h,
                             model_.bundle.flow.mel_bins);
  double emitting = 0;  // the callback's time is not the vocoder's
  VocodeInWindows(vocoder, mel.data(), model_.bundle.flow.mel_bins, frames, kOfflineVocoderWindow,
                  [&](const std::vector<float> &wav, bool final) {
                    const auto te = SteadyClock::now();
                    emit_.Emit(wav.data(), wav.size(), final);
                    emitting += SecondsSince(te);
                    if (!final) cancel_.Check();
                  });
  stats_.seconds.vocoder += SecondsSince(t0) - emitting;
  stats_.vocoder_frames += vocoder.generator_frames();
}

}  // namespace cosyvoice
