// src/kernels/winograd_tiles.h - the tile kernel of winograd_conv1d.h as a template over the vector
// width, included by one translation unit per instruction set (winograd_tiles_*.cc, each compiled
// for its ISA). GCC/Clang vector extensions: the same source becomes SSE/NEON, AVX2 or AVX-512.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/winograd_conv1d.h"

namespace cosyvoice::kernels::tiles {

// floor(a / b) and ceil(a / b) for b > 0 and any sign of a.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
inline int64_t CeilDiv(int64_t a, int64_t b) {
  return -FloorDiv(-a, b);
}

inline WinogradPhasePlan PhasePlan(const WinogradLayout &layout, int64_t input_length, int phase) {
  const int d = layout.shape.dilation;
  WinogradPhasePlan p;
  p.input_samples = std::max<int64_t>(0, CeilDiv(input_length - phase, d));
  p.output_samples = std::max<int64_t>(0, CeilDiv(layout.shape.OutputLength(input_length) - phase, d));
  p.tiles = CeilDiv(p.output_samples, layout.m);
  return p;
}

template <int VW, int MR>
struct TileKernel {
  typedef float Vec __attribute__((vector_size(VW * 4)));
  typedef float VecU __attribute__((vector_size(VW * 4), aligned(4), may_alias));
  static constexpr int kColumns = 2 * VW;  // tiles per register block

  static Vec Load(const float *p) { return *reinterpret_cast<const VecU *>(p); }
  static void Store(float *p, Vec v) { *reinterpret_cast<VecU *>(p) = v; }

  // out[MR][kColumns] (row stride ldo) = sum over pieces j and channels i of
  // a[(j * cin + i) * MR + row] * v[i * ldv + j + column]: the transformed kernel's rows times the
  // transformed input shifted by one tile per piece.
  static void Product(int pieces, int cin, const float *a, const float *v, int64_t ldv, float *out, int ldo) {
    Vec acc0[MR], acc1[MR];
    for (int row = 0; row < MR; ++row) acc0[row] = acc1[row] = Vec{};
    for (int j = 0; j < pieces; ++j) {
      const float *vj = v + j;
      for (int i = 0; i < cin; ++i, a += MR) {
        const Vec b0 = Load(vj + i * ldv), b1 = Load(vj + i * ldv + VW);
        for (int row = 0; row < MR; ++row) {
          acc0[row] += a[row] * b0;
          acc1[row] += a[row] * b1;
        }
      }
    }
    for (int row = 0; row < MR; ++row) {
      Store(out + row * ldo, acc0[row]);
      Store(out + row * ldo + VW, acc1[row]);
    }
  }

  struct Scratch {
    std::vector<float> streams, transformed, products;
  };

  // One block of `count` tiles starting at tile `first` of phase `phase`.
  static void Block(const WinogradLayout &L, const float *x, int64_t input_length, float *y,
                    int64_t output_length, int phase, const WinogradPhasePlan &plan, int64_t first, int count,
                    int block_tiles, Scratch &s) {
    const Conv1dShape &sh = L.shape;
    const int n = L.n, cin = sh.in_channels, d = sh.dilation;
    const int padded = static_cast<int>(CeilDiv(count, kColumns)) * kColumns;
    // transformed tiles: the block's, plus pieces - 1 to the right for the shifted pieces
    const int vtiles = static_cast<int>(CeilDiv(padded + L.pieces - 1, VW)) * VW;
    const int64_t ldv = vtiles + VW;
    const int64_t lds = ldv + VW;  // a window reaches one tile further (n <= 2 m)
    s.streams.resize(4 * lds);
    s.transformed.resize(n * cin * ldv);
    s.products.resize(n * MR * block_tiles + kColumns);
    const int64_t shift = sh.pad_left / d;
    TransformInput(L, x, input_length, phase, plan, first, vtiles, lds, ldv, shift, s);
    const int blocks = CeilDiv(sh.out_channels, MR);
    const int64_t k = static_cast<int64_t>(L.pieces) * cin;
    for (int cb = 0; cb < blocks; ++cb) {
      for (int p = 0; p < n; ++p) {
        const float *a = L.weights.data() + ((static_cast<int64_t>(p) * blocks + cb) * k) * MR;
        const float *v = s.transformed.data() + static_cast<int64_t>(p) * cin * ldv;
        float *out = s.products.data() + static_cast<int64_t>(p) * MR * block_tiles;
        for (int u = 0; u < padded; u += kColumns)
          Product(L.pieces, cin, a, v + u, ldv, out + u, block_tiles);
      }
      TransformOutput(L, y, output_length, phase, plan, first, count, cb, block_tiles, s);
    }
  }

