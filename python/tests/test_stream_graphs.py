"""``flow/flow_estimator_chunk.onnx`` (docs/bundle.md §3.8): the exported chunked DiT step against
the PyTorch reference (streaming.dit_incremental), and the incremental ODE driven through ONNX
Runtime the way the engine drives it (time-major caches appended in place) against the
reference's streaming solver.  Tolerances (derived, docs/parity.md): per graph call the chunked DiT's
float32 chain (export/stream_graphs.py tol_chunk); on the mel after 10 Euler steps the solver bound."""

import numpy as np
import pytest
import torch

import fp32

from cosyvoice_export import noise, streaming as S
from cosyvoice_export.export import onnx_io, stream_graphs as SG
from cosyvoice_export.ort import OrtGraph


@pytest.fixture(scope="module")
def chunk_graph(tiny_flow, tmp_path_factory):
    path = tmp_path_factory.mktemp("chunk") / "flow_estimator_chunk.onnx"
    checks = SG.export_chunk_graph(tiny_flow, path, threads=1, log=lambda s: None)
    g = OrtGraph(path, threads=1)
    yield path, g, checks
    g.close()


def test_chunk_graph_contract(tiny_flow, chunk_graph):
    path, _, checks = chunk_graph
    assert onnx_io.read_metadata(path)["cosyvoice.graph"] == "flow_estimator_chunk"
    ins, outs = onnx_io.graph_io(path)
    depth, dim = tiny_flow.cfg.dit.depth, tiny_flow.cfg.dit.dim
    assert [n for n, _, _ in ins][:8] == ["x", "mu", "t", "spks", "cond", "attention_chunk", "conv_state_1",
                                          "conv_state_2"]
    assert len(ins) == 8 + 2 * depth and len(outs) == 3 + 2 * depth
    assert dict((n, d) for n, _, d in ins)["past_key_0"] == ["P", "B", dim]
    assert dict((n, d) for n, _, d in outs)["new_value_1"] == ["S", "B", dim]
    assert checks["max_rel_diff"] <= SG.tol_chunk(tiny_flow)["*"].value and len(checks["cases"]) == 2 * len(SG.CHUNK_CASES)


def test_ort_incremental_ode_equals_reference(tiny_flow, chunk_graph, gen):
    """The engine's loop: per ODE step a cache [max_frames, 2, dim] per layer, the past is a view of
    its first P rows and the new rows are written after it; CFG combine and Euler in numpy."""
    _, g, _ = chunk_graph
    flow = tiny_flow
    depth, dim = flow.cfg.dit.depth, flow.cfg.dit.dim
    fnoise = noise.flow_noise()
    t_len = 130
    mu = torch.randn(1, 80, t_len, generator=gen)
    cond = torch.zeros(1, 80, t_len)
    cond[:, :, :40] = torch.randn(1, 80, 40, generator=gen)
    spks = torch.randn(1, 80, generator=gen)
    with torch.no_grad():
        want = flow.decoder.solve(fnoise, mu, torch.ones(1, 1, t_len), spks, cond, streaming=True)
    steps = S.ode_schedule(10)
    kv = [np.zeros((2 * depth, t_len, 2, dim), np.float32) for _ in steps]
    conv = [[np.zeros((2, dim, 30), np.float32)] * 2 for _ in steps]
    out = []
    for lo, hi in ((0, 50), (50, 100), (100, t_len)):
        x = fnoise[:, :, lo:hi].numpy()
        m = np.concatenate([mu[:, :, lo:hi].numpy(), np.zeros((1, 80, hi - lo), np.float32)])
        c = np.concatenate([cond[:, :, lo:hi].numpy(), np.zeros((1, 80, hi - lo), np.float32)])
        sp = np.concatenate([spks.numpy(), np.zeros((1, 80), np.float32)])
        for k, (t, dt) in enumerate(steps):
            feeds = {"x": np.concatenate([x, x]), "mu": m, "t": np.repeat(t.numpy(), 2), "spks": sp, "cond": c,
                     "attention_chunk": np.array(50, np.int64), "conv_state_1": conv[k][0],
                     "conv_state_2": conv[k][1]}
            for i in range(depth):
                feeds[f"past_key_{i}"] = kv[k][2 * i, :lo]
                feeds[f"past_value_{i}"] = kv[k][2 * i + 1, :lo]
            r = g.run(feeds)
            for i in range(depth):
                kv[k][2 * i, lo:hi] = r[f"new_key_{i}"]
                kv[k][2 * i + 1, lo:hi] = r[f"new_value_{i}"]
            conv[k] = [r["new_conv_state_1"], r["new_conv_state_2"]]
            v = r["velocity"]
            x = x + dt.numpy() * (1.7 * v[0:1] - 0.7 * v[1:2])
        out.append(x)
    got = np.concatenate(out, axis=2)
    # two float32 runs of the 10-step solve (CFG 0.7): euler_cfg_gain * pair(dit_depth) on unit-RMS
    # activations, plus the Euler updates
    scale = max(1.0, float(want.abs().max()))
    bound = fp32.euler_cfg_gain(0.7) * fp32.pair(fp32.dit_depth(flow.decoder.estimator, t_len), scale) \
        + fp32.pair(20, scale)
    assert np.abs(got - want.numpy()).max() <= bound
