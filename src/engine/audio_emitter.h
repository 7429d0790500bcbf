// src/engine/audio_emitter.h - hands a request's audio to the caller as it is produced.
#pragma once

#include <cstddef>

#include "common/timer.h"
#include "cosyvoice/cosyvoice.h"

namespace cosyvoice {

// Passes each piece of audio to the request's callback (chunk by chunk) and, for Synthesize, to
// the output buffer (`out`; null for Session::Stream, which keeps no copy). Records when the first
// audio left. A callback that returns false stops the request with Error(kCancelled).
class AudioEmitter {
 public:
  AudioEmitter(const AudioCallback &callback, Audio *out, int sample_rate, SynthesisStats &stats,
               SteadyClock::time_point start);

  void BeginSegment(int segment, int num_segments);
  // `samples` may be null when n is 0 (an empty, final chunk of a segment).
  void Emit(const float *samples, size_t n, bool segment_done);
  size_t samples_emitted() const { return total_; }
  // Seconds since the request's call.
  double elapsed() const { return SecondsSince(start_); }

 private:
  const AudioCallback &callback_;
  Audio *out_;
  int rate_;
  SynthesisStats &stats_;
  SteadyClock::time_point start_;
  int segment_ = 0, segments_ = 1;
  size_t total_ = 0;
};

}  // namespace cosyvoice
