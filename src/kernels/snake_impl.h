// src/kernels/snake_impl.h - the Snake kernel of snake.h as a template over the vector width,
// included by one translation unit per instruction set (snake_*.cc), like winograd_tiles.h.
// Compiled with -ffp-contract=off: the products and sums round as the base graph's nodes do.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/snake.h"

namespace cosyvoice::kernels::snake {

template <int VW>
struct SnakeKernel {
  typedef float Vec __attribute__((vector_size(VW * 4)));
  typedef float VecU __attribute__((vector_size(VW * 4), aligned(4), may_alias));
  typedef int32_t IVec __attribute__((vector_size(VW * 4)));
  typedef uint32_t UVec __attribute__((vector_size(VW * 4)));

  static Vec Load(const float *p) { return *reinterpret_cast<const VecU *>(p); }
  static void Store(float *p, Vec v) { *reinterpret_cast<VecU *>(p) = v; }
  static Vec Splat(float v) { return Vec{} + v; }

  // sin(t) for |t| <= kVectorSineLimit (other lanes: garbage, the caller redoes them): t = j pi/2 + r
  // with j rounded to nearest (1.5 * 2^23 forces the rounding), r in [-pi/4, pi/4] by Cody-Waite with
  // pi/2 in three parts (the first two exact for |j| < 2^13); the minimax polynomials of Cephes'
  // sinf/cosf on that interval (https://github.com/jeremybarnes/cephes/blob/master/single/sinf.c);
  // the quadrant j mod 4 picks sin r, cos r, -sin r or -cos r.
  static Vec Sine(Vec t) {
    const Vec shifter = Splat(12582912.0f);
    const Vec biased = t * Splat(0.636619772367581343f) + shifter;  // mantissa: 2^22 + j
    const Vec j = biased - shifter;
    Vec r = t - j * Splat(1.5703125f);
    r = r - j * Splat(4.837512969970703125e-4f);
    r = r - j * Splat(7.54978995489188216e-8f);
    const Vec r2 = r * r;
    Vec sin_r = Splat(-1.9515295891e-4f);
    sin_r = sin_r * r2 + Splat(8.3321608736e-3f);
    sin_r = sin_r * r2 + Splat(-1.6666654611e-1f);
    sin_r = sin_r * r2 * r + r;
    Vec cos_r = Splat(2.443315711809948e-5f);
    cos_r = cos_r * r2 + Splat(-1.388731625493765e-3f);
    cos_r = cos_r * r2 + Splat(4.166664568298827e-2f);
    cos_r = cos_r * r2 * r2 - Splat(0.5f) * r2 + Splat(1.0f);
    const UVec q = (UVec)biased;     // low bits: j mod 4 (2^22 is a multiple of 4)
    const UVec use_cos = -(q & 1u);  // all ones where j is odd
    UVec bits = (use_cos & (UVec)cos_r) | (~use_cos & (UVec)sin_r);
    bits ^= (q & 2u) << 30;  // negate in quadrants 2 and 3
    return (Vec)bits;
  }

  // Lanes whose argument is beyond the vector sine's range (NaN and infinity included) get std::sin.
  static Vec SafeSine(Vec t) {
    const Vec magnitude = (Vec)((UVec)t & 0x7fffffffu);
    const IVec in_range = magnitude <= Splat(kVectorSineLimit);
    int32_t ok[VW];
    std::memcpy(ok, &in_range, sizeof(ok));
    int32_t all = -1;
    for (int l = 0; l < VW; ++l) all &= ok[l];
    Vec s = Sine(t);
    if (all == 0) {
      float lanes[VW], sines[VW];
      std::memcpy(lanes, &t, sizeof(lanes));
      std::memcpy(sines, &s, sizeof(sines));
      for (int l = 0; l < VW; ++l)
        if (!ok[l]) sines[l] = std::sin(lanes[l]);
      std::memcpy(&s, sines, sizeof(sines));
    }
    return s;
  }

  // The ragged end of a row through a zero-padded vector, copied element by element: no memcpy call
  // on tensor memory (ThreadSanitizer intercepts it, src/CMakeLists.txt).
  static Vec LoadPartial(const float *p, int64_t n) {
    float lanes[VW] = {};
    for (int64_t l = 0; l < n; ++l) lanes[l] = p[l];
    return Load(lanes);
  }
  static void StorePartial(float *p, Vec v, int64_t n) {
    float lanes[VW];
    Store(lanes, v);
    for (int64_t l = 0; l < n; ++l) p[l] = lanes[l];
  }

  static void Sines(const float *t, float *out, int64_t count) {
    int64_t i = 0;
    for (; i + VW <= count; i += VW) Store(out + i, SafeSine(Load(t + i)));
    if (i < count) StorePartial(out + i, SafeSine(LoadPartial(t + i, count - i)), count - i);
  }

  static Vec Activation(Vec x, Vec a, Vec inv) {
    const Vec s = SafeSine(x * a);
    return x + (s * s) * inv;
  }

  static void Rows(const float *x, float *y, int64_t first, int64_t last, int64_t length, int channels,
                   const float *alpha, const float *inv_alpha) {
    for (int64_t row = first; row < last; ++row) {
      const int c = static_cast<int>(row % channels);
      const Vec a = Splat(alpha[c]), inv = Splat(inv_alpha[c]);
      const float *xr = x + row * length;
      float *yr = y + row * length;
      int64_t i = 0;
      for (; i + VW <= length; i += VW) Store(yr + i, Activation(Load(xr + i), a, inv));
      if (i < length) StorePartial(yr + i, Activation(LoadPartial(xr + i, length - i), a, inv), length - i);
    }
  }
};

}  // namespace cosyvoice::kernels::snake
