// src/audio/features.cc
//
// Compiled with -ffp-contract=off: the frames that enter the FFT must be rounded exactly like the
// reference's separate float32 multiply and subtract kernels. The final logs use <cmath>: a 1-ulp
// difference there is ~1e-7 in the output, and glibc's logf is several times faster than the
// out-of-line SLEEF call (the windows, where 1 ulp matters, use reference_math.h).
#include "audio/features.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <complex>
#include <string>

#include "audio/reference_math.h"
#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

// ---- torch's cascade sum (ATen SumKernel), float accumulators --------------------------------
using Vec8 = std::array<float, 8>;  // at::vec::Vectorized<float> on AVX2 and on the default path
inline float Add(float a, float b) {
  return a + b;
}
inline Vec8 Add(const Vec8 &a, const Vec8 &b) {
  Vec8 r;
  for (size_t i = 0; i < r.size(); ++i) r[i] = a[i] + b[i];
  return r;
}
template <typename T>
T Zero() {
  return T{};
}

int64_t CeilLog2(int64_t x) {
  if (x <= 2) return 1;
  return 64 - __builtin_clzll(static_cast<unsigned long long>(x - 1));
}

// Sums `size` rows of 4 accumulators at once in up to 4 levels of chunks (multi_row_sum).
template <typename T, typename Load>
std::array<T, 4> MultiRowSum(const Load &load, int64_t size) {
  constexpr int kLevels = 4;
  const int64_t level_power = std::max<int64_t>(4, CeilLog2(size) / kLevels);
  const int64_t level_step = int64_t{1} << level_power;
  const int64_t level_mask = level_step - 1;
  std::array<std::array<T, 4>, kLevels> acc;
  for (auto &level : acc) level.fill(Zero<T>());
  int64_t i = 0;
  while (i + level_step <= size) {
    for (int64_t j = 0; j < level_step; ++j, ++i)
      for (int k = 0; k < 4; ++k) acc[0][k] = Add(acc[0][k], load(i, k));
    for (int j = 1; j < kLevels; ++j) {
      for (int k = 0; k < 4; ++k) {
        acc[j][k] = Add(acc[j][k], acc[j - 1][k]);
        acc[j - 1][k] = Zero<T>();
      }
      if ((i & (level_mask << (j * level_power))) != 0) break;
    }
  }
  for (; i < size; ++i)
    for (int k = 0; k < 4; ++k) acc[0][k] = Add(acc[0][k], load(i, k));
  for (int j = 1; j < kLevels; ++j)
    for (int k = 0; k < 4; ++k) acc[0][k] = Add(acc[0][k], acc[j][k]);
  return acc[0];
}

// row_sum: the row viewed as (-1, 4) for instruction-level parallelism, then the tail.
template <typename T, typename Load>
T RowSum(const Load &load, int64_t size) {
  const int64_t size_ilp = size / 4;
  auto partial = MultiRowSum<T>([&](int64_t i, int k) { return load(i * 4 + k); }, size_ilp);
  for (int64_t i = size_ilp * 4; i < size; ++i) partial[0] = Add(partial[0], load(i));
  for (int k = 1; k < 4; ++k) partial[0] = Add(partial[0], partial[k]);
  return partial[0];
}

// ---- helpers -------------------------------------------------------------------------------
// torch.nn.functional.pad(mode='reflect'): the edge sample is not repeated.
std::vector<float> ReflectPad(const float *x, size_t n, size_t pad) {
  std::vector<float> out(n + 2 * pad);
  const auto N = static_cast<int64_t>(n);
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t j = static_cast<int64_t>(i) - static_cast<int64_t>(pad);
    if (j < 0) j = -j;
    if (j >= N) j = 2 * (N - 1) - j;
    out[i] = x[j];
  }
  return out;
}

// |X|^2 as torch's `abs() ** 2` on a complex float tensor: sqrt(re^2 + im^2), squared.
inline float PowerOf(std::complex<float> c) {
  const float a = std::sqrt(c.real() * c.real() + c.imag() * c.imag());
  return a * a;
}

