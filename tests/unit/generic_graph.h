// tests/unit/generic_graph.h - an OnnxGraph with its protected Run made public, for tests that load
// small generated graphs and feed them tensors directly.
#pragma once

#include "models/onnx_graph.h"

namespace cosyvoice::testing {

class GenericGraph : public OnnxGraph {
 public:
  using OnnxGraph::OnnxGraph;
  using OnnxGraph::Run;
};

}  // namespace cosyvoice::testing
