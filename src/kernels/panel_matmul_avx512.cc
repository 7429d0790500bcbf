// src/kernels/panel_matmul_avx512.cc - the kernel of panel_matmul.h for avx512 (16 floats per vector,
// 12 rows x 2 panel(s) per register block); src/CMakeLists.txt sets this file's ISA flags.
#include "kernels/panel_matmul_tiles.h"

namespace cosyvoice::kernels {

void PanelMatMulAvx512(const PanelJob &job, int64_t row0, int64_t row1, int64_t panel0, int64_t panel1) {
  panels::PanelKernel<16, 12, 2>::Run(job, row0, row1, panel0, panel1);
}

}  // namespace cosyvoice::kernels
