// src/audio/mel_filters.cc
#include "audio/mel_filters.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "audio/reference_math.h"
#include "cosyvoice/error.h"

namespace cosyvoice {

SparseFilterbank::SparseFilterbank(const std::vector<float> &dense, int rows, int cols)
    : rows_(rows), cols_(cols), rows_data_(static_cast<size_t>(rows)) {
  if (dense.size() != static_cast<size_t>(rows) * static_cast<size_t>(cols))
    throw Error(ErrorCode::kInvalidArgument, "filterbank: size does not match rows*cols");
  for (int r = 0; r < rows; ++r) {
    const float *w = dense.data() + static_cast<size_t>(r) * static_cast<size_t>(cols);
    int first = 0, last = cols - 1;
    while (first < cols && w[first] == 0.0f) ++first;
    while (last >= first && w[last] == 0.0f) --last;
    Row &row = rows_data_[static_cast<size_t>(r)];
    row.begin = first;
    if (first <= last) row.weights.assign(w + first, w + last + 1);
  }
}

std::vector<float> SparseFilterbank::ToDense() const {
  std::vector<float> dense(static_cast<size_t>(rows_) * static_cast<size_t>(cols_), 0.0f);
  for (int r = 0; r < rows_; ++r) {
    const Row &row = rows_data_[static_cast<size_t>(r)];
    std::copy(row.weights.begin(), row.weights.end(),
              dense.begin() + static_cast<std::ptrdiff_t>(r) * cols_ + row.begin);
  }
  return dense;
}

void SparseFilterbank::Apply(const float *in, float *out, size_t out_stride) const {
  for (int r = 0; r < rows_; ++r) {
    const Row &row = rows_data_[static_cast<size_t>(r)];
    const float *x = in + row.begin;
    double acc = 0.0;
    for (size_t k = 0; k < row.weights.size(); ++k)
      acc += static_cast<double>(row.weights[k]) * static_cast<double>(x[k]);
    out[static_cast<size_t>(r) * out_stride] = static_cast<float>(acc);
  }
}

namespace {
constexpr double kSlaneyHzPerMel = 200.0 / 3.0;
constexpr double kSlaneyMinLogHz = 1000.0;
const double kSlaneyMinLogMel = kSlaneyMinLogHz / kSlaneyHzPerMel;
const double kSlaneyLogStep = std::log(6.4) / 27.0;
}  // namespace

double HzToMelSlaney(double hz) {
  if (hz >= kSlaneyMinLogHz) return kSlaneyMinLogMel + std::log(hz / kSlaneyMinLogHz) / kSlaneyLogStep;
  return hz / kSlaneyHzPerMel;
}

double MelToHzSlaney(double mel) {
  if (mel >= kSlaneyMinLogMel) return kSlaneyMinLogHz * std::exp(kSlaneyLogStep * (mel - kSlaneyMinLogMel));
  return kSlaneyHzPerMel * mel;
}

std::vector<float> SlaneyMelFilters(int sample_rate, int n_fft, int n_mels, double fmin, double fmax) {
  if (sample_rate <= 0 || n_fft <= 0 || n_mels <= 0)
    throw Error(ErrorCode::kInvalidArgument, "mel filters: sample rate, n_fft and n_mels must be positive");
  if (fmax <= 0.0) fmax = sample_rate / 2.0;
  const int n_bins = n_fft / 2 + 1;
  // numpy.fft.rfftfreq as librosa computes it: k * (1 / (n_fft * (1 / sr)))
  const double bin_hz = 1.0 / (n_fft * (1.0 / sample_rate));
  // numpy.linspace(mel(fmin), mel(fmax), n_mels + 2): start + i*step, the last point exact.
  const double mel_lo = HzToMelSlaney(fmin), mel_hi = HzToMelSlaney(fmax);
  const int n_points = n_mels + 2;
  const double step = (mel_hi - mel_lo) / (n_points - 1);
  std::vector<double> edges(static_cast<size_t>(n_points));
  for (int i = 0; i < n_points; ++i) {
    const double mel = i == n_points - 1 ? mel_hi : i * step + mel_lo;
    edges[static_cast<size_t>(i)] = MelToHzSlaney(mel);
  }
  std::vector<float> weights(static_cast<size_t>(n_mels) * static_cast<size_t>(n_bins), 0.0f);
  for (int m = 0; m < n_mels; ++m) {
    const double f0 = edges[static_cast<size_t>(m)], f1 = edges[static_cast<size_t>(m) + 1],
                 f2 = edges[static_cast<size_t>(m) + 2];
    const double enorm = 2.0 / (f2 - f0);
    for (int k = 0; k < n_bins; ++k) {
      const double f = k * bin_hz;
      const double lower = -(f0 - f) / (f1 - f0);
      const double upper = (f2 - f) / (f2 - f1);
      const float tri = static_cast<float>(std::max(0.0, std::min(lower, upper)));
      weights[static_cast<size_t>(m) * static_cast<size_t>(n_bins) + static_cast<size_t>(k)] =
          static_cast<float>(static_cast<double>(tri) * enorm);
    }
  }
  return weights;
}

std::vector<float> KaldiMelBanks(int num_bins, int padded_window, double sample_freq, double low_freq,
                                 double high_freq) {
  if (num_bins <= 3 || padded_window <= 0 || padded_window % 2 != 0)
    throw Error(ErrorCode::kInvalidArgument, "kaldi mel banks: need > 3 bins and an even window");
  const int num_fft_bins = padded_window / 2;
  const double nyquist = 0.5 * sample_freq;
  if (high_freq <= 0.0) high_freq += nyquist;
  if (!(low_freq >= 0.0 && low_freq < nyquist && high_freq > 0.0 && high_freq <= nyquist &&
        low_freq < high_freq))
    throw Error(ErrorCode::kInvalidArgument, "kaldi mel banks: bad low/high frequency");
  // Scalars are Python floats (double); tensor arithmetic is float32 with the scalars cast to float.
  const float fft_bin_width = static_cast<float>(sample_freq / padded_window);
  const double mel_low = 1127.0 * std::log(1.0 + low_freq / 700.0);
  const double mel_high = 1127.0 * std::log(1.0 + high_freq / 700.0);
  const float delta = static_cast<float>((mel_high - mel_low) / (num_bins + 1));
  const float low = static_cast<float>(mel_low);
  std::vector<float> mel(static_cast<size_t>(num_fft_bins));
  for (int k = 0; k < num_fft_bins; ++k) {
    const float f = fft_bin_width * static_cast<float>(k);
    mel[static_cast<size_t>(k)] = 1127.0f * RefLog(1.0f + f / 700.0f);
  }
  const int cols = num_fft_bins + 1;
  std::vector<float> banks(static_cast<size_t>(num_bins) * static_cast<size_t>(cols), 0.0f);
  for (int b = 0; b < num_bins; ++b) {
    const float left = low + static_cast<float>(b) * delta;
    const float center = low + (static_cast<float>(b) + 1.0f) * delta;
    const float right = low + (static_cast<float>(b) + 2.0f) * delta;
    for (int k = 0; k < num_fft_bins; ++k) {
      const float m = mel[static_cast<size_t>(k)];
      const float up = (m - left) / (center - left);
      const float down = (right - m) / (right - center);
      banks[static_cast<size_t>(b) * static_cast<size_t>(cols) + static_cast<size_t>(k)] =
          std::max(0.0f, std::min(up, down));
    }
  }
  return banks;
}

std::vector<float> HannWindow(int length, bool periodic) {
  if (length <= 0) throw Error(ErrorCode::kInvalidArgument, "window length must be positive");
  if (length == 1) return {1.0f};
  const int n = periodic ? length + 1 : length;
  const float step = static_cast<float>(M_PI * 2.0 / static_cast<double>(n - 1));
  std::vector<float> w(static_cast<size_t>(length));
  for (int k = 0; k < length; ++k)
    w[static_cast<size_t>(k)] = RefCos(static_cast<float>(k) * step) * -0.5f + 0.5f;
  return w;
}

std::vector<float> PoveyWindow(int length) {
  std::vector<float> w = HannWindow(length, false);
  for (float &v : w) v = RefPow(v, 0.85f);
  return w;
}

}  // namespace cosyvoice
