// src/kernels/panel_matmul.cc - the panel layout, the work units and the choice of kernel
// (panel_matmul.h).
#include "kernels/panel_matmul.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace cosyvoice::kernels {

std::vector<float> PackPanels(const float *w, int64_t k, int64_t n) {
  std::vector<float> p(static_cast<size_t>(PanelCount(n) * k * kPanelWidth), 0.0f);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      p[static_cast<size_t>(((j / kPanelWidth) * k + i) * kPanelWidth + j % kPanelWidth)] = w[i * n + j];
  return p;
}

PanelBlocking PanelBlockingFor(KernelIsa isa) {
  // Register blocks (rows x panels) that fill each set's vector registers with accumulators:
  // AVX-512 12 x 2 (24 of 32 zmm), AVX2 6 x 1 (12 of 16 ymm, a panel being two), generic 4 x 1
  // (16 of NEON's 32 q; SSE spills). A work unit is 8 register blocks of rows by one of panels.
  switch (ResolvedKernelIsa(isa)) {
    case KernelIsa::kAvx512: return {12, 2, 96};
    case KernelIsa::kAvx2: return {6, 1, 48};
    default: return {4, 1, 32};
  }
}

PanelMatMul::PanelMatMul(int64_t k, int64_t n, KernelIsa isa)
    : k_(k), n_(n), isa_(CheckedKernelIsa(isa, "PanelMatMul")), blocking_(PanelBlockingFor(isa_)) {
  if (k <= 0)
    throw std::invalid_argument("PanelMatMul: k (rows of the weight) must be positive, got " +
                                std::to_string(k));
  if (n <= 0)
    throw std::invalid_argument("PanelMatMul: n (columns of the weight) must be positive, got " +
                                std::to_string(n));
}

namespace {

struct UnitGrid {
  int64_t row_units, panel_units;
};

UnitGrid Grid(const PanelBlocking &b, int64_t rows, int64_t n) {
  return {(rows + b.unit_rows - 1) / b.unit_rows, (PanelCount(n) + b.panels - 1) / b.panels};
}

}  // namespace

size_t PanelMatMul::WorkUnits(int64_t rows) const {
  if (rows <= 0) return 0;
  const UnitGrid g = Grid(blocking_, rows, n_);
  return static_cast<size_t>(g.row_units * g.panel_units);
}

void PanelMatMul::RunUnits(const float *x, int64_t rows, const float *panels, const float *bias, float *y,
                           size_t begin, size_t end) const {
  const PanelBlocking &b = blocking_;
  const UnitGrid g = Grid(b, rows, n_);
  const PanelJob job{x, panels, bias, y, k_, n_};
  const int64_t all_panels = PanelCount(n_);
  // unit = panel block * row_units + row block: a thread's consecutive units share their panels
  for (size_t unit = begin; unit < end; ++unit) {
    const int64_t pu = static_cast<int64_t>(unit) / g.row_units,
                  ru = static_cast<int64_t>(unit) % g.row_units;
    const int64_t row0 = ru * b.unit_rows, row1 = std::min(rows, row0 + b.unit_rows);
    const int64_t panel0 = pu * b.panels, panel1 = std::min(all_panels, panel0 + b.panels);
#if defined(COSYVOICE_KERNELS_X86)
    if (isa_ == KernelIsa::kAvx512) {
      PanelMatMulAvx512(job, row0, row1, panel0, panel1);
      continue;
    }
    if (isa_ == KernelIsa::kAvx2) {
      PanelMatMulAvx2(job, row0, row1, panel0, panel1);
      continue;
    }
#endif
    PanelMatMulGeneric(job, row0, row1, panel0, panel1);
  }
}

}  // namespace cosyvoice::kernels
