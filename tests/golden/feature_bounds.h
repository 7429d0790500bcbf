// tests/golden/feature_bounds.h - elementwise bounds on |C++ - reference| for the three log-spectral
// features, from the float32 error model of tests/unit/fp32_bounds.h (docs/parity.md, "log features").
//
// Both sides compute a feature in float32: frames, window, FFT, |X|^2 (or |X|), a filterbank sum,
// a log. Every FFT bin of a frame errs by at most gamma(FftDepth(n) + kFnUlps + 2) * A on each side,
// A = sum |windowed frame| (plus the propagated input error dx per sample when the inputs differ:
// dx * sum |w|, times 4 for Kaldi's DC removal and pre-emphasis). A band E = sum_k f_k P_k then errs by
//   dE <= 2 dX sqrt(F E) + dX^2 F + gamma(bins + kFnUlps + 3) E (+ dF S for Kaldi's float32 weights)
// (|X + d|^2 - |X|^2 <= 2 |X| d + d^2, sum_k f_k |X_k| <= sqrt(F E) by Cauchy-Schwarz, F = sum_k f_k),
// or dE <= dX F + gamma(...) E for magnitudes (Matcha). The log turns it into dE / E: the
// amplification of quiet bands. Floors (log(max(E, c)), Whisper's max - 8) cap it at dE / max(E, c);
// E_eff = max(E, c) is read back from the reference's feature value itself.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include "audio/features.h"
#include "audio/resampler.h"
#include "fp32_bounds.h"