void CheckLength(size_t n, size_t min_samples, int sample_rate, const char *what) {
  if (n < min_samples)
    throw Error(ErrorCode::kInvalidAudio, std::string(what) + ": audio has " + std::to_string(n) +
                                              " samples at " + std::to_string(sample_rate) +
                                              " Hz; expected at least " + std::to_string(min_samples));
}

}  // namespace

float TorchContiguousSum(const float *x, size_t n) {
  constexpr size_t kLanes = 8;
  const auto size = static_cast<int64_t>(n);
  if (n >= kLanes) {  // vectorized_inner_sum
    const int64_t num_vec = size / static_cast<int64_t>(kLanes);
    const Vec8 v = RowSum<Vec8>(
        [&](int64_t i) {
          Vec8 r;
          std::copy(x + i * 8, x + i * 8 + 8, r.begin());
          return r;
        },
        num_vec);
    float total = 0.0f;
    for (int64_t k = num_vec * 8; k < size; ++k) total += x[k];
    for (float lane : v) total += lane;
    return total;
  }
  return RowSum<float>([&](int64_t i) { return x[i]; }, size);  // scalar_inner_sum
}

// ---- Kaldi fbank ---------------------------------------------------------------------------
KaldiFbankExtractor::KaldiFbankExtractor()
    : window_(PoveyWindow(kFrameLength)),
      banks_(KaldiMelBanks(kNumBins, kPaddedLength, kSampleRate, 20.0, 0.0), kNumBins, kPaddedLength / 2 + 1),
      fft_(kPaddedLength) {}

int64_t KaldiFbankExtractor::NumFrames(size_t num_samples) {
  if (num_samples < static_cast<size_t>(kFrameLength)) return 0;
  return 1 + static_cast<int64_t>((num_samples - kFrameLength) / kFrameShift);
}

FeatureMatrix KaldiFbankExtractor::Compute(const float *x16, size_t n, bool subtract_mean) const {
  CheckLength(n, kMinSamples, kSampleRate, "kaldi fbank");
  FeatureMatrix out;
  out.rows = NumFrames(n);
  out.cols = kNumBins;
  out.data.resize(static_cast<size_t>(out.rows * out.cols));
  std::array<float, kFrameLength> centered;
  std::vector<float> frame(kPaddedLength, 0.0f), power(kPaddedLength / 2 + 1), work;
  std::vector<std::complex<float>> spectrum(kPaddedLength / 2 + 1);
  constexpr float kPreemphasis = 0.97f;
  for (int64_t f = 0; f < out.rows; ++f) {
    const float *s = x16 + f * kFrameShift;
    const float mean = TorchContiguousSum(s, kFrameLength) / static_cast<float>(kFrameLength);
    for (int j = 0; j < kFrameLength; ++j) centered[j] = s[j] - mean;
    for (int j = 0; j < kFrameLength; ++j) {
      const float previous = centered[j > 0 ? j - 1 : 0];  // replicate padding: x[-1] := x[0]
      frame[j] = (centered[j] - kPreemphasis * previous) * window_[j];
    }
    fft_.Forward(frame.data(), spectrum.data(), work);
    for (size_t k = 0; k < spectrum.size(); ++k) power[k] = PowerOf(spectrum[k]);
    float *row = out.data.data() + f * kNumBins;
    banks_.Apply(power.data(), row);
    for (int b = 0; b < kNumBins; ++b) row[b] = std::log(std::max(row[b], FLT_EPSILON));
  }
  if (subtract_mean) {
    for (int b = 0; b < kNumBins; ++b) {
      double sum = 0.0;
      for (int64_t f = 0; f < out.rows; ++f) sum += static_cast<double>(out.data[f * kNumBins + b]);
      const auto mean = static_cast<float>(sum / static_cast<double>(out.rows));
      for (int64_t f = 0; f < out.rows; ++f) out.data[f * kNumBins + b] -= mean;
    }
  }
  return out;
}

// ---- Whisper log-mel -----------------------------------------------------------------------
WhisperLogMelExtractor::WhisperLogMelExtractor(int n_mels)
    : n_mels_(n_mels),
      window_(HannWindow(kNFft, true)),
      filters_(SlaneyMelFilters(kSampleRate, kNFft, n_mels, 0.0, 0.0), n_mels, kNFft / 2 + 1),
      fft_(kNFft) {}

