// src/engine/istft.cc
#include "engine/istft.h"

#include <cmath>

#include "cosyvoice/error.h"

namespace cosyvoice {

Istft::Istft(int n_fft, int hop) : n_fft_(n_fft), hop_(hop) {
  if (n_fft < 2 || n_fft % 2 != 0 || hop < 1 || hop > n_fft) {
    throw Error(ErrorCode::kInvalidArgument, "istft: need even n_fft >= 2 and 1 <= hop <= n_fft");
  }
  window_.resize(static_cast<size_t>(n_fft));
  for (int n = 0; n < n_fft; ++n) {
    window_[static_cast<size_t>(n)] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * n / n_fft));
  }
  const int nb = bins();
  cos_.resize(static_cast<size_t>(n_fft * nb));
  sin_.resize(static_cast<size_t>(n_fft * nb));
  for (int n = 0; n < n_fft; ++n) {
    for (int k = 0; k < nb; ++k) {
      const double a = 2.0 * M_PI * static_cast<double>(k) * n / n_fft;
      cos_[static_cast<size_t>(n * nb + k)] = std::cos(a);
      sin_[static_cast<size_t>(n * nb + k)] = std::sin(a);
    }
  }
}

std::vector<float> Istft::Run(const float *real, const float *imag, int frames) const {
  if (frames < 1) return {};
  const int nb = bins();
  const int64_t padded = static_cast<int64_t>(n_fft_) + static_cast<int64_t>(hop_) * (frames - 1);
  std::vector<double> acc(static_cast<size_t>(padded), 0.0);
  std::vector<double> env(static_cast<size_t>(padded), 0.0);
  for (int f = 0; f < frames; ++f) {
    const int64_t offset = static_cast<int64_t>(f) * hop_;
    for (int n = 0; n < n_fft_; ++n) {
      // irfft: x[n] = (1/N) [X0 + (-1)^n X_{N/2} + 2 sum_{k=1}^{N/2-1} Re(X_k e^{i2pi kn/N})]
      auto re = [&](int k) { return static_cast<double>(real[k * frames + f]); };
      auto im = [&](int k) { return static_cast<double>(imag[k * frames + f]); };
      double x = re(0) + (n % 2 == 0 ? 1.0 : -1.0) * re(nb - 1);
      for (int k = 1; k < nb - 1; ++k) {
        const size_t b = static_cast<size_t>(n * nb + k);
        x += 2.0 * (re(k) * cos_[b] - im(k) * sin_[b]);
      }
      x /= n_fft_;
      const double w = static_cast<double>(window_[static_cast<size_t>(n)]);
      acc[static_cast<size_t>(offset + n)] += x * w;
      env[static_cast<size_t>(offset + n)] += w * w;
    }
  }
  const int64_t trim = n_fft_ / 2;
  const int64_t length = static_cast<int64_t>(hop_) * (frames - 1);
  std::vector<float> out(static_cast<size_t>(length));
  for (int64_t i = 0; i < length; ++i) {
    const double e = env[static_cast<size_t>(i + trim)];
    // torch.istft refuses windows whose envelope vanishes (NOLA); Hann with hop <= n_fft/2 never does
    out[static_cast<size_t>(i)] =
        static_cast<float>(e > 1e-11 ? acc[static_cast<size_t>(i + trim)] / e : 0.0);
  }
  return out;
}

}  // namespace cosyvoice
