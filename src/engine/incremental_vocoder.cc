// src/engine/incremental_vocoder.cc
#include "engine/incremental_vocoder.h"

#include <algorithm>

#include "common/timer.h"
#include "cosyvoice/error.h"
#include "engine/finite_check.h"

namespace cosyvoice {

IncrementalVocoder::IncrementalVocoder(const HiftF0Graph &f0, const HiftGeneratorGraph &generator,
                                       const Vocoder &vocoder, const HiftConfig &config, int mel_bins)
    : f0_graph_(f0),
      generator_(generator),
      vocoder_(vocoder),
      config_(config),
      mel_bins_(mel_bins),
      params_(SourceParamsFrom(config)),
      istft_(config.istft_n_fft, config.istft_hop) {
  if (config.left_context_frames < 1) {
    throw Error(ErrorCode::kBundle, "vocoder: the bundle gives no hift.left_context_frames (re-export it)");
  }
  Start();
}

void IncrementalVocoder::Start() {
  mel_.clear();
  f0_.clear();
  phases_.clear();
  phase_sum_.assign(static_cast<size_t>(params_.num_harmonics), 0.0);
  total_ = emitted_ = generator_frames_ = 0;
  finished_ = false;
}

std::vector<float> IncrementalVocoder::WindowMel(int64_t from, int64_t to) const {
  const int64_t m = mel_bins_, n = to - from;
  std::vector<float> out(static_cast<size_t>(m * n));
  for (int64_t f = 0; f < n; ++f) {
    for (int64_t c = 0; c < m; ++c) {
      out[static_cast<size_t>(c * n + f)] = mel_[static_cast<size_t>((from + f) * m + c)];
    }
  }
  return out;
}

std::vector<float> IncrementalVocoder::Push(const float *mel, int64_t frames, bool final,
                                            VocoderStats *stats) {
  VocoderStats local;
  VocoderStats &st = stats ? *stats : local;
  if (finished_) throw Error(ErrorCode::kInvalidArgument, "vocoder: mel pushed after the final chunk");
  const int64_t m = mel_bins_;
  mel_.resize(static_cast<size_t>((total_ + frames) * m));
  for (int64_t f = 0; f < frames; ++f) {
    for (int64_t c = 0; c < m; ++c) mel_[static_cast<size_t>((total_ + f) * m + c)] = mel[c * frames + f];
  }
  total_ += frames;
  finished_ = final;
  // Like Vocoder::Run over all frames: F0 and the generator in their finalize form over [.., T),
  // keeping hop * (T - lookahead_frames) samples while streaming. The F0 of a frame is final once
  // its lookahead is real, certainly for frames before T - lookahead_frames: those are committed
  // (their phases join the running sum); the last ones are computed again next time.
  const int64_t t_end = total_;
  const int64_t keep = final ? t_end : t_end - config_.lookahead_frames;
  if (keep <= emitted_) return {};
  const int64_t left = config_.left_context_frames;
  const int64_t w0 = std::max<int64_t>(0, emitted_ - left);  // generator window start
  const int64_t committed = static_cast<int64_t>(f0_.size());
  const int64_t f0_lo = std::max<int64_t>(0, committed - left);  // F0 is needed from `committed` on

  auto t0 = SteadyClock::now();
  const std::vector<float> wf = WindowMel(f0_lo, t_end);
  const std::vector<float> f0w = f0_graph_.Run(wf.data(), t_end - f0_lo);  // frames f0_lo .. t_end-1
  // the stage checks of Vocoder::Run (vocoder.cc), on each window: streaming writes no NaN either
  CheckFiniteOutput(f0w.data(), f0w.size(), "vocoder (F0)");
  st.f0_seconds += SecondsSince(t0);

  t0 = SteadyClock::now();
  const int nh = params_.num_harmonics;
  const int64_t commit_end = keep;
  if (commit_end > committed) {
    f0_.insert(f0_.end(), f0w.begin() + (committed - f0_lo), f0w.begin() + (commit_end - f0_lo));
    phases_.resize(f0_.size() * static_cast<size_t>(nh));
    NsfAccumulatePhases(f0_.data() + committed, commit_end - committed, params_, phase_sum_,
                        phases_.data() + committed * nh);
  }
  // the window's F0 and phases: committed frames from the state, the rest provisional
  const int64_t n = t_end - w0, c_end = std::min<int64_t>(commit_end, t_end);
  std::vector<float> f0(static_cast<size_t>(n)), ph(static_cast<size_t>(n * nh));
  std::copy(f0_.begin() + w0, f0_.begin() + c_end, f0.begin());
  std::copy(phases_.begin() + w0 * nh, phases_.begin() + c_end * nh, ph.begin());
  if (c_end < t_end) {
    std::copy(f0w.begin() + (c_end - f0_lo), f0w.end(), f0.begin() + (c_end - w0));
    std::vector<double> sum = phase_sum_;
    NsfAccumulatePhases(f0.data() + (c_end - w0), t_end - c_end, params_, sum, ph.data() + (c_end - w0) * nh);
  }
  const int hop = config_.hop_length;
  std::vector<float> harmonics(static_cast<size_t>(n * hop * nh));
  NsfExcitation(f0.data(), ph.data(), n, w0, params_, vocoder_.source_noise(), harmonics.data());
  st.source_seconds += SecondsSince(t0);

  t0 = SteadyClock::now();
  const std::vector<float> wm = WindowMel(w0, t_end);
  const HiftGeneratorGraph::Spectrum spec = generator_.Run(wm.data(), n, harmonics);
  CheckFiniteOutput(spec.real.data(), spec.real.size(), "vocoder (spectrum, real part)");
  CheckFiniteOutput(spec.imag.data(), spec.imag.size(), "vocoder (spectrum, imaginary part)");
  st.generator_seconds += SecondsSince(t0);
  generator_frames_ += n;

  t0 = SteadyClock::now();
  const std::vector<float> wav =
      istft_.Run(spec.real.data(), spec.imag.data(), static_cast<int>(spec.spec_frames));
  const float limit = static_cast<float>(config_.audio_limit);
  std::vector<float> out(wav.begin() + (emitted_ - w0) * hop, wav.begin() + (keep - w0) * hop);
  CheckFiniteOutput(out.data(), out.size(), "vocoder (waveform)");  // before the clamp, which keeps NaN
  for (float &s : out) s = std::clamp(s, -limit, limit);
  st.istft_seconds += SecondsSince(t0);
  emitted_ = keep;
  return out;
}

void VocodeInWindows(IncrementalVocoder &vocoder, const float *mel, int64_t mel_bins, int64_t frames,
                     int64_t window, const std::function<void(const std::vector<float> &, bool)> &sink) {
  if (window < 1)
    throw Error(ErrorCode::kInvalidArgument, "vocoder: the window must hold at least one frame");
  vocoder.Start();
  std::vector<float> part;
  for (int64_t lo = 0; lo < frames; lo += window) {
    const int64_t n = std::min(window, frames - lo);
    part.resize(static_cast<size_t>(mel_bins * n));
    for (int64_t c = 0; c < mel_bins; ++c) {
      std::copy_n(mel + c * frames + lo, n, part.begin() + c * n);
    }
    const bool final = lo + n == frames;
    sink(vocoder.Push(part.data(), n, final), final);
  }
}

}  // namespace cosyvoice
