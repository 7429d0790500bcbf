// src/cli/cmd_optimize.cc - `cosyvoice optimize -m BUNDLE [--out DIR]`: graphs optimized once for this
// machine, so that later loads map them instead of optimizing and pre-packing again (docs/bundle.md §8).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command_registry.h"
#include "common/timer.h"
#include "engine/optimize_bundle.h"

namespace cosyvoice::cli {

Command MakeOptimizeCommand(CLI::App &parent, const GlobalOptions & /*global*/) {
  struct Args {
    std::string model, out;
    bool force = false;
    std::string optimization = "all";
    std::string threads;
    std::string precision = "all";
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand(
      "optimize",
      "Optimize a bundle's graphs once for this machine (ONNX Runtime, CPU); loads then take seconds");
  cmd.app->add_option("-m,--model", args->model, "Bundle directory (docs/bundle.md)")->required();
  cmd.app->add_option("-o,--out", args->out,
                      "Where to write them (default: BUNDLE/optimized, found automatically)");
  cmd.app->add_flag("--force", args->force, "Replace an existing output directory");
  cmd.app->add_option("--graph-opt", args->optimization, "Graph optimization level the graphs are made for")
      ->default_val("all");
  cmd.app
      ->add_option("--precision", args->precision,
                   "Only the graphs a load with this --precision reads (default: all graphs)")
      ->default_val("all");
  cmd.app->add_option("--threads", args->threads, "Intra-op threads while optimizing (0: one per core)")
      ->type_name("N");
  cmd.run = [args] {
    RuntimeOptions ro;
    ro.optimization = args->optimization;
    ro.threads = args->threads;
    OptimizeBundleOptions o;
    o.bundle_dir = args->model;
    o.out_dir = args->out;
    o.runtime = ro.ToConfig();
    o.force = args->force;
    o.precision = args->precision;
    const auto t0 = SteadyClock::now();
    const OptimizedGraphsManifest m = OptimizeBundle(o);
    uint64_t bytes = 0;
    for (const auto &[source, g] : m.graphs) {
      bytes += g.graph.bytes;
      for (const auto &f : g.data) bytes += f.bytes;
    }
    const std::string dir = o.out_dir.empty() ? (o.bundle_dir / "optimized").string() : o.out_dir.string();
    std::printf("optimized %zu graphs into %s (%.1f MB) in %.1f s\n", m.graphs.size(), dir.c_str(),
                static_cast<double>(bytes) / 1e6, SecondsSince(t0));
    std::printf("made for onnxruntime %s, optimization %s, provider %s, cpu %s\n",
                m.target.onnxruntime.c_str(), m.target.optimization.c_str(), m.target.provider.c_str(),
                m.target.cpu.c_str());
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
