// src/kernels/panel_matmul.h - Y = X W for a float32 weight stored in column panels, the layout the
// kernel reads as it is: a weight that needs no packing when its session is created (issue #16's
// float32 load, docs/quantization.md §7.2).
//
// ONNX Runtime's MatMul packs every constant weight when a session is created, and 1.30 packs it
// again even when an optimized graph carries the packed copy (to compute the key it finds the copy
// by; onnxruntime/core/framework/session_state.cc, GenerateKeyForPrepackedWeightsMap): ~2 s of the
// full-size float32 LLM's load. A weight written in this layout by the exporter is read in place,
// from the memory-mapped file, by every row count: one row (the LLM's decode, bound by memory
// bandwidth) and a few hundred (its prefill).
//
// Layout: W [K, N] row-major becomes P [ceil(N / 16)][K][16]: panel p holds columns 16 p .. 16 p + 15
// of every row of W, zero beyond column N. Each output is a K-term sum in the order k = 0 .. K - 1
// (one fused multiply-add per term where the CPU has them), whatever the instruction set, the rows
// and the split of the work: neither changes a bit (PanelMatMul.AnySplitAndAnyRowCountGiveTheSameBits).
//
// Thread-safe: the object holds the shape and the kernel's choice only; RunUnits only reads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel_isa.h"

namespace cosyvoice::kernels {

inline constexpr int kPanelWidth = 16;  // columns per panel: one AVX-512 vector, two AVX2 ones

// ceil(n / kPanelWidth): the panels of a weight with n columns.
inline int64_t PanelCount(int64_t n) {
  return (n + kPanelWidth - 1) / kPanelWidth;
}

// W [k, n] row-major in the panel layout (PanelCount(n) * k * kPanelWidth floats).
std::vector<float> PackPanels(const float *w, int64_t k, int64_t n);

// What one instruction set's kernel computes per register block, and a work unit's rows.
struct PanelBlocking {
  int rows = 0;       // rows of X per register block
  int panels = 0;     // panels per register block (and per work unit)
  int unit_rows = 0;  // rows per work unit (a multiple of `rows`)
};
PanelBlocking PanelBlockingFor(KernelIsa isa);

class PanelMatMul {
 public:
  // A product by a [k, n] weight in panels. Throws std::invalid_argument naming the field when k
  // or n is not positive, or when `isa` is not available.
  PanelMatMul(int64_t k, int64_t n, KernelIsa isa = KernelIsa::kBest);

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  KernelIsa isa() const { return isa_; }

  // Independent pieces of work for `rows` rows of X (blocks of columns times blocks of rows), for a
  // thread pool: RunUnits over disjoint ranges writes disjoint outputs.
  size_t WorkUnits(int64_t rows) const;
  // y [rows, n] = x [rows, k] (row-major) times the weight `panels`, plus `bias` [n] when not null
  // (added to each finished sum, as a separate Add node would), units [begin, end).
  void RunUnits(const float *x, int64_t rows, const float *panels, const float *bias, float *y, size_t begin,
                size_t end) const;
  void Run(const float *x, int64_t rows, const float *panels, const float *bias, float *y) const {
    RunUnits(x, rows, panels, bias, y, 0, WorkUnits(rows));
  }

 private:
  int64_t k_, n_;
  KernelIsa isa_;
  PanelBlocking blocking_;  // isa_'s
};

// The kernels, one per instruction set (panel_matmul_*.cc): rows [row0, row1) by the panels
// [panel0, panel1) of the weight.
struct PanelJob {
  const float *x;
  const float *panels;
  const float *bias;  // [n] or null
  float *y;
  int64_t k, n;
};
void PanelMatMulGeneric(const PanelJob &job, int64_t row0, int64_t row1, int64_t panel0, int64_t panel1);
void PanelMatMulAvx2(const PanelJob &job, int64_t row0, int64_t row1, int64_t panel0, int64_t panel1);
void PanelMatMulAvx512(const PanelJob &job, int64_t row0, int64_t row1, int64_t panel0, int64_t panel1);

}  // namespace cosyvoice::kernels
