// src/capi/owned_audio.h - cosyvoice_audio buffers handed to C callers.
#pragma once

#include <utility>
#include <vector>

#include "cosyvoice/audio.h"
#include "cosyvoice/cosyvoice_c.h"

namespace cosyvoice::capi {

// The public struct points into `storage`, which it owns, so a synthesized vector is given away
// without a copy. cosyvoice_audio_free deletes the OwnedAudio.
struct OwnedAudio : cosyvoice_audio {
  explicit OwnedAudio(Audio audio) : cosyvoice_audio{}, storage(std::move(audio.samples)) {
    samples = storage.data();
    num_samples = storage.size();
    sample_rate = audio.sample_rate;
  }
  std::vector<float> storage;
};

inline cosyvoice_audio *GiveAway(Audio audio) {
  return new OwnedAudio(std::move(audio));
}

}  // namespace cosyvoice::capi
