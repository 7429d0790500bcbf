// src/audio/features.h - the three feature extractors of the CosyVoice3 frontend (spec §4).
//
//   KaldiFbank(x16)     [M, 80]   CAM++ input: torchaudio.compliance.kaldi.fbank(num_mel_bins=80,
//                                 dither=0) minus its per-utterance mean; M = 1 + (N-400)/160
//   WhisperLogMel(x16)  [128, T]  speech-tokenizer input: whisper.log_mel_spectrogram(n_mels=128);
//                                 T = N/160
//   MatchaMel(x24)      [T, 80]   flow prompt: matcha mel_spectrogram(n_fft 1920, hop 480, 80 mels,
//                                 fmax 12 kHz), transposed to frames x bins; T = N/480
//
// Each follows the reference's float32 arithmetic where rounding matters (see fft.h and
// reference_math.h), so on the reference machine the outputs agree with PyTorch to ~1e-6.
// Inputs shorter than the minimum below are rejected with Error(kInvalidAudio).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "audio/fft.h"
#include "audio/mel_filters.h"

namespace cosyvoice {

// A row-major float32 matrix.
struct FeatureMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> data;
  float at(int64_t r, int64_t c) const { return data[static_cast<size_t>(r * cols + c)]; }
  std::vector<int64_t> shape() const { return {rows, cols}; }
};

class KaldiFbankExtractor {
 public:
  static constexpr int kSampleRate = 16000;
  static constexpr int kFrameLength = 400;  // 25 ms
  static constexpr int kFrameShift = 160;   // 10 ms
  static constexpr int kPaddedLength = 512;
  static constexpr int kNumBins = 80;
  static constexpr size_t kMinSamples = kFrameLength;

  KaldiFbankExtractor();
  // 1 + (n - 400) / 160 frames (snip_edges), 0 below one frame.
  static int64_t NumFrames(size_t num_samples);
  // [M, 80] after subtracting the mean over frames (what campplus.onnx takes).
  FeatureMatrix Compute(const float *x16, size_t n, bool subtract_mean = true) const;

  const std::vector<float> &window() const { return window_; }
  const SparseFilterbank &mel_banks() const { return banks_; }

 private:
  std::vector<float> window_;
  SparseFilterbank banks_;  // [80, 257]
  RealFft fft_;
};

class WhisperLogMelExtractor {
 public:
  static constexpr int kSampleRate = 16000;
  static constexpr int kNFft = 400;
  static constexpr int kHop = 160;
  // torch.stft(center=True) reflect-pads n_fft/2 = 200 samples, which needs at least 201 samples.
  static constexpr size_t kMinSamples = kNFft / 2 + 1;

  explicit WhisperLogMelExtractor(int n_mels = 128);
  static int64_t NumFrames(size_t num_samples) { return static_cast<int64_t>(num_samples / kHop); }
  // [n_mels, N/160]
  FeatureMatrix Compute(const float *x16, size_t n) const;

  int n_mels() const { return n_mels_; }
  const std::vector<float> &window() const { return window_; }
  const SparseFilterbank &filters() const { return filters_; }

 private:
  int n_mels_;
  std::vector<float> window_;
  SparseFilterbank filters_;  // [n_mels, 201]
  RealFft fft_;
};

class MatchaMelExtractor {
 public:
  static constexpr int kSampleRate = 24000;
  static constexpr int kNFft = 1920;
  static constexpr int kHop = 480;
  static constexpr int kNumMels = 80;
  static constexpr int kPad = (kNFft - kHop) / 2;  // 720, reflect padding on each side
  static constexpr size_t kMinSamples = kPad + 1;

  MatchaMelExtractor();
  static int64_t NumFrames(size_t num_samples) { return static_cast<int64_t>(num_samples / kHop); }
  // [N/480, 80]
  FeatureMatrix Compute(const float *x24, size_t n) const;

  const std::vector<float> &window() const { return window_; }
  const SparseFilterbank &filters() const { return filters_; }

 private:
  std::vector<float> window_;
  SparseFilterbank filters_;  // [80, 961]
  RealFft fft_;
};

// Shared, lazily built extractors (construction computes windows and filterbanks once).
FeatureMatrix KaldiFbank(const std::vector<float> &x16);
FeatureMatrix WhisperLogMel(const std::vector<float> &x16);
FeatureMatrix MatchaMel(const std::vector<float> &x24);

// torch's float32 sum of a contiguous row (ATen's cascade sum with 8-lane vectors and 4-way ILP).
// Kaldi's per-frame DC removal subtracts sum/400; reproducing the summation order keeps the frames
// that enter the FFT identical to the reference's.
float TorchContiguousSum(const float *x, size_t n);

}  // namespace cosyvoice
