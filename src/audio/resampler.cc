// src/audio/resampler.cc
#include "audio/resampler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <utility>

#include "cosyvoice/error.h"

namespace cosyvoice {

namespace {

constexpr int kLowpassWidth = 6;
constexpr double kRolloff = 0.99;

// torchaudio's kernel width, in taps on each side, for reduced rates orig -> new.
int KernelWidth(int orig, int new_rate) {
  const double base = std::min(orig, new_rate) * kRolloff;
  // in double: 6 * orig overflows an int for rates near 2^31 (found by fuzzing)
  return static_cast<int>(std::ceil(kLowpassWidth * static_cast<double>(orig) / base));
}

}  // namespace

size_t ResamplerKernelSize(int orig_rate, int new_rate) {
  if (orig_rate <= 0 || new_rate <= 0) return 0;
  const int g = std::gcd(orig_rate, new_rate);
  const int orig = orig_rate / g, target = new_rate / g;
  const size_t taps = 2 * static_cast<size_t>(KernelWidth(orig, target)) + static_cast<size_t>(orig);
  return static_cast<size_t>(target) * taps;
}

Resampler::Resampler(int orig_rate, int new_rate) : orig_rate_(orig_rate), new_rate_(new_rate) {
  if (orig_rate <= 0 || new_rate <= 0)
    throw Error(ErrorCode::kInvalidArgument, "resampler: sample rates must be positive, got " +
                                                 std::to_string(orig_rate) + " -> " +
                                                 std::to_string(new_rate));
  if (ResamplerKernelSize(orig_rate, new_rate) > kMaxResamplerKernel)
    throw Error(ErrorCode::kInvalidAudio,
                "sample rate " + std::to_string(orig_rate) + " Hz cannot be resampled to " +
                    std::to_string(new_rate) + " Hz exactly without a " +
                    std::to_string(ResamplerKernelSize(orig_rate, new_rate)) +
                    "-value filter; expected a standard rate such as 16000, 22050, 24000, 44100 or 48000 Hz");
  const int g = std::gcd(orig_rate, new_rate);
  orig_ = orig_rate / g;
  new_ = new_rate / g;
  // torchaudio _get_sinc_resample_kernel, float64 path (dtype=None), cast to float32 at the end.
  const double base = std::min(orig_, new_) * kRolloff;
  width_ = KernelWidth(orig_, new_);
  const int taps = 2 * width_ + orig_;
  const double scale = base / orig_;
  kernel_.assign(static_cast<size_t>(new_) * static_cast<size_t>(taps), 0.0f);
  phases_.resize(static_cast<size_t>(new_));
  for (int j = 0; j < new_; ++j) {
    // torch.arange(0, -new, -1) is int64 and `/ new` divides in float32 (the default dtype);
    // adding the float64 tap positions promotes it to float64 afterwards.
    const float phase = static_cast<float>(-j) / static_cast<float>(new_);
    float *row = kernel_.data() + static_cast<size_t>(j) * static_cast<size_t>(taps);
    for (int k = 0; k < taps; ++k) {
      const double idx = static_cast<double>(k - width_) / orig_;
      double t = (static_cast<double>(phase) + idx) * base;
      t = std::clamp(t, -static_cast<double>(kLowpassWidth), static_cast<double>(kLowpassWidth));
      const double c = std::cos(t * M_PI / kLowpassWidth / 2);
      const double window = c * c;
      t *= M_PI;
      const double sinc = t == 0.0 ? 1.0 : std::sin(t) / t;
      row[k] = static_cast<float>(sinc * (window * scale));
    }
    // Taps past the sixth zero crossing are exactly 0.0f (window cos(pi/2)^2 ~ 4e-33 underflows).
    int first = 0, last = taps - 1;
    while (first < taps && row[first] == 0.0f) ++first;
    while (last >= first && row[last] == 0.0f) --last;
    Phase &p = phases_[static_cast<size_t>(j)];
    p.first = first;
    if (first <= last) p.taps.assign(row + first, row + last + 1);
  }
}

size_t Resampler::OutputLength(size_t num_samples) const {
  const auto n = static_cast<unsigned long long>(num_samples);
  const auto o = static_cast<unsigned long long>(orig_), w = static_cast<unsigned long long>(new_);
  return static_cast<size_t>((w * n + o - 1) / o);
}

std::vector<float> Resampler::Process(const float *x, size_t n) const {
  if (orig_rate_ == new_rate_) return std::vector<float>(x, x + n);
  const size_t out_len = OutputLength(n);
  std::vector<float> y(out_len);
  if (out_len == 0) return y;
  // Zero padding: width on the left, width + orig on the right (torchaudio).
  const size_t left = static_cast<size_t>(width_);
  std::vector<float> padded(n + 2 * left + static_cast<size_t>(orig_), 0.0f);
  std::copy(x, x + n, padded.begin() + static_cast<std::ptrdiff_t>(left));
  const auto step = static_cast<size_t>(orig_);
  const auto phases = static_cast<size_t>(new_);
  for (size_t o = 0; o < out_len; ++o) {
    const size_t block = o / phases, j = o % phases;
    const Phase &p = phases_[j];
    const float *s = padded.data() + block * step + static_cast<size_t>(p.first);
    double acc = 0.0;
    for (size_t k = 0; k < p.taps.size(); ++k)
      acc += static_cast<double>(s[k]) * static_cast<double>(p.taps[k]);
    y[o] = static_cast<float>(acc);
  }
  return y;
}

std::shared_ptr<const Resampler> GetResampler(int orig_rate, int new_rate) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, std::shared_ptr<const Resampler>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto &slot = cache[{orig_rate, new_rate}];
  if (!slot) slot = std::make_shared<const Resampler>(orig_rate, new_rate);
  return slot;
}

std::vector<float> Resample(const std::vector<float> &x, int orig_rate, int new_rate) {
  if (orig_rate == new_rate) return x;
  return GetResampler(orig_rate, new_rate)->Process(x);
}

}  // namespace cosyvoice
