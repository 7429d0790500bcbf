// src/engine/rng.cc
#include "engine/rng.h"

namespace cosyvoice {
namespace {
inline uint64_t Rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

uint64_t SplitMix64Next(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Xoshiro256::Xoshiro256(uint64_t seed) {
  uint64_t sm = seed;
  for (auto &s : s_) s = SplitMix64Next(sm);
}

Xoshiro256 Xoshiro256::FromState(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3) {
  Xoshiro256 r;
  r.s_[0] = s0;
  r.s_[1] = s1;
  r.s_[2] = s2;
  r.s_[3] = s3;
  return r;
}

uint64_t Xoshiro256::NextU64() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

size_t SampleCategorical(const double *weights, size_t n, Xoshiro256 &rng) {
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) total += weights[i];
  const double u = rng.NextDouble() * total;  // the draw is consumed even if total is 0
  double cum = 0.0;
  size_t last_positive = n;
  for (size_t i = 0; i < n; ++i) {
    cum += weights[i];
    if (weights[i] > 0.0) last_positive = i;
    if (cum > u) return i;
  }
  return last_positive;
}

}  // namespace cosyvoice
