// src/kernels/panel_matmul_tiles.h - the register blocks of panel_matmul.h as a template over the
// vector width, included by one translation unit per instruction set (panel_matmul_*.cc, each
// compiled for its ISA). GCC/Clang vector extensions: the same source becomes SSE/NEON, AVX2 or
// AVX-512.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/panel_matmul.h"

namespace cosyvoice::kernels::panels {

// VW floats per vector, up to MR rows of X and PP panels of the weight per register block.
template <int VW, int MR, int PP>
struct PanelKernel {
  typedef float Vec __attribute__((vector_size(VW * 4)));
  typedef float VecU __attribute__((vector_size(VW * 4), aligned(4), may_alias));
  static constexpr int kVectors = kPanelWidth / VW;  // per panel row

  static Vec Load(const float *p) { return *reinterpret_cast<const VecU *>(p); }
  static void Store(float *p, Vec v) { *reinterpret_cast<VecU *>(p) = v; }

  // y[row .. row + R) x [columns of panels panel .. panel + P): every output one K-term sum in the
  // order k = 0 .. K - 1. The weight's rows are read once per block, contiguously per panel.
  template <int R, int P>
  static void Block(const PanelJob &job, int64_t row, int64_t panel) {
    constexpr int kAcc = P * kVectors;
    const int64_t k = job.k;
    const float *x = job.x + row * k;
    const float *w = job.panels + panel * k * kPanelWidth;
    Vec acc[R][kAcc];
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < kAcc; ++j) acc[r][j] = Vec{};
    for (int64_t i = 0; i < k; ++i) {
      Vec b[kAcc];
      for (int p = 0; p < P; ++p)
        for (int v = 0; v < kVectors; ++v) b[p * kVectors + v] = Load(w + (p * k + i) * kPanelWidth + v * VW);
      for (int r = 0; r < R; ++r) {
        const float a = x[r * k + i];
        for (int j = 0; j < kAcc; ++j) acc[r][j] += a * b[j];
      }
    }
    const int64_t col = panel * kPanelWidth;
    const int64_t valid = std::min<int64_t>(P * kPanelWidth, job.n - col);
    // Copies below are loops, never std::copy/memcpy: ThreadSanitizer intercepts memcpy even in this
    // uninstrumented code and would report the writes into ONNX Runtime's arena (src/CMakeLists.txt).
    if (job.bias != nullptr) {  // after the whole sum, as MatMul then Add rounds
      float b[P * kPanelWidth];
      for (int64_t c = 0; c < P * kPanelWidth; ++c) b[c] = c < valid ? job.bias[col + c] : 0.0f;
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < kAcc; ++j) acc[r][j] += Load(b + j * VW);
    }
    for (int r = 0; r < R; ++r) {
      float *y = job.y + (row + r) * job.n + col;
      if (valid == P * kPanelWidth) {
        for (int j = 0; j < kAcc; ++j) Store(y + j * VW, acc[r][j]);
      } else {  // the last panel's columns beyond N are not Y's
        float tail[P * kPanelWidth];
        for (int j = 0; j < kAcc; ++j) Store(tail + j * VW, acc[r][j]);
        for (int64_t c = 0; c < valid; ++c) y[c] = tail[c];
      }
    }
  }

  template <int R>
  static void Panels(const PanelJob &job, int64_t row, int64_t panel, int64_t panels) {
    if constexpr (PP > 1) {
      if (panels >= 2) return Block<R, 2>(job, row, panel);
    }
    Block<R, 1>(job, row, panel);
  }

  // R = rows at compile time, for 1 <= rows <= MR.
  template <int R>
  static void Rows(const PanelJob &job, int64_t row, int64_t rows, int64_t panel, int64_t panels) {
    if constexpr (R > 1) {
      if (rows < R) return Rows<R - 1>(job, row, rows, panel, panels);
    }
    Panels<R>(job, row, panel, panels);
  }

  // Panels outside, rows inside: a block's panels (PP x K x 64 bytes) stay in cache while every
  // block of rows passes over them.
  static void Run(const PanelJob &job, int64_t row0, int64_t row1, int64_t panel0, int64_t panel1) {
    for (int64_t panel = panel0; panel < panel1; panel += PP) {
      const int64_t panels = std::min<int64_t>(PP, panel1 - panel);
      for (int64_t row = row0; row < row1; row += MR)
        Rows<MR>(job, row, std::min<int64_t>(MR, row1 - row), panel, panels);
    }
  }
};

}  // namespace cosyvoice::kernels::panels
