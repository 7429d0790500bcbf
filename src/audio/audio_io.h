// src/audio/audio_io.h - reading, checking and writing audio (libsndfile).
//
// Reading decodes WAV/FLAC/OGG (Vorbis, Opus)/MP3 and the other formats libsndfile knows into
// float samples in [-1, 1] (integer PCM is scaled by 1/32768 etc., as soundfile/torchaudio do),
// averaging the channels to mono in float32 the way `speech.mean(dim=0)` does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cosyvoice/audio.h"  // struct Audio

namespace cosyvoice {

// Reads a file. Errors (all name the file): Error(kIo) when it does not exist or cannot be opened
// for reading; Error(kInvalidAudio) when it is not audio libsndfile can decode (the message lists
// the supported formats), has no samples, or contains NaN/Inf.
Audio ReadAudio(const std::filesystem::path &path);

// The same from bytes in memory (an uploaded file); `name` is used in error messages.
Audio DecodeAudio(const void *data, size_t size, const std::string &name);

// What a prompt must satisfy (spec §2.1). The defaults are upstream's; max_seconds comes from the
// bundle config (the speech tokenizer's 30 s window), 0 disables the check.
struct AudioRequirements {
  int min_sample_rate = 16000;
  // Peak |x| below this is treated as silence: 1e-4 is -80 dBFS, under the noise floor of a
  // 16-bit recording's dither (~3e-5 rms) only a few LSBs above, and far below any speech.
  float silence_peak = 1e-4f;
  double max_seconds = 30.0;
};

// Throws Error(kInvalidAudio) naming `name` when the audio is empty, below the minimum rate,
// silent, longer than max_seconds, or has NaN/Inf samples.
void CheckAudio(const Audio &audio, const std::string &name, const AudioRequirements &req = {});

// Largest |sample| (0 for empty audio).
float PeakAmplitude(const std::vector<float> &samples);

// A file's audio at 16 kHz and 24 kHz, each resampled from the original samples (never one from
// the other), as the frontend needs them: x16 for the speech tokenizer and CAM++, x24 for the
// flow prompt mel.
struct PromptAudio {
  std::vector<float> x16;
  std::vector<float> x24;
  int original_rate = 0;
};
PromptAudio PreparePromptAudio(const Audio &audio, const std::string &name,
                               const AudioRequirements &req = {});

enum class WavEncoding {
  kPcm16,    // x*32768 truncated toward zero (numpy astype(int16)), clipped to [-32768, 32767]
  kFloat32,  // IEEE float, written as is
};

// Mono WAV at any rate. Error(kIo) naming the file when it cannot be written.
void WriteWav(const std::filesystem::path &path, const std::vector<float> &samples, int sample_rate,
              WavEncoding encoding = WavEncoding::kPcm16);
// The same WAV file as bytes (for HTTP responses).
std::vector<uint8_t> EncodeWav(const std::vector<float> &samples, int sample_rate,
                               WavEncoding encoding = WavEncoding::kPcm16);

// The int16 PCM value the official servers write for a float sample: (x * 2^15) cast to int16,
// i.e. truncated toward zero, here clipped first instead of wrapping.
int16_t FloatToPcm16(float x);

// "WAV, FLAC, OGG, MP3, ..." as reported by the linked libsndfile.
std::string SupportedAudioFormats();

}  // namespace cosyvoice
