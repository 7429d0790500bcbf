#!/usr/bin/env python3
"""Damaged copies of a bundle for the error-path tests (files are symlinked, not copied).

usage: make_broken_bundles.py BUNDLE OUT_DIR
  truncated/       flow/flow_noise.npy cut short (config.json records the real size)
  newer_format/    config.json says format_version 1.9
  wrong_layers/    config.json says the LLM has one more layer than llm.onnx has
  missing_graph/   hift/hift_f0.onnx deleted
  no_streaming_graph/  a bundle exported without flow/flow_estimator_chunk.onnx (--no-streaming-graph)
"""
import json
import os
import shutil
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
