// src/quality/ab_metrics.cc
#include "quality/ab_metrics.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <string>

#include "audio/fft.h"
#include "cosyvoice/error.h"

namespace cosyvoice::quality {
namespace {

[[noreturn]] void Fail(const std::string &msg) {
  throw Error(ErrorCode::kInvalidArgument, "ab metrics: " + msg);
}

// log-softmax of n logits into out (double); throws on a non-finite logit.
void LogSoftmax(const float *logits, int64_t n, std::vector<double> &out) {
  out.resize(static_cast<size_t>(n));
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(logits[i])) Fail("non-finite logit at index " + std::to_string(i));
    mx = std::max(mx, static_cast<double>(logits[i]));
  }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
  const double lse = mx + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = static_cast<double>(logits[i]) - lse;
}

int64_t ArgMax(const float *x, int64_t n) {
  return std::max_element(x, x + n) - x;
}

double KlFromLogProbs(const std::vector<double> &log_p, const std::vector<double> &log_q) {
  double kl = 0;
  for (size_t i = 0; i < log_p.size(); ++i) kl += std::exp(log_p[i]) * (log_p[i] - log_q[i]);
  return std::max(kl, 0.0);  // rounding can leave -1e-17
}

std::vector<float> PeriodicHann(int n) {
  std::vector<float> w(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    w[static_cast<size_t>(i)] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * i / n));
  return w;
}

// YIN's cumulative mean normalized difference d'(tau) for tau = 0..tau_max of one frame.
void CumulativeMeanNormalizedDifference(const float *x, int window, int tau_max, std::vector<double> &d) {
  d.assign(static_cast<size_t>(tau_max + 1), 1.0);
  double running = 0;
  for (int tau = 1; tau <= tau_max; ++tau) {
    double diff = 0;
    for (int j = 0; j < window; ++j) {
      const double e = static_cast<double>(x[j]) - static_cast<double>(x[j + tau]);
      diff += e * e;
    }
    running += diff;
    d[static_cast<size_t>(tau)] = running > 0 ? diff * tau / running : 1.0;
  }
}

// First tau in [tau_min, tau_max] below the threshold, followed to its local minimum; -1 if none.
int PickPeriod(const std::vector<double> &d, int tau_min, int tau_max, double threshold) {
  for (int tau = tau_min; tau <= tau_max; ++tau) {
    if (d[static_cast<size_t>(tau)] < threshold) {
      while (tau + 1 <= tau_max && d[static_cast<size_t>(tau + 1)] < d[static_cast<size_t>(tau)]) ++tau;
      return tau;
    }
  }
  return -1;
}

// Parabolic interpolation of the minimum around tau.
double RefinePeriod(const std::vector<double> &d, int tau, int tau_max) {
  if (tau <= 1 || tau >= tau_max) return tau;
  const double a = d[static_cast<size_t>(tau - 1)], b = d[static_cast<size_t>(tau)],
               c = d[static_cast<size_t>(tau + 1)];
  const double den = a - 2 * b + c;
  return den > 0 ? tau + 0.5 * (a - c) / den : tau;
}

}  // namespace

double Median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// ---- logits ----------------------------------------------------------------------------------------

LogitsComparer::LogitsComparer(int64_t vocab) : vocab_(vocab) {
  if (vocab < 1) Fail("vocabulary size must be >= 1, got " + std::to_string(vocab));
}

void LogitsComparer::Add(const float *ref, const float *variant) {
  LogSoftmax(ref, vocab_, log_p_);
  LogSoftmax(variant, vocab_, log_q_);
  const double kl = KlFromLogProbs(log_p_, log_q_);
  ++steps_;
  if (ArgMax(ref, vocab_) == ArgMax(variant, vocab_)) ++agree_;
  kl_sum_ += kl;
  kl_max_ = std::max(kl_max_, kl);
}

