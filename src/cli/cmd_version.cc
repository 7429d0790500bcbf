// src/cli/cmd_version.cc - `cosyvoice version`: library, ONNX Runtime, providers and the CPU's
// instruction sets (what a bug report needs, like whisper.cpp's system_info line).
#include <cstdio>
#include <stdexcept>
#include <string>

#include "cli/command_registry.h"
#include "cosyvoice/version.h"
#include "kernels/kernel_isa.h"
#include "models/optimized_graphs.h"
#include "models/providers.h"
#include "models/session_factory.h"

namespace cosyvoice::cli {
namespace {

// "avx2 (available: generic avx2)": the set this project's own operators run (kernels/kernel_isa.h),
// or why COSYVOICE_KERNEL_ISA cannot be used.
std::string KernelsLine() {
  std::string available;
  for (kernels::KernelIsa isa : kernels::AvailableKernelIsas())
    available += std::string(" ") + kernels::KernelIsaName(isa);
  try {
    return std::string(kernels::KernelIsaName(kernels::BestKernelIsa())) + " (available:" + available + ")";
  } catch (const std::invalid_argument &e) {
    return std::string("none: ") + e.what();
  }
}

}  // namespace

Command MakeVersionCommand(CLI::App &parent, const GlobalOptions & /*global*/) {
  Command cmd;
  cmd.app = parent.add_subcommand(
      "version", "Print versions, the execution providers of this build and the CPU's instruction sets");
  cmd.run = [] {
    std::printf("cosyvoice %s\n", kVersion);
    std::printf("bundle format %d.%d\n", kBundleFormatMajor, kBundleFormatMinor);
    std::printf("onnxruntime %s\n", OrtVersionString());
    std::printf("providers compiled into onnxruntime:");
    for (const auto &p : AvailableProviders()) std::printf(" %s", p.c_str());
    std::printf("\n");
    // Compiled in is not the same as usable: cuda/tensorrt need their provider libraries, webgpu
    // a GPU adapter. `--provider` falls back with one log line when one is missing (docs/gpu.md).
    std::printf("providers cosyvoice can name:");
    for (const auto &p : KnownProviders()) std::printf(" %s", p.name.c_str());
    std::printf("\n");
    // The instruction sets ONNX Runtime's kernels select on (an optimized graph is made for them,
    // docs/bundle.md §8) and the ones this project's operators run on.
    std::printf("cpu %s\n", CpuFeatures().c_str());
    std::printf("kernels %s\n", KernelsLine().c_str());
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
