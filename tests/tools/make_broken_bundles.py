#!/usr/bin/env python3
"""Damaged copies of a bundle for the error-path tests (files are symlinked, not copied).

usage: make_broken_bundles.py BUNDLE OUT_DIR
  truncated/       flow/flow_noise.npy cut short (config.json records the real size)
  newer_format/    config.json says format_version 1.9
  wrong_layers/    config.json says the LLM has one more layer than llm.onnx has
  missing_graph/   hift/hift_f0.onnx deleted
  huge_skip/       hift.source_noise.skip = 1e15 (drawing that many MT19937 outputs took hours)
  damaged_noise/   flow/flow_noise.npy of the right size, its data NaN (config.json's sha256 is the old one)
  nan_noise/       the same with config.json's sha256 recomputed: only the value check can tell
  nan_generator/   hift/hift_generator.onnx with NaN conv weights, size and sha256 recomputed: a graph
                   whose output is NaN (the stage check names the vocoder; it was an all-zero WAV)
  nan_flow_chunk/  flow/flow_estimator_chunk.onnx with NaN matrix weights (the same): streaming's
                   incremental flow stops at the stage check ("flow (mel)")
  damaged_chunk_graph/ flow/flow_estimator_chunk.onnx with one byte changed (config.json's sha256 the
                   old one): verified when streaming first loads it, not by every load
  no_streaming_graph/  a bundle exported without flow/flow_estimator_chunk.onnx (--no-streaming-graph)
"""
import hashlib
import json
import os
import shutil
import struct
import sys


def clone(bundle, out):
    shutil.rmtree(out, ignore_errors=True)
    for root, _, files in os.walk(bundle):
        rel = os.path.relpath(root, bundle)
        os.makedirs(os.path.join(out, rel), exist_ok=True)
        for f in files:
            if f == "config.json":
                shutil.copy(os.path.join(root, f), os.path.join(out, rel, f))
            else:
                os.symlink(os.path.abspath(os.path.join(root, f)), os.path.join(out, rel, f))


def edit_config(out, fn):
    path = os.path.join(out, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    fn(cfg)
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)


def nan_graph(bundle, out, rel, rank):
    """A clone whose graph `rel` has NaN in every float weight of the given rank (size and sha256
    recomputed, so only the stage check can tell)."""
    clone(bundle, out)
    path = os.path.join(out, rel)
    import onnx  # noqa: E402 - only these cases need it
    from onnx import numpy_helper
    model = onnx.load(os.path.realpath(path))
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and len(init.dims) == rank:
            w = numpy_helper.to_array(init).copy()
            w[...] = float("nan")
            init.CopyFrom(numpy_helper.from_array(w, init.name))
    os.remove(path)
    onnx.save(model, path)
    blob = open(path, "rb").read()

    def record(c):
        if rel in c["files"]:
            c["files"][rel].update(bytes=len(blob), sha256=hashlib.sha256(blob).hexdigest())

    edit_config(out, record)


def main(bundle, out_dir):
    t = os.path.join(out_dir, "truncated")
    clone(bundle, t)
    noise = os.path.join(t, "flow", "flow_noise.npy")
    data = open(os.path.realpath(noise), "rb").read()
    os.remove(noise)
    with open(noise, "wb") as f:
        f.write(data[: len(data) // 2])

    n = os.path.join(out_dir, "newer_format")
    clone(bundle, n)
    edit_config(n, lambda c: c.__setitem__("format_version", "1.9"))

    w = os.path.join(out_dir, "wrong_layers")
    clone(bundle, w)
    edit_config(w, lambda c: c["llm"].__setitem__("num_layers", c["llm"]["num_layers"] + 1))

    h = os.path.join(out_dir, "huge_skip")
    clone(bundle, h)
    edit_config(h, lambda c: c["hift"]["source_noise"].__setitem__("skip", 10**15))

    for name, fix_checksum in (("damaged_noise", False), ("nan_noise", True)):
        d = os.path.join(out_dir, name)
        clone(bundle, d)
        noise = os.path.join(d, "flow", "flow_noise.npy")
        data = open(os.path.realpath(noise), "rb").read()
        header = data[: 10 + struct.unpack("<H", data[8:10])[0]]  # .npy 1.0: magic, version, length, dict
        nan = struct.pack("<f", float("nan"))
        damaged = header + nan * ((len(data) - len(header)) // 4)
        os.remove(noise)
        with open(noise, "wb") as f:
            f.write(damaged)
        if fix_checksum:
            digest = hashlib.sha256(damaged).hexdigest()
            edit_config(d, lambda c: c["files"]["flow/flow_noise.npy"].__setitem__("sha256", digest))

    # conv weights only (rank 3) / matrix weights only (rank 2): scales, shapes and windows stay
    # valid, so the graph runs
    nan_graph(bundle, os.path.join(out_dir, "nan_generator"), "hift/hift_generator.onnx", rank=3)
    if os.path.exists(os.path.join(bundle, "flow", "flow_estimator_chunk.onnx")):
        nan_graph(bundle, os.path.join(out_dir, "nan_flow_chunk"), "flow/flow_estimator_chunk.onnx", rank=2)

    d = os.path.join(out_dir, "damaged_chunk_graph")
    clone(bundle, d)
    chunk_path = os.path.join(d, "flow", "flow_estimator_chunk.onnx")
    with open(os.path.realpath(chunk_path), "rb") as f:
        data = bytearray(f.read())
    os.remove(chunk_path)  # a symlink into the tiny bundle
    data[len(data) // 2] ^= 0xFF
    with open(chunk_path, "wb") as f:
        f.write(data)

    m = os.path.join(out_dir, "missing_graph")
    clone(bundle, m)
    os.remove(os.path.join(m, "hift", "hift_f0.onnx"))

    s = os.path.join(out_dir, "no_streaming_graph")
    clone(bundle, s)
    chunk = "flow/flow_estimator_chunk.onnx"

    def drop_chunk_graph(c):
        c["flow"].pop("estimator_chunk", None)
        c["files"].pop(chunk, None)
        c["checks"].pop(chunk, None)

    edit_config(s, drop_chunk_graph)
    os.remove(os.path.join(s, chunk))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
