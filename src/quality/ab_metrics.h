// src/quality/ab_metrics.h - the measurements of the A/B quality gate (docs/quantization.md).
//
// Each compares a reference output (the fp32 bundle) with a variant's output for the same input and
// seed. They are plain functions over arrays so that each can be tested on inputs with known answers;
// the `ab` command wires them to the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cosyvoice::quality {

// The median of `values` (the mean of the middle two for an even count); 0 for none.
double Median(std::vector<double> values);

// ---- LLM: teacher-forced logits ------------------------------------------------------------------
// Both models see the same prefix at every step (the reference's own tokens), so their next-token
// distributions can be compared step by step.
struct LogitsComparison {
  int64_t steps = 0;
  double top1_agreement = 1.0;  // fraction of steps whose argmax is the same
  double mean_kl = 0.0;         // mean over steps of KL(P_ref || P_variant), nats
  double max_kl = 0.0;
};

class LogitsComparer {
 public:
  explicit LogitsComparer(int64_t vocab);
  // One step: `ref` and `variant` hold `vocab` raw logits each. Softmax and KL in double; a
  // non-finite logit throws Error(kInvalidArgument).
  void Add(const float *ref, const float *variant);
  LogitsComparison Result() const;

 private:
  int64_t vocab_;
  int64_t steps_ = 0, agree_ = 0;
  double kl_sum_ = 0, kl_max_ = 0;
  std::vector<double> log_p_, log_q_;
};

// KL(P || Q) of the softmaxes of two logit vectors, nats.
double SoftmaxKl(const float *p_logits, const float *q_logits, int64_t n);

// ---- free-running tokens -------------------------------------------------------------------------
// Levenshtein distance (unit costs) between two token sequences.
int64_t EditDistance(const std::vector<int32_t> &a, const std::vector<int32_t> &b);
// EditDistance / max(|a|, |b|): 0 identical, 1 nothing in common; 0 when both are empty.
double NormalizedEditDistance(const std::vector<int32_t> &a, const std::vector<int32_t> &b);

// ---- spectra -------------------------------------------------------------------------------------
// mean |a - b| over n values (the flow's log-mel L1).
double MeanAbsoluteDifference(const float *a, const float *b, size_t n);

// A power spectrogram |STFT|^2 with a periodic Hann window, frames without padding.
struct Spectrogram {
  int64_t frames = 0;
  int64_t bins = 0;
  std::vector<float> power;  // [frames][bins]
  float at(int64_t f, int64_t k) const { return power[static_cast<size_t>(f * bins + k)]; }
};
Spectrogram PowerSpectrogram(const float *wav, size_t n, int n_fft, int hop);

// Log-spectral distance in dB: per frame the RMS over bins of 10 log10((Pa + floor) / (Pb + floor)),
// averaged over the frames both have. `floor` keeps silent bins from dominating (default: 1e-8,
// -80 dB below a full-scale sine's bin power of ~n_fft^2/16).
double LogSpectralDistance(const Spectrogram &a, const Spectrogram &b, double floor = 1e-8);
// The same on log-magnitude mels (natural log, as the flow outputs): dB = 20 / ln 10 * (a - b).
// `a`, `b`: [frames][bins] or [bins][frames] - any layout, as long as both have the same one and
// `frames` is the number of rows the per-frame RMS runs over.
double LogMelSpectralDistance(const float *a, const float *b, int64_t frames, int64_t bins);

// ---- pitch ---------------------------------------------------------------------------------------
struct F0Options {
  int hop = 240;              // 10 ms at 24 kHz
  int window = 480;           // YIN's integration window (20 ms at 24 kHz); a frame reads
                              // window + sample_rate / fmin samples
  double fmin = 50.0;         // Hz
  double fmax = 600.0;        // Hz
  double threshold = 0.15;    // YIN's aperiodicity threshold: above it a frame is unvoiced
  double silence_db = -50.0;  // frames quieter than this (RMS, dBFS) are unvoiced
};
struct F0Track {
  int sample_rate = 0;
  int hop = 0;
  std::vector<float> hz;  // per frame; 0 = unvoiced
};
// YIN (de Cheveigne & Kawahara 2002): cumulative mean normalized difference, absolute threshold,
// parabolic interpolation. Throws Error(kInvalidArgument) for a bad sample rate or options.
F0Track EstimateF0(const float *wav, size_t n, int sample_rate, const F0Options &options = {});

struct F0Comparison {
  int64_t frames = 0;             // frames compared (the shorter track)
  int64_t voiced_both = 0;        // frames voiced in both
  double rmse_cents = 0.0;        // RMS of 1200 log2(f_var / f_ref) over the voiced_both frames
                                  // without gross errors (0 if none)
  double gross_error_rate = 0.0;  // fraction of voiced_both frames off by more than 20 % (the usual
                                  // "gross pitch error": octave and period jumps of the tracker)
  double voicing_error = 0.0;     // fraction of frames voiced in exactly one
};
F0Comparison CompareF0(const F0Track &ref, const F0Track &variant);

// ---- speaker, length -----------------------------------------------------------------------------
// cos(a, b); 0 when either vector is zero.
double CosineSimilarity(const float *a, const float *b, size_t n);
// variant / reference; throws Error(kInvalidArgument) when the reference is empty.
double DurationRatio(size_t reference_samples, size_t variant_samples);

}  // namespace cosyvoice::quality
