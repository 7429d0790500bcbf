// src/cli/cmd_inspect.cc - `cosyvoice inspect GRAPH.onnx`: print a graph's inputs, outputs, metadata.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command_registry.h"
#include "common/npy.h"
#include "models/onnx_graph.h"
#include "models/tensor.h"

namespace cosyvoice::cli {

Command MakeInspectCommand(CLI::App &parent, const GlobalOptions & /*global*/) {
  struct Args {
    std::string path;
    RuntimeOptions runtime;
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand("inspect", "Print an ONNX graph's inputs, outputs and metadata");
  cmd.app->add_option("graph", args->path, "Path to a .onnx file")->required();
  args->runtime.AddTo(cmd.app);
  cmd.run = [args] {
    const GraphDescription d = DescribeGraph(args->path, args->runtime.ToConfig());
    std::printf("%s\n", args->path.c_str());
    for (const auto &t : d.inputs)
      std::printf("  input  %-24s %-8s %s\n", t.name.c_str(), DTypeName(t.dtype),
                  ShapeToString(t.dims).c_str());
    for (const auto &t : d.outputs)
      std::printf("  output %-24s %-8s %s\n", t.name.c_str(), DTypeName(t.dtype),
                  ShapeToString(t.dims).c_str());
    for (const auto &[k, v] : d.metadata) {
      const std::string shown = v.size() > 200 ? v.substr(0, 200) + "..." : v;
      std::printf("  meta   %s = %s\n", k.c_str(), shown.c_str());
    }
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
