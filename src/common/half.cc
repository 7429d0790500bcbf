// src/common/half.cc
#include "common/half.h"

#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define COSY_HALF_X86 1
#endif

namespace cosyvoice {

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);  // normal: rebias 15 -> 127
  } else if (man == 0) {
    bits = sign;  // +-0
  } else {
    // subnormal: normalize the mantissa
    exp = 113;
    while ((man & 0x400u) == 0) {
      man <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((man & 0x3FFu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t FloatToHalf(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));  // NaN, quiet
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds to >= 65520: infinity
  if (abs < 0x38800000u) {
    // below the smallest normal half (2^-14): a subnormal half, m * 2^-24, m rounded to nearest even
    if (abs < 0x33000000u) return sign;  // below 2^-25: rounds to zero (2^-25 itself ties to 0)
    const uint32_t exp = abs >> 23;
    const uint32_t man = (abs & 0x7FFFFFu) | 0x800000u;  // 24-bit significand, value man * 2^(exp-150)
    const uint32_t shift = 126 - exp;                    // to units of 2^-24: 150 - exp - 24
    const uint32_t q = man >> shift, rest = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    const uint32_t m = q + ((rest > half || (rest == half && (q & 1u))) ? 1u : 0u);
    return static_cast<uint16_t>(sign | m);  // m may carry into the exponent field: 2^-14, correct
  }
  // normal: rebias 127 -> 15 and round the 23-bit mantissa to 10 bits, ties to even; a carry out of
  // the mantissa correctly increments the exponent (and 65504 + ulp/2 was sent to infinity above)
  const uint32_t rebased = abs - (112u << 23);
  const uint32_t q = rebased >> 13, rest = rebased & 0x1FFFu;
  const uint32_t m = q + ((rest > 0x1000u || (rest == 0x1000u && (q & 1u))) ? 1u : 0u);
  return static_cast<uint16_t>(sign | m);
}

#if defined(COSY_HALF_X86)
namespace {

// CPUID.1:ECX.F16C and .AVX, and the OS saving the YMM registers (OSXSAVE, XCR0 bits 1-2). Not
// __builtin_cpu_supports("f16c"): clang (the fuzz build) does not know that feature name.
bool CpuHasF16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool osxsave = (c & (1u << 27)) != 0, avx = (c & (1u << 28)) != 0, f16c = (c & (1u << 29)) != 0;
  if (!(osxsave && avx && f16c)) return false;
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  (void)hi;
  return (lo & 6u) == 6u;
}

__attribute__((target("avx,f16c"))) void HalfToFloatF16c(const uint16_t *in, float *out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(in + i));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) out[i] = HalfToFloat(in[i]);
}

__attribute__((target("avx,f16c"))) void FloatToHalfF16c(const float *in, uint16_t *out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i), h);
  }
  for (; i < n; ++i) out[i] = FloatToHalf(in[i]);
}

}  // namespace
#endif

bool HalfConversionHardware() {
#if defined(COSY_HALF_X86)
  static const bool available = CpuHasF16c();
  return available;
#else
  return false;
#endif
}

void HalfToFloatN(const uint16_t *in, float *out, size_t n) {
#if defined(COSY_HALF_X86)
  if (HalfConversionHardware()) return HalfToFloatF16c(in, out, n);
#endif
  for (size_t i = 0; i < n; ++i) out[i] = HalfToFloat(in[i]);
}

void FloatToHalfN(const float *in, uint16_t *out, size_t n) {
#if defined(COSY_HALF_X86)
  if (HalfConversionHardware()) return FloatToHalfF16c(in, out, n);
#endif
  for (size_t i = 0; i < n; ++i) out[i] = FloatToHalf(in[i]);
}

}  // namespace cosyvoice
