// src/kernels/panel_matmul_avx2.cc - the kernel of panel_matmul.h for avx2 (8 floats per vector,
// 6 rows x 1 panel(s) per register block); src/CMakeLists.txt sets this file's ISA flags.
#include "kernels/panel_matmul_tiles.h"

namespace cosyvoice::kernels {

void PanelMatMulAvx2(const PanelJob &job, int64_t row0, int64_t row1, int64_t panel0, int64_t panel1) {
  panels::PanelKernel<8, 6, 1>::Run(job, row0, row1, panel0, panel1);
}

}  // namespace cosyvoice::kernels
