// src/audio/fft.h - forward real FFT, rounded like the reference's torch.fft.rfft / torch.stft.
#pragma once

#include <complex>
#include <memory>
#include <vector>

namespace cosyvoice {

// out[k] = sum_j in[j] * exp(-2*pi*i*j*k/n) for k = 0..n/2 (the one-sided spectrum, unscaled).
//
// Why not just kissfft: torch (CPU, no MKL) computes rfft with pocketfft's FFTPACK-style real
// transform in float32, and the features read spectral bins 80+ dB below a frame's peak (Kaldi's
// low bands after pre-emphasis, Whisper's max-8 floor), where float32 rounding noise of any other
// FFT shows up as ~1e-4 in the log domain. For lengths whose factors are 2, 3 and 5 (every length
// the frontends use: 400, 512, 1920) this class therefore runs the FFTPACK radix-2/3/4/5 real
// passes in float with the same factor order, twiddles and operation order, which makes its output
// equal to the reference's bit for bit. Other even lengths go through kissfft's kiss_fftr.
class RealFft {
 public:
  explicit RealFft(int n);  // n >= 1; n must be even unless its only factors are 2, 3 and 5
  ~RealFft();
  RealFft(const RealFft &) = delete;
  RealFft &operator=(const RealFft &) = delete;

  int size() const { return n_; }
  int num_bins() const { return n_ / 2 + 1; }
  bool uses_kissfft() const { return kiss_ != nullptr; }

  // in: size() samples; out: num_bins() values; work: scratch, resized as needed. Thread-safe
  // when each thread passes its own work vector.
  void Forward(const float *in, std::complex<float> *out, std::vector<float> &work) const;

 private:
  struct Stage {
    int radix;
    const float *twiddles;  // into twiddles_; (radix-1)*(ido-1) values, null for the last stage
  };
  void RunPasses(float *data, float *scratch) const;

  int n_;
  std::vector<Stage> stages_;  // FFTPACK factor order
  std::vector<float> twiddles_;
  struct Kiss;
  std::unique_ptr<Kiss> kiss_;
};

}  // namespace cosyvoice
