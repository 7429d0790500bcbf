// src/audio/mel_filters.h - mel filterbanks and analysis windows of the three frontends.
#pragma once

#include <cstddef>
#include <vector>

namespace cosyvoice {

// A [rows, cols] row-major filterbank stored by its nonzero span per row: a mel filter touches a
// few dozen of the 201..961 FFT bins, so applying it sparsely is ~10x cheaper than a dense matmul.
class SparseFilterbank {
 public:
  SparseFilterbank() = default;
  SparseFilterbank(const std::vector<float> &dense, int rows, int cols);

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  std::vector<float> ToDense() const;
  // out[r] = sum_c W[r][c] * in[c], accumulated in double and rounded once.
  void Apply(const float *in, float *out, size_t out_stride = 1) const;

 private:
  struct Row {
    int begin = 0;
    std::vector<float> weights;
  };
  int rows_ = 0, cols_ = 0;
  std::vector<Row> rows_data_;
};

// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney') as float32,
// [n_mels, n_fft/2+1]. fmax <= 0 means sr/2. Computed like librosa: triangles in float64 stored as
// float32, then multiplied in float64 by the Slaney area normalisation 2/(f[i+2]-f[i]).
std::vector<float> SlaneyMelFilters(int sample_rate, int n_fft, int n_mels, double fmin, double fmax);

// Slaney (Auditory Toolbox) mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
double HzToMelSlaney(double hz);
double MelToHzSlaney(double mel);

// torchaudio.compliance.kaldi.get_mel_banks(num_bins, padded_window, sample_freq, low, high) with
// the Nyquist column appended as zeros: [num_bins, padded_window/2+1]. Evaluated in float32 like
// torchaudio (mel scale 1127*ln(1+f/700)); high_freq <= 0 is an offset from Nyquist.
std::vector<float> KaldiMelBanks(int num_bins, int padded_window, double sample_freq, double low_freq,
                                 double high_freq);

// torch.hann_window(length, periodic) in float32, evaluated as torch does:
// 0.5 - 0.5*cos(k * float(2*pi/(N-1))) with N = length (+1 when periodic).
std::vector<float> HannWindow(int length, bool periodic);
// Kaldi's "povey" window: hann_window(length, periodic=False) ** 0.85.
std::vector<float> PoveyWindow(int length);

}  // namespace cosyvoice