  // transformed[p][i][v] = sum_q BT[p][q] x_i(phase sample 4 (first + v) + q - shift), the samples
  // gathered first into 4 streams (stream s holds sample 4 v + s) so that tiles lie along vectors.
  static void TransformInput(const WinogradLayout &L, const float *x, int64_t input_length, int phase,
                             const WinogradPhasePlan &plan, int64_t first, int vtiles, int64_t lds,
                             int64_t ldv, int64_t shift, Scratch &s) {
    const int n = L.n, cin = L.shape.in_channels, d = L.shape.dilation;
    const int64_t stream_len = vtiles + 1;
    for (int i = 0; i < cin; ++i) {
      const float *xi = x + i * input_length + phase;
      for (int st = 0; st < 4; ++st) {
        float *dst = s.streams.data() + st * lds;
        const int64_t base = 4 * first + st - shift;  // phase sample of tile 0
        const int64_t lo = std::clamp<int64_t>(CeilDiv(-base, 4), 0, stream_len);
        const int64_t hi = std::clamp<int64_t>(CeilDiv(plan.input_samples - base, 4), lo, stream_len);
        std::fill(dst, dst + lo, 0.0f);
        for (int64_t v = lo; v < hi; ++v) dst[v] = xi[(base + 4 * v) * d];
        std::fill(dst + hi, dst + stream_len + VW, 0.0f);
      }
      for (int64_t v = 0; v < vtiles; v += VW) {
        Vec w[8];
        for (int q = 0; q < n; ++q) w[q] = Load(s.streams.data() + (q & 3) * lds + v + (q >> 2));
        for (int p = 0; p < n; ++p) {
          const float *bt = L.bt.data() + p * n;
          Vec acc = bt[0] * w[0];
          for (int q = 1; q < n; ++q) acc += bt[q] * w[q];
          Store(s.transformed.data() + (static_cast<int64_t>(p) * cin + i) * ldv + v, acc);
        }
      }
    }
  }

  // y[o][(4 (first + u) + e) d + phase] = bias[o] + sum_p AT[e][p] products[p][o][u] for the MR
  // output channels of block cb.
  static void TransformOutput(const WinogradLayout &L, float *y, int64_t output_length, int phase,
                              const WinogradPhasePlan &plan, int64_t first, int count, int cb,
                              int block_tiles, Scratch &s) {
    const int n = L.n, d = L.shape.dilation;
    for (int row = 0; row < MR; ++row) {
      const int o = cb * MR + row;
      if (o >= L.shape.out_channels) break;
      float *yo = y + o * output_length + phase;
      const float *prod = s.products.data() + row * block_tiles;
      for (int u = 0; u < count; u += VW) {
        float tile[4][VW];
        for (int e = 0; e < 4; ++e) {
          const float *at = L.at.data() + e * n;
          Vec acc = L.bias[o] + at[0] * Load(prod + u);
          for (int p = 1; p < n; ++p)
            acc += at[p] * Load(prod + static_cast<int64_t>(p) * MR * block_tiles + u);
          Store(tile[e], acc);
        }
        const int lanes = std::min(VW, count - u);
        const int64_t q0 = 4 * (first + u);
        if (q0 + 4 * lanes <= plan.output_samples) {
          for (int l = 0; l < lanes; ++l)
            for (int e = 0; e < 4; ++e) yo[(q0 + 4 * l + e) * d] = tile[e][l];
        } else {
          for (int l = 0; l < lanes; ++l)
            for (int e = 0; e < 4 && q0 + 4 * l + e < plan.output_samples; ++e)
              yo[(q0 + 4 * l + e) * d] = tile[e][l];
        }
      }
    }
  }

  static void Run(const WinogradLayout &L, const float *x, int64_t input_length, float *y, size_t begin,
                  size_t end) {
    thread_local Scratch scratch;
    const int block_tiles = WinogradBlockTiles(L, kColumns);
    const int64_t output_length = L.shape.OutputLength(input_length);
    size_t unit = 0;
    for (int phase = 0; phase < L.shape.dilation && unit < end; ++phase) {
      const WinogradPhasePlan plan = PhasePlan(L, input_length, phase);
      for (int64_t first = 0; first < plan.tiles; first += block_tiles, ++unit) {
        if (unit < begin) continue;
        if (unit >= end) return;
        const int count = static_cast<int>(std::min<int64_t>(block_tiles, plan.tiles - first));
        Block(L, x, input_length, y, output_length, phase, plan, first, count, block_tiles, scratch);
      }
    }
  }
};

}  // namespace cosyvoice::kernels::tiles
