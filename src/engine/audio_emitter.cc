// src/engine/audio_emitter.cc
#include "engine/audio_emitter.h"

namespace cosyvoice {

AudioEmitter::AudioEmitter(const AudioCallback &callback, Audio *out, int sample_rate, SynthesisStats &stats,
                           SteadyClock::time_point start)
    : callback_(callback), out_(out), rate_(sample_rate), stats_(stats), start_(start) {}

void AudioEmitter::BeginSegment(int segment, int num_segments) {
  segment_ = segment;
  segments_ = num_segments;
}

void AudioEmitter::Emit(const float *samples, size_t n, bool segment_done) {
  if (n == 0 && !segment_done) return;
  if (stats_.first_audio_seconds == 0 && n > 0) stats_.first_audio_seconds = SecondsSince(start_);
  total_ += n;
  if (out_ != nullptr && n > 0) out_->samples.insert(out_->samples.end(), samples, samples + n);
  if (!callback_) return;
  AudioChunk c;
  c.samples = samples;
  c.num_samples = n;
  c.sample_rate = rate_;
  c.segment = segment_;
  c.num_segments = segments_;
  c.segment_done = segment_done;
  if (!callback_(c)) throw Error(ErrorCode::kCancelled, "synthesis cancelled by the callback");
}

}  // namespace cosyvoice
