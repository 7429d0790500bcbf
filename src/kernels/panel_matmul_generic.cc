// src/kernels/panel_matmul_generic.cc - the kernel of panel_matmul.h for generic (4 floats per vector,
// 4 rows x 1 panel(s) per register block); src/CMakeLists.txt sets this file's ISA flags.
#include "kernels/panel_matmul_tiles.h"

namespace cosyvoice::kernels {

void PanelMatMulGeneric(const PanelJob &job, int64_t row0, int64_t row1, int64_t panel0, int64_t panel1) {
  panels::PanelKernel<4, 4, 1>::Run(job, row0, row1, panel0, panel1);
}

}  // namespace cosyvoice::kernels