FeatureMatrix WhisperLogMelExtractor::Compute(const float *x16, size_t n) const {
  CheckLength(n, kMinSamples, kSampleRate, "whisper log-mel");
  const std::vector<float> padded = ReflectPad(x16, n, kNFft / 2);
  FeatureMatrix out;
  out.rows = n_mels_;
  out.cols = NumFrames(n);  // the centred STFT has one more frame; Whisper drops the last
  out.data.resize(static_cast<size_t>(out.rows * out.cols));
  std::vector<float> frame(kNFft), power(kNFft / 2 + 1), work;
  std::vector<std::complex<float>> spectrum(kNFft / 2 + 1);
  const auto T = static_cast<size_t>(out.cols);
  for (size_t t = 0; t < T; ++t) {
    const float *s = padded.data() + t * kHop;
    for (int j = 0; j < kNFft; ++j) frame[j] = s[j] * window_[j];
    fft_.Forward(frame.data(), spectrum.data(), work);
    for (size_t k = 0; k < spectrum.size(); ++k) power[k] = PowerOf(spectrum[k]);
    filters_.Apply(power.data(), out.data.data() + t, T);
  }
  float max_value = -INFINITY;
  for (float &v : out.data) {
    v = std::log10(std::max(v, 1e-10f));
    max_value = std::max(max_value, v);
  }
  const float floor_value = max_value - 8.0f;  // 80 dB below the loudest bin of the utterance
  for (float &v : out.data) v = (std::max(v, floor_value) + 4.0f) / 4.0f;
  return out;
}

// ---- Matcha mel ----------------------------------------------------------------------------
MatchaMelExtractor::MatchaMelExtractor()
    : window_(HannWindow(kNFft, true)),
      filters_(SlaneyMelFilters(kSampleRate, kNFft, kNumMels, 0.0, 0.0), kNumMels, kNFft / 2 + 1),
      fft_(kNFft) {}

FeatureMatrix MatchaMelExtractor::Compute(const float *x24, size_t n) const {
  CheckLength(n, kMinSamples, kSampleRate, "matcha mel");
  const std::vector<float> padded = ReflectPad(x24, n, kPad);
  FeatureMatrix out;
  out.rows = NumFrames(n);
  out.cols = kNumMels;
  out.data.resize(static_cast<size_t>(out.rows * out.cols));
  std::vector<float> frame(kNFft), magnitude(kNFft / 2 + 1), work;
  std::vector<std::complex<float>> spectrum(kNFft / 2 + 1);
  for (int64_t t = 0; t < out.rows; ++t) {
    const float *s = padded.data() + t * kHop;
    for (int j = 0; j < kNFft; ++j) frame[j] = s[j] * window_[j];
    fft_.Forward(frame.data(), spectrum.data(), work);
    for (size_t k = 0; k < spectrum.size(); ++k) {
      const std::complex<float> c = spectrum[k];
      magnitude[k] = std::sqrt(c.real() * c.real() + c.imag() * c.imag() + 1e-9f);
    }
    float *row = out.data.data() + t * kNumMels;
    filters_.Apply(magnitude.data(), row);
    for (int m = 0; m < kNumMels; ++m) row[m] = std::log(std::max(row[m], 1e-5f));
  }
  return out;
}

// ---- shared instances ----------------------------------------------------------------------
FeatureMatrix KaldiFbank(const std::vector<float> &x16) {
  static const KaldiFbankExtractor extractor;
  return extractor.Compute(x16.data(), x16.size());
}

FeatureMatrix WhisperLogMel(const std::vector<float> &x16) {
  static const WhisperLogMelExtractor extractor;
  return extractor.Compute(x16.data(), x16.size());
}

FeatureMatrix MatchaMel(const std::vector<float> &x24) {
  static const MatchaMelExtractor extractor;
  return extractor.Compute(x24.data(), x24.size());
}

}  // namespace cosyvoice
