// src/kernels/kernel_isa.cc - which of the kernels' instruction sets runs (kernel_isa.h).
#include "kernels/kernel_isa.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace cosyvoice::kernels {
namespace {

bool CpuHas(KernelIsa isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (isa) {
    case KernelIsa::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case KernelIsa::kAvx512: return __builtin_cpu_supports("avx512f");
    default: return true;
  }
#else
  return isa == KernelIsa::kGeneric || isa == KernelIsa::kBest;
#endif
}

}  // namespace

KernelIsa ResolvedKernelIsa(KernelIsa isa) {
  return isa == KernelIsa::kBest ? BestKernelIsa() : isa;
}

std::vector<KernelIsa> AvailableKernelIsas() {
  std::vector<KernelIsa> isas;
  for (KernelIsa isa : {KernelIsa::kGeneric, KernelIsa::kAvx2, KernelIsa::kAvx512})
    if (KernelIsaAvailable(isa)) isas.push_back(isa);
  return isas;
}

KernelIsa BestKernelIsa() {
  const char *forced = std::getenv("COSYVOICE_KERNEL_ISA");
  if (forced != nullptr && *forced != '\0') {
    for (KernelIsa isa : {KernelIsa::kGeneric, KernelIsa::kAvx2, KernelIsa::kAvx512})
      if (std::strcmp(forced, KernelIsaName(isa)) == 0 && KernelIsaAvailable(isa)) return isa;
    throw std::invalid_argument(std::string("COSYVOICE_KERNEL_ISA=") + forced +
                                ": expected generic, avx2 or avx512, one this build and CPU can run");
  }
  if (KernelIsaAvailable(KernelIsa::kAvx512)) return KernelIsa::kAvx512;
  if (KernelIsaAvailable(KernelIsa::kAvx2)) return KernelIsa::kAvx2;
  return KernelIsa::kGeneric;
}

const char *KernelIsaName(KernelIsa isa) {
  switch (ResolvedKernelIsa(isa)) {
    case KernelIsa::kAvx512: return "avx512";
    case KernelIsa::kAvx2: return "avx2";
    default: return "generic";
  }
}

bool KernelIsaAvailable(KernelIsa isa) {
#if !defined(COSYVOICE_KERNELS_X86)
  if (isa == KernelIsa::kAvx2 || isa == KernelIsa::kAvx512) return false;
#endif
  return CpuHas(isa);
}

KernelIsa CheckedKernelIsa(KernelIsa isa, const char *kernel) {
  const KernelIsa resolved = ResolvedKernelIsa(isa);
  if (!KernelIsaAvailable(resolved))
    throw std::invalid_argument(std::string(kernel) + ": this build or CPU has no " +
                                KernelIsaName(resolved) + " kernel");
  return resolved;
}

}  // namespace cosyvoice::kernels