LogitsComparison LogitsComparer::Result() const {
  LogitsComparison r;
  r.steps = steps_;
  if (steps_ > 0) {
    r.top1_agreement = static_cast<double>(agree_) / static_cast<double>(steps_);
    r.mean_kl = kl_sum_ / static_cast<double>(steps_);
    r.max_kl = kl_max_;
  }
  return r;
}

double SoftmaxKl(const float *p_logits, const float *q_logits, int64_t n) {
  std::vector<double> lp, lq;
  LogSoftmax(p_logits, n, lp);
  LogSoftmax(q_logits, n, lq);
  return KlFromLogProbs(lp, lq);
}

// ---- tokens ----------------------------------------------------------------------------------------

int64_t EditDistance(const std::vector<int32_t> &a, const std::vector<int32_t> &b) {
  std::vector<int64_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int64_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({sub, prev[j] + 1, cur[j - 1] + 1});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

double NormalizedEditDistance(const std::vector<int32_t> &a, const std::vector<int32_t> &b) {
  const size_t n = std::max(a.size(), b.size());
  return n == 0 ? 0.0 : static_cast<double>(EditDistance(a, b)) / static_cast<double>(n);
}

// ---- spectra ---------------------------------------------------------------------------------------

double MeanAbsoluteDifference(const float *a, const float *b, size_t n) {
  if (n == 0) Fail("mean absolute difference of empty arrays");
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
  return s / static_cast<double>(n);
}

Spectrogram PowerSpectrogram(const float *wav, size_t n, int n_fft, int hop) {
  if (n_fft < 2 || n_fft % 2 != 0 || hop < 1) Fail("spectrogram needs an even n_fft >= 2 and hop >= 1");
  Spectrogram s;
  s.bins = n_fft / 2 + 1;
  s.frames =
      n < static_cast<size_t>(n_fft) ? 0 : 1 + static_cast<int64_t>((n - static_cast<size_t>(n_fft)) / hop);
  s.power.resize(static_cast<size_t>(s.frames * s.bins));
  RealFft fft(n_fft);
  const std::vector<float> window = PeriodicHann(n_fft);
  std::vector<float> frame(static_cast<size_t>(n_fft)), work;
  std::vector<std::complex<float>> spec(static_cast<size_t>(s.bins));
  for (int64_t f = 0; f < s.frames; ++f) {
    const float *x = wav + f * hop;
    for (int i = 0; i < n_fft; ++i) frame[static_cast<size_t>(i)] = x[i] * window[static_cast<size_t>(i)];
    fft.Forward(frame.data(), spec.data(), work);
    for (int64_t k = 0; k < s.bins; ++k)
      s.power[static_cast<size_t>(f * s.bins + k)] = std::norm(spec[static_cast<size_t>(k)]);
  }
  return s;
}

double LogSpectralDistance(const Spectrogram &a, const Spectrogram &b, double floor) {
  if (a.bins != b.bins) Fail("log-spectral distance of spectrograms with different bin counts");
  const int64_t frames = std::min(a.frames, b.frames);
  if (frames == 0) Fail("log-spectral distance needs at least one frame in both");
  double total = 0;
  for (int64_t f = 0; f < frames; ++f) {
    double sq = 0;
    for (int64_t k = 0; k < a.bins; ++k) {
      const double d = 10.0 * std::log10((static_cast<double>(a.at(f, k)) + floor) /
                                         (static_cast<double>(b.at(f, k)) + floor));
      sq += d * d;
    }
    total += std::sqrt(sq / static_cast<double>(a.bins));
  }
  return total / static_cast<double>(frames);
}

double LogMelSpectralDistance(const float *a, const float *b, int64_t frames, int64_t bins) {
  if (frames < 1 || bins < 1) Fail("log-mel spectral distance needs at least one frame and bin");
  const double to_db = 20.0 / std::log(10.0);
  double total = 0;
  for (int64_t f = 0; f < frames; ++f) {
    double sq = 0;
    for (int64_t k = 0; k < bins; ++k) {
      const size_t i = static_cast<size_t>(f * bins + k);
      const double d = to_db * (static_cast<double>(a[i]) - static_cast<double>(b[i]));
      sq += d * d;
    }
    total += std::sqrt(sq / static_cast<double>(bins));
  }
  return total / static_cast<double>(frames);
}

// ---- pitch -----------------------------------------------------------------------------------------

F0Track EstimateF0(const float *wav, size_t n, int sample_rate, const F0Options &o) {
  if (sample_rate < 1000) Fail("F0 estimation needs a sample rate >= 1000 Hz");
  if (o.hop < 1 || o.window < 16 || !(o.fmin > 0) || !(o.fmax > o.fmin) || !(o.threshold > 0))
    Fail("F0 options: need hop >= 1, window >= 16, 0 < fmin < fmax, threshold > 0");
  const int tau_min = std::max(2, static_cast<int>(std::floor(sample_rate / o.fmax)));
  const int tau_max = static_cast<int>(std::ceil(sample_rate / o.fmin));
  const size_t span = static_cast<size_t>(o.window + tau_max + 1);
  F0Track t;
  t.sample_rate = sample_rate;
  t.hop = o.hop;
  if (n < span) return t;
  const int64_t frames = 1 + static_cast<int64_t>((n - span) / static_cast<size_t>(o.hop));
  t.hz.assign(static_cast<size_t>(frames), 0.0f);
  const double silence = std::pow(10.0, o.silence_db / 20.0);
  std::vector<double> d;
  for (int64_t f = 0; f < frames; ++f) {
    const float *x = wav + f * o.hop;
    double energy = 0;
    for (int j = 0; j < o.window; ++j) energy += static_cast<double>(x[j]) * static_cast<double>(x[j]);
    if (std::sqrt(energy / o.window) < silence) continue;
    CumulativeMeanNormalizedDifference(x, o.window, tau_max, d);
    const int tau = PickPeriod(d, tau_min, tau_max, o.threshold);
    if (tau < 0) continue;
    t.hz[static_cast<size_t>(f)] = static_cast<float>(sample_rate / RefinePeriod(d, tau, tau_max));
  }
  return t;
}

F0Comparison CompareF0(const F0Track &ref, const F0Track &variant) {
  if (ref.hop != variant.hop || ref.sample_rate != variant.sample_rate)
    Fail("F0 tracks with different frame rates cannot be compared");
  F0Comparison c;
  c.frames = static_cast<int64_t>(std::min(ref.hz.size(), variant.hz.size()));
  double sq = 0;
  int64_t mismatch = 0, gross = 0;
  for (int64_t i = 0; i < c.frames; ++i) {
    const double a = ref.hz[static_cast<size_t>(i)], b = variant.hz[static_cast<size_t>(i)];
    if (a > 0 && b > 0) {
      ++c.voiced_both;
      if (std::fabs(b - a) > 0.2 * a) {
        ++gross;
        continue;
      }
      const double cents = 1200.0 * std::log2(b / a);
      sq += cents * cents;
    } else if ((a > 0) != (b > 0)) {
      ++mismatch;
    }
  }
  const int64_t fine = c.voiced_both - gross;
  c.rmse_cents = fine > 0 ? std::sqrt(sq / static_cast<double>(fine)) : 0.0;
  c.gross_error_rate =
      c.voiced_both > 0 ? static_cast<double>(gross) / static_cast<double>(c.voiced_both) : 0.0;
  c.voicing_error = c.frames > 0 ? static_cast<double>(mismatch) / static_cast<double>(c.frames) : 0.0;
  return c;
}

// ---- speaker, length -------------------------------------------------------------------------------

double CosineSimilarity(const float *a, const float *b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = a[i], y = b[i];
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return (aa > 0 && bb > 0) ? ab / std::sqrt(aa * bb) : 0.0;
}

double DurationRatio(size_t reference_samples, size_t variant_samples) {
  if (reference_samples == 0) Fail("duration ratio with an empty reference");
  return static_cast<double>(variant_samples) / static_cast<double>(reference_samples);
}

}  // namespace cosyvoice::quality
