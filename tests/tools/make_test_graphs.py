#!/usr/bin/env python3
"""Writes the small ONNX graphs the C++ unit tests load (generated at test time, never committed).

usage: /usr/bin/python3 tests/tools/make_test_graphs.py OUT_DIR
"""
import os
import sys

import onnx
from onnx import TensorProto, helper

OPSET = 17


def save(graph, path, metadata=None):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="cosyvoice-tests")
    model.ir_version = 8  # readable by every ONNX Runtime >= 1.14
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    f32, f64, i64, b = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64, TensorProto.BOOL

    # z = x + y with a symbolic batch dimension and a fixed feature dimension of 3.
    g = helper.make_graph(
        [helper.make_node("Add", ["x", "y"], ["z"])], "add",
        [helper.make_tensor_value_info("x", f32, ["batch", 3]),
         helper.make_tensor_value_info("y", f32, ["batch", 3])],
        [helper.make_tensor_value_info("z", f32, ["batch", 3])])
    save(g, os.path.join(out_dir, "add.onnx"), {"purpose": "unit-test", "format_version": "1.0"})

    # out = Cast(ids, double) * Cast(mask, double); also echoes mask: exercises int64/bool/float64.
    g = helper.make_graph(
        [helper.make_node("Cast", ["ids"], ["ids_f"], to=f64),
         helper.make_node("Cast", ["mask"], ["mask_f"], to=f64),
         helper.make_node("Mul", ["ids_f", "mask_f"], ["out"]),
         helper.make_node("Not", ["mask"], ["inverted"])], "mixed",
        [helper.make_tensor_value_info("ids", i64, ["n"]),
         helper.make_tensor_value_info("mask", b, ["n"])],
        [helper.make_tensor_value_info("out", f64, ["n"]),
         helper.make_tensor_value_info("inverted", b, ["n"])])
    save(g, os.path.join(out_dir, "mixed.onnx"))

    # y = 2 * x, x [1, S, 4]: the IoBinding test binds y to a slice of a preallocated buffer.
    two = helper.make_tensor("two", f32, [], [2.0])
    g = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"])], "scale",
        [helper.make_tensor_value_info("x", f32, [1, "S", 4])],
        [helper.make_tensor_value_info("y", f32, [1, "S", 4])], initializer=[two])
    save(g, os.path.join(out_dir, "scale.onnx"))

    # Not an ONNX file at all.
    with open(os.path.join(out_dir, "corrupt.onnx"), "wb") as f:
        f.write(b"\x08\x07garbage that is not a protobuf model" * 3)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