namespace cosyvoice::testing {

// One FFT bin's error, per frame, on both sides: 2 gamma(depth) A + input error dx * sum |w| * gain.
inline double BinError(int n_fft, double frame_l1, double dx, double window_l1, double gain = 1.0) {
  return 2 * Gamma(FftDepth(n_fft) + kFnUlps + 2) * frame_l1 + dx * window_l1 * gain;
}

// Relative band-energy error dE / max(E, floor).
inline double LogBandError(double e_eff, double f_sum, double dX, int bins, bool magnitude, double dF_S = 0) {
  const double de = (magnitude ? dX * f_sum : 2 * dX * std::sqrt(f_sum * e_eff) + dX * dX * f_sum) +
                    2 * Gamma(bins + kFnUlps + 3) * e_eff + dF_S;
  return de / e_eff;
}

inline std::vector<double> RowSums(const SparseFilterbank &fb) {
  const std::vector<float> dense = fb.ToDense();
  std::vector<double> s(static_cast<size_t>(fb.rows()), 0.0);
  for (int r = 0; r < fb.rows(); ++r)
    for (int c = 0; c < fb.cols(); ++c)
      s[static_cast<size_t>(r)] += static_cast<double>(dense[static_cast<size_t>(r * fb.cols() + c)]);
  return s;
}

inline std::vector<float> ReflectPadded(const std::vector<float> &x, size_t pad) {
  std::vector<float> out(x.size() + 2 * pad);
  const auto n = static_cast<long>(x.size());
  for (long i = 0; i < static_cast<long>(out.size()); ++i) {
    long t = i - static_cast<long>(pad);
    if (t < 0) t = -t;
    if (t >= n) t = 2 * (n - 1) - t;
    out[static_cast<size_t>(i)] = x[static_cast<size_t>(t)];
  }
  return out;
}

inline double WindowL1(const std::vector<float> &w) {
  double s = 0;
  for (float v : w) s += std::fabs(static_cast<double>(v));
  return s;
}

// Σ_j |x[start + j] · w[j]| over one analysis frame: the magnitude a DFT bin's rounding error scales with.
inline double WindowedFrameL1(const std::vector<float> &x, const std::vector<float> &w, int64_t start,
                              int n) {
  double a = 0;
  for (int j = 0; j < n; ++j)
    a += std::fabs(static_cast<double>(x[static_cast<size_t>(start + j)] * w[static_cast<size_t>(j)]));
  return a;
}

// Whisper log-mel [n_mels, T] (v = (max(log10 E, m - 8) + 4) / 4): from x16 and the reference's values.
inline std::vector<double> WhisperBounds(const std::vector<float> &x16, const std::vector<float> &ref,
                                         double dx = 0) {
  static const WhisperLogMelExtractor ex;
  const int n_mels = ex.n_mels(), n = WhisperLogMelExtractor::kNFft, hop = WhisperLogMelExtractor::kHop;
  const auto T = static_cast<int64_t>(ref.size() / static_cast<size_t>(n_mels));
  const std::vector<float> padded = ReflectPadded(x16, n / 2);
  const std::vector<double> F = RowSums(ex.filters());
  const double wl1 = WindowL1(ex.window());
  std::vector<double> b(ref.size());
  double at_max = 0, v_max = -INFINITY;
  for (int64_t t = 0; t < T; ++t) {
    const double dX = BinError(n, WindowedFrameL1(padded, ex.window(), t * hop, n), dx, wl1);
    for (int m = 0; m < n_mels; ++m) {
      const size_t i = static_cast<size_t>(m * T + t);
      const double v = ref[i], e_eff = std::pow(10.0, 4 * v - 4);
      b[i] = LogBandError(e_eff, F[static_cast<size_t>(m)], dX, n / 2 + 1, false) / std::log(10.0) / 4 +
             3 * kU * std::fabs(v);
      if (v > v_max) v_max = v, at_max = b[i];
    }
  }
  for (double &v : b) v += at_max;  // the clamp level m - 8 moves with the loudest band's own error
  return b;
}

// Matcha mel [T, 80] (v = log(max(sum_k f_k |X_k|, 1e-5))).
inline std::vector<double> MatchaBounds(const std::vector<float> &x24, const std::vector<float> &ref,
                                        double dx = 0) {
  static const MatchaMelExtractor ex;
  const int n = MatchaMelExtractor::kNFft, hop = MatchaMelExtractor::kHop,
            mels = MatchaMelExtractor::kNumMels;
  const auto T = static_cast<int64_t>(ref.size() / mels);
  const std::vector<float> padded = ReflectPadded(x24, MatchaMelExtractor::kPad);
  const std::vector<double> F = RowSums(ex.filters());
  const double wl1 = WindowL1(ex.window());
  std::vector<double> b(ref.size());
  for (int64_t t = 0; t < T; ++t) {
    const double dX = BinError(n, WindowedFrameL1(padded, ex.window(), t * hop, n), dx, wl1);
    for (int m = 0; m < mels; ++m) {
      const size_t i = static_cast<size_t>(t * mels + m);
      b[i] = LogBandError(std::exp(static_cast<double>(ref[i])), F[static_cast<size_t>(m)], dX, n / 2 + 1,
                          true) +
             kU * std::fabs(static_cast<double>(ref[i]));
    }
  }
  return b;
}

// Kaldi fbank [T, 80] after mean subtraction (v = log(max(E, FLT_EPSILON)) - column mean). The raw
// values (E_eff) come from our extractor without the mean subtraction. Both sides compute the mel
// scale in float32: a weight errs by <= 2 dmel / delta + 2 u (dmel = (kFnUlps + 3) u mel_max +
// 2 * 1127 u), on the filter's support and one bin either side (S: their power).
inline std::vector<double> FbankBounds(const std::vector<float> &x16, double dx = 0) {
  static const KaldiFbankExtractor ex;
  const int len = KaldiFbankExtractor::kFrameLength, shift = KaldiFbankExtractor::kFrameShift,
            n = KaldiFbankExtractor::kPaddedLength, bands = KaldiFbankExtractor::kNumBins, bins = n / 2 + 1;
  const FeatureMatrix raw = ex.Compute(x16.data(), x16.size(), false);
  const int64_t T = raw.rows;
  const std::vector<float> dense = ex.mel_banks().ToDense();
  const std::vector<double> F = RowSums(ex.mel_banks());
  const double hi = 1127.0 * std::log(1.0 + 8000.0 / 700.0), lo = 1127.0 * std::log(1.0 + 20.0 / 700.0);
  const double dmel = (kFnUlps + 3) * kU * hi + 2 * 1127.0 * kU;
  const double dF = 2 * (2 * dmel / ((hi - lo) / 81) + 2 * kU);  // both sides
  const double wl1 = WindowL1(ex.window());
  RealFft fft(n);
  std::vector<float> frame(static_cast<size_t>(n)), work;
  std::vector<std::complex<float>> spec(static_cast<size_t>(bins));
  std::vector<double> b(static_cast<size_t>(T * bands));
  for (int64_t t = 0; t < T; ++t) {
    const float *s = x16.data() + t * shift;
    double mean = 0;
    for (int j = 0; j < len; ++j) mean += static_cast<double>(s[j]);
    mean /= len;
    double a = 0;
    std::fill(frame.begin(), frame.end(), 0.0f);
    for (int j = 0; j < len; ++j) {
      const double prev = static_cast<double>(s[j > 0 ? j - 1 : 0]);
      const double w = static_cast<double>(ex.window()[static_cast<size_t>(j)]);
      a += std::fabs(w) *
           (std::fabs(static_cast<double>(s[j])) + 0.97 * std::fabs(prev) + 1.97 * std::fabs(mean));
      frame[static_cast<size_t>(j)] =
          static_cast<float>(w * ((static_cast<double>(s[j]) - mean) - 0.97 * (prev - mean)));
    }
    fft.Forward(frame.data(), spec.data(), work);
    // the DC mean (400 terms) reaches every windowed sample: gamma(400) more per bin, both sides
    const double dX = BinError(n, a, dx, wl1, 4.0) + 2 * Gamma(len) * a;
    for (int m = 0; m < bands; ++m) {
      double support_power = 0;
      for (int k = 0; k < bins; ++k) {
        const bool near = dense[static_cast<size_t>(m * bins + k)] > 0 ||
                          (k > 0 && dense[static_cast<size_t>(m * bins + k - 1)] > 0) ||
                          (k + 1 < bins && dense[static_cast<size_t>(m * bins + k + 1)] > 0);
        if (near) support_power += std::norm(std::complex<double>(spec[static_cast<size_t>(k)]));
      }
      const double v = raw.at(t, m);
      const size_t i = static_cast<size_t>(t * bands + m);
      b[i] = LogBandError(std::exp(v), F[static_cast<size_t>(m)], dX, bins, false, dF * support_power) +
             kU * std::fabs(v);
    }
  }
  // mean subtraction: the column mean carries the mean of the bounds, plus its own rounding
  for (int m = 0; m < bands; ++m) {
    double mb = 0, col = 0;
    for (int64_t t = 0; t < T; ++t) {
      mb += b[static_cast<size_t>(t * bands + m)];
      col += std::fabs(static_cast<double>(raw.at(t, m)));
    }
    mb /= static_cast<double>(T);
    col /= static_cast<double>(T);
    for (int64_t t = 0; t < T; ++t) b[static_cast<size_t>(t * bands + m)] += mb + Pair(T + 2.0, 2 * col);
  }
  return b;
}

// Largest |ours - torchaudio| of a resampled sample: torchaudio convolves in float32 (gamma(taps) of
// sum |x k|), ours accumulates in float64 and rounds once (u |y|), and the kernels may differ by 1 ulp
// of the largest tap (see ResampleKernelsMatchTorchaudio). sum |x k| <= max |x| * the largest row's l1.
inline double ResampleBound(const std::vector<float> &audio, int from, int to) {
  if (from == to) return 0.0;
  const Resampler r(from, to);
  const size_t taps = static_cast<size_t>(2 * r.width() + r.orig_step());
  double row_l1 = 0, max_tap = 0, max_x = 0;
  for (size_t j = 0; j < r.kernel().size() / taps; ++j) {
    double l1 = 0;
    for (size_t k = 0; k < taps; ++k) {
      l1 += std::fabs(static_cast<double>(r.kernel()[j * taps + k]));
      max_tap = std::max(max_tap, std::fabs(static_cast<double>(r.kernel()[j * taps + k])));
    }
    row_l1 = std::max(row_l1, l1);
  }
  for (float v : audio) max_x = std::max(max_x, std::fabs(static_cast<double>(v)));
  return Vs64(static_cast<double>(taps), max_x * row_l1) + kU * max_x * row_l1 +
         2 * kU * max_tap * static_cast<double>(taps) * max_x;
}

// max over elements of |got - ref| / bound (<= 1 when within bounds), for reports and checks.
inline double WorstRatio(const std::vector<float> &got, const std::vector<float> &ref,
                         const std::vector<double> &bound) {
  double worst = 0;
  for (size_t i = 0; i < got.size() && i < ref.size(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - static_cast<double>(ref[i])) / bound[i]);
  return worst;
}

}  // namespace cosyvoice::testing
