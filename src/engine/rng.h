// src/engine/rng.h - the seeded generator shared bit-for-bit with the Python reference.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cosyvoice {

// xoshiro256** with its state seeded by four SplitMix64 outputs of the user seed. Defined in
// docs/determinism.md and implemented identically in python/cosyvoice_export/sampling.py, so the
// same seed and the same logits give the same token sequence in both.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed);
  // Raw state, for test vectors of the published reference implementation.
  static Xoshiro256 FromState(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3);
  uint64_t NextU64();
  // Uniform in [0, 1): the top 53 bits of NextU64().
  double NextDouble() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

 private:
  Xoshiro256() = default;
  uint64_t s_[4] = {0, 0, 0, 0};
};

uint64_t SplitMix64Next(uint64_t &state);

// Draws an index with probability proportional to weights[i] >= 0 (docs/determinism.md):
// u = NextDouble() * sum (sequential float64 sum); the first i whose running sum exceeds u;
// if rounding leaves none, the last i with a positive weight. Returns n when all weights are 0.
size_t SampleCategorical(const double *weights, size_t n, Xoshiro256 &rng);

}  // namespace cosyvoice
