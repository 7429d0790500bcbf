// cosyvoice/audio.h - audio buffers and files in the public API.
#pragma once

#include <string>
#include <vector>

namespace cosyvoice {

// Mono audio as float samples, nominally in [-1, 1].
struct Audio {
  std::vector<float> samples;
  int sample_rate = 0;
  double duration_seconds() const {
    return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0;
  }
};

// Reads WAV/FLAC/OGG/MP3 (what libsndfile reads), averaging channels to mono.
// Throws Error(kIo) when the file cannot be opened, Error(kInvalidAudio) for anything that is not
// decodable audio with samples; the message names the file.
Audio ReadAudioFile(const std::string &path);

// Writes a mono WAV: 16-bit PCM (`float_samples` false) or 32-bit float.
void WriteWavFile(const std::string &path, const Audio &audio, bool float_samples = false);

}  // namespace cosyvoice
