// src/audio/resampler.h - torchaudio.transforms.Resample(orig, new) with its defaults.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace cosyvoice {

// Band-limited sinc interpolation exactly as torchaudio 0.13's default Resample: Hann-windowed
// sinc ("sinc_interp_hann"), lowpass_filter_width 6, rolloff 0.99, rates reduced by their gcd.
// The kernel is computed in float64 and stored as float32 (torchaudio's transform caches a
// float32 kernel); the signal is zero-padded by `width` on the left and `width + orig` on the
// right and convolved with stride `orig`; the output has ceil(new * n / orig) samples.
// Kernel taps that are exactly 0.0f (beyond the 6 zero crossings) are skipped, which changes no
// result. Accumulation is in float64, so outputs differ from torch's float32 conv1d only by
// torch's own rounding (< 1e-6 for signals in [-1, 1]).
class Resampler {
 public:
  // Rates > 0 (else Error(kInvalidArgument)) whose kernel is at most kMaxResamplerKernel floats
  // (else Error(kInvalidAudio) suggesting a standard rate).
  Resampler(int orig_rate, int new_rate);

  int orig_rate() const { return orig_rate_; }
  int new_rate() const { return new_rate_; }
  int width() const { return width_; }     // taps on each side, in reduced-rate samples
  int orig_step() const { return orig_; }  // orig / gcd
  int new_step() const { return new_; }    // new / gcd
  // ceil(new * n / orig) with the reduced rates, computed exactly in integers.
  size_t OutputLength(size_t num_samples) const;
  // The float32 kernel: new_step() phases x (2*width + orig_step()) taps.
  const std::vector<float> &kernel() const { return kernel_; }

  std::vector<float> Process(const float *x, size_t n) const;
  std::vector<float> Process(const std::vector<float> &x) const { return Process(x.data(), x.size()); }

 private:
  struct Phase {
    int first = 0;  // index of the first nonzero tap
    std::vector<float> taps;
  };
  int orig_rate_, new_rate_;
  int orig_ = 1, new_ = 1, width_ = 0;
  std::vector<float> kernel_;
  std::vector<Phase> phases_;
};

// Floats in the kernel Resampler(orig, new) builds: new/g phases x (2*width + orig/g) taps, g their
// gcd. Standard rates need at most ~291k (11025 -> 16000); two rates sharing no large factor need a
// huge one (44101 Hz -> 16000 Hz: 700M floats, 2.8 GB and a minute for a 1 s prompt).
size_t ResamplerKernelSize(int orig_rate, int new_rate);
// The most a Resampler accepts (4 MB of kernel): 3.6x the largest standard-rate kernel.
constexpr size_t kMaxResamplerKernel = size_t{1} << 20;

// A shared, cached Resampler per (orig, new) pair; building a kernel costs up to a few ms.
std::shared_ptr<const Resampler> GetResampler(int orig_rate, int new_rate);

// x at orig_rate resampled to new_rate (a copy of x when the rates are equal, as torchaudio).
std::vector<float> Resample(const std::vector<float> &x, int orig_rate, int new_rate);

}  // namespace cosyvoice
