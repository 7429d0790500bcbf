// src/cli/cmd_version.cc - `cosyvoice version`: library, ONNX Runtime and providers.
#include <cstdio>

#include "cli/command_registry.h"
#include "cosyvoice/version.h"
#include "models/providers.h"
#include "models/session_factory.h"

namespace cosyvoice::cli {

Command MakeVersionCommand(CLI::App &parent, const GlobalOptions & /*global*/) {
  Command cmd;
  cmd.app = parent.add_subcommand("version", "Print versions and the execution providers of this build");
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
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
