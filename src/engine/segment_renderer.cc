// src/engine/segment_renderer.cc
#include "engine/segment_renderer.h"

#include <algorithm>

#include "common/timer.h"

namespace cosyvoice {

StreamSchedule StreamScheduleOf(const BundleConfig &b) {
  StreamSchedule s;
  s.token_hop_len = b.streaming.token_hop_len;
  s.token_max_hop_len = b.streaming.token_max_hop_len;
  s.stream_scale_factor = b.streaming.stream_scale_factor;
  s.pre_lookahead = b.flow.pre_lookahead;
  s.chunk_tokens = b.flow.static_chunk_size / b.flow.token_mel_ratio;
  return s;
}

SegmentRenderer::SegmentRenderer(const Model::Impl &model, const Voice &voice, const ResolvedOptions &options,
                                 bool stream, AudioEmitter &emit, SynthesisStats &stats,
                                 const CancelToken &cancel)
    : model_(model),
      options_(options),
      stream_(stream),
      emit_(emit),
      stats_(stats),
      cancel_(cancel),
      input_(Model::Impl::PromptFlowInput(voice)),
      scheduler_(StreamScheduleOf(model.bundle), static_cast<int>(voice.speech_tokens.size())) {}

void SegmentRenderer::Push(int token) {
  tokens_.push_back(token);
  if (!stream_) return;
  const auto t0 = SteadyClock::now();
  RunReadyChunks();
  push_seconds_ += SecondsSince(t0);
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

void SegmentRenderer::RunReadyChunks() {
  while (auto chunk = scheduler_.Next(static_cast<int>(tokens_.size()))) RunChunk(*chunk);
}

void SegmentRenderer::RunChunk(const StreamChunk &chunk) {
  cancel_.Check();
  auto t0 = SteadyClock::now();
  input_.tokens.assign(tokens_.begin(), tokens_.begin() + chunk.end);
  input_.finalize = chunk.final;
  input_.streaming = !chunk.final;  // upstream's last chunk runs with full attention
  int64_t frames = 0;
  const std::vector<float> mel = model_.flow->Run(input_, options_.flow, &frames, nullptr, cancel_);
  stats_.seconds.flow += SecondsSince(t0);
  AppendMel(mel, frames, static_cast<int64_t>(chunk.offset) * model_.bundle.flow.token_mel_ratio);

  cancel_.Check();
  t0 = SteadyClock::now();
  const std::vector<float> wav = model_.vocoder->Run(acc_mel_.data(), acc_frames_, chunk.final);
  stats_.seconds.vocoder += SecondsSince(t0);
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
  input_.tokens = tokens_;
  input_.finalize = true;
  input_.streaming = false;
  auto t0 = SteadyClock::now();
  int64_t frames = 0;
  std::vector<float> mel = model_.flow->Run(input_, options_.flow, &frames, nullptr, cancel_);
  stats_.seconds.flow += SecondsSince(t0);
  if (options_.speed != 1.0f) {  // upstream: F.interpolate(mel, size=int(frames / speed), mode='linear')
    const int64_t n = static_cast<int64_t>(static_cast<float>(frames) / options_.speed);
    mel = ResampleMelLinear(mel, model_.bundle.flow.mel_bins, frames, n);
    frames = n;
  }
  cancel_.Check();
  t0 = SteadyClock::now();
  const std::vector<float> wav = model_.vocoder->Run(mel.data(), frames, true);
  stats_.seconds.vocoder += SecondsSince(t0);
  emit_.Emit(wav.data(), wav.size(), true);
}

}  // namespace cosyvoice
