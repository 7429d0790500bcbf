// src/engine/istft.h - the vocoder's inverse STFT (torch.istft semantics, small n_fft).
#pragma once

#include <vector>

namespace cosyvoice {

// torch.istft(X, n_fft, hop, win_length=n_fft, window=periodic Hann, center=True, onesided):
// each frame's one-sided spectrum (n_fft/2+1 bins; the imaginary parts of DC and Nyquist are
// ignored, as irfft does) is inverted, windowed, overlap-added with `hop`, divided by the
// summed squared window, and n_fft/2 samples are trimmed from both ends.
// Output length hop * (frames - 1).
class Istft {
 public:
  static constexpr int kMaxFft = 1024;  // frames are built on the stack
  Istft(int n_fft, int hop);
  // real/imag: [bins][frames] row-major (the generator's [1, bins, frames] layout).
  std::vector<float> Run(const float *real, const float *imag, int frames) const;
  int bins() const { return n_fft_ / 2 + 1; }

 private:
  int n_fft_, hop_;
  std::vector<float> window_;
  std::vector<float> cos_, sin_;  // [k][n] inverse-DFT basis with the window and 1/N folded in
};

}  // namespace cosyvoice
