// src/common/half.h - IEEE 754 binary16 <-> binary32 conversions: the float16 embedding table
// (engine/embedding_table.h) and the float16 streaming cache (models/flow_chunk_graph.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace cosyvoice {

// binary16 -> binary32: exact (subnormals, infinities and NaN included).
float HalfToFloat(uint16_t h);
// binary32 -> binary16 rounded to nearest, ties to even (as numpy's and torch's .half()): overflow
// gives infinity, NaN stays NaN (quiet).
uint16_t FloatToHalf(float f);

// Arrays of `n` values. On x86-64 CPUs with F16C (every AVX2 CPU) the conversion instructions,
// else the scalar functions above; both give the same bits.
void HalfToFloatN(const uint16_t *in, float *out, size_t n);
void FloatToHalfN(const float *in, uint16_t *out, size_t n);

// Whether the array forms use F16C here (for tests and logs).
bool HalfConversionHardware();

}  // namespace cosyvoice
