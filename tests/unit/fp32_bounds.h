// tests/unit/fp32_bounds.h - float32 error bounds from which the C++ tests derive their tolerances
// (docs/parity.md, "How tolerances are derived"; python/tests/fp32.py is the same model in Python).
//
// Model (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., §2.2, §3.1):
//  * float32 rounds to nearest with unit roundoff u = 2^-24 (~5.96e-8);
//  * a sum or dot product of n terms in ANY order (SIMD width, blocking, thread split) is within
//    gamma(n) * sum|terms| of the exact value, gamma(n) = n u / (1 - n u) (Higham eq. 3.5); two
//    float32 evaluations that differ only in order differ by at most twice that (Pair);
//  * elementwise float32 transcendentals (exp, log, sin, cos, tanh, erf, sqrt, pow) in glibc, SLEEF,
//    MLAS and Eigen are within kFnUlps ulp;
//  * along a chain of non-expansive stages (normalised layers, activations with |f'| <= 1.13) the
//    reduction lengths add to first order (Chain); the magnitude is the largest |value| of the
//    compared quantity (no catastrophic cancellation in the final sums).
// Nothing here depends on the CPU, the thread count or a library version.
#pragma once

#include <cmath>
#include <initializer_list>

namespace cosyvoice::testing {

constexpr double kU = 1.0 / 16777216.0;            // 2^-24, float32 unit roundoff
constexpr double kU64 = 1.0 / 9007199254740992.0;  // 2^-53, float64 unit roundoff
constexpr double kFnUlps = 4.0;                    // ulps of a float32 transcendental function

// Relative error bound of an n-term sum or dot product in any order.
constexpr double Gamma(double n, double u = kU) {
  return n * u / (1.0 - n * u);
}

// Accumulation depth of a chain of reductions, plus kFnUlps per transcendental stage.
constexpr double Chain(std::initializer_list<double> lengths, int transcendental = 0) {
  double d = kFnUlps * transcendental;
  for (double n : lengths) d += n;
  return d;
}

// Accumulation depth of one bin of a mixed-radix (real) FFT of size n (kissfft, PocketFFT, MKL):
// every output is reached through one butterfly per prime factor p of n, which sums p terms after
// a twiddle multiply (p + 2 roundings), with float32 twiddles (kFnUlps each level); a real FFT adds
// its split step (4 roundings and a twiddle). Relative to the frame's l1 norm sum |x|.
inline double FftDepth(int n) {
  double d = 4 + kFnUlps;
  for (int p = 2; n > 1; ++p) {
    while (n % p == 0) {
      d += p + 2 + kFnUlps;
      n /= p;
    }
  }
  return d;
}

// Two float32 evaluations of a chain of depth `depth` on terms of magnitude `scale`.
constexpr double Pair(double depth, double scale) {
  return 2.0 * Gamma(depth) * scale;
}

// A float32 evaluation against an (essentially exact) float64 one.
constexpr double Vs64(double depth, double scale) {
  return (Gamma(depth) + Gamma(depth, kU64)) * scale;
}

}  // namespace cosyvoice::testing
