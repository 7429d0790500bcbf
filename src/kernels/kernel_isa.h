// src/kernels/kernel_isa.h - the instruction sets this folder's kernels are built for, and which
// one runs (every kernel is compiled once per set, in its *_generic/_avx2/_avx512.cc files).
#pragma once

#include <vector>

namespace cosyvoice::kernels {

// kBest: the widest this build and CPU can run (or the one COSYVOICE_KERNEL_ISA names).
enum class KernelIsa { kBest, kGeneric, kAvx2, kAvx512 };
// "generic", "avx2" or "avx512" (kBest resolved first).
const char *KernelIsaName(KernelIsa isa);
// Whether this build and CPU can run `isa` (kGeneric and kBest always can).
bool KernelIsaAvailable(KernelIsa isa);
// What kBest means: the widest instruction set available, or the one the environment variable
// COSYVOICE_KERNEL_ISA names (generic, avx2, avx512: to compare kernels on one machine). Throws
// std::invalid_argument when it names another value or one this CPU cannot run.
KernelIsa BestKernelIsa();
// `isa` with kBest resolved (BestKernelIsa()), any other value as it is.
KernelIsa ResolvedKernelIsa(KernelIsa isa);
// Every instruction set this build and CPU can run, narrowest first (the tests run each).
std::vector<KernelIsa> AvailableKernelIsas();
// `isa` with kBest resolved; throws std::invalid_argument naming `kernel` when it is not available.
KernelIsa CheckedKernelIsa(KernelIsa isa, const char *kernel);

}  // namespace cosyvoice::kernels
