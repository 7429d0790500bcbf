// src/engine/istft.cc
#include "engine/istft.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cosyvoice/error.h"

namespace cosyvoice {

Istft::Istft(int n_fft, int hop) : n_fft_(n_fft), hop_(hop) {
  if (n_fft < 2 || n_fft % 2 != 0 || n_fft > kMaxFft || hop < 1 || hop > n_fft) {
    throw Error(ErrorCode::kInvalidArgument,
                "istft: need even 2 <= n_fft <= " + std::to_string(kMaxFft) + " and 1 <= hop <= n_fft");
  }
  window_.resize(static_cast<size_t>(n_fft));
  for (int n = 0; n < n_fft; ++n) {
    window_[static_cast<size_t>(n)] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * n / n_fft));
  }
  // irfft: x[n] = (1/N) [X0 + (-1)^n X_{N/2} + 2 sum_{k=1}^{N/2-1} Re(X_k e^{i2pi kn/N})], then the
  // synthesis window, folded into one matrix per part, [k][n] so that the inner loop runs over the
  // frame's n_fft contiguous outputs: y[n] = sum_k re_k cos_[k][n] + im_k sin_[k][n].
  const int nb = bins();
  cos_.assign(static_cast<size_t>(n_fft * nb), 0.0f);
  sin_.assign(static_cast<size_t>(n_fft * nb), 0.0f);
  for (int k = 0; k < nb; ++k) {
    for (int n = 0; n < n_fft; ++n) {
      const double w = static_cast<double>(window_[static_cast<size_t>(n)]) / n_fft;
      const double a = 2.0 * M_PI * static_cast<double>(k) * n / n_fft;
      const size_t i = static_cast<size_t>(k * n_fft + n);
      if (k == 0) {
        cos_[i] = static_cast<float>(
            w);  // DC once; the imaginary parts of DC and Nyquist are ignored, as irfft does
      } else if (k == nb - 1) {
        cos_[i] = static_cast<float>(n % 2 == 0 ? w : -w);
      } else {
        cos_[i] = static_cast<float>(2.0 * w * std::cos(a));
        sin_[i] = static_cast<float>(-2.0 * w * std::sin(a));
      }
    }
  }
}

std::vector<float> Istft::Run(const float *real, const float *imag, int frames) const {
  if (frames < 1) return {};
  const int nb = bins();
  const int64_t trim = n_fft_ / 2;
  const int64_t length = static_cast<int64_t>(hop_) * (frames - 1);
  // One buffer (fresh pages are expensive): the overlap-add of every frame's windowed inverse DFT
  // over the padded length, then normalised and shifted left by `trim` in place.
  std::vector<float> out(static_cast<size_t>(n_fft_ + hop_ * (frames - 1)), 0.0f);
  float y[kMaxFft];
  for (int f = 0; f < frames; ++f) {
    std::fill(y, y + n_fft_, 0.0f);
    for (int k = 0; k < nb; ++k) {  // the frame's spectrum, read from the [bins][frames] layout
      const float re = real[static_cast<size_t>(k) * frames + f];
      const float im = imag[static_cast<size_t>(k) * frames + f];
      const float *b = &cos_[static_cast<size_t>(k * n_fft_)], *c = &sin_[static_cast<size_t>(k * n_fft_)];
      for (int n = 0; n < n_fft_; ++n) y[n] += re * b[n] + im * c[n];
    }
    float *o = out.data() + static_cast<int64_t>(f) * hop_;
    for (int n = 0; n < n_fft_; ++n) o[n] += y[n];
  }
  for (int64_t i = 0; i < length; ++i) {
    // the summed squared window at padded sample j: frames f with 0 <= j - f hop < n_fft
    const int64_t j = i + trim;
    double e = 0;
    for (int64_t f = std::max<int64_t>(0, (j - n_fft_) / hop_); f <= std::min<int64_t>(frames - 1, j / hop_);
         ++f) {
      const int64_t n = j - f * hop_;
      if (n >= 0 && n < n_fft_) {
        const double w = static_cast<double>(window_[static_cast<size_t>(n)]);
        e += w * w;
      }
    }
    // torch.istft refuses windows whose envelope vanishes (NOLA); Hann with hop <= n_fft/2 never does
    out[static_cast<size_t>(i)] =
        e > 1e-11 ? static_cast<float>(static_cast<double>(out[static_cast<size_t>(j)]) / e) : 0.0f;
  }
  out.resize(static_cast<size_t>(length));
  return out;
}

}  // namespace cosyvoice
