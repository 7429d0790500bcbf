"""The ``export`` command: tiny model end to end, bundle layout and config.json exactly as
docs/bundle.md, every graph against its PyTorch module on dynamic shapes, failure handling,
and the C++ strict loader (``cosyvoice info --verify``) on the result."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import fp32
from cosyvoice_export import checkpoint as C
from cosyvoice_export import noise
from cosyvoice_export.export import bundle as B
from cosyvoice_export.export import hift_graphs as HG
from cosyvoice_export.export import onnx_io
from cosyvoice_export.export import stream_graphs as SG
from cosyvoice_export.export.parity import ParityError, Tolerance
from cosyvoice_export.frontend.tokenizer import CV3_SPECIAL_TOKENS, CosyVoice3Tokenizer
from cosyvoice_export.ort import OrtGraph

PY_DIR = Path(__file__).resolve().parents[1]
REPO = PY_DIR.parent
DOC = REPO / "docs" / "bundle.md"
CLI = REPO / "build" / "bin" / "cosyvoice"
ROLES = {"llm/llm.onnx": "llm", "flow/flow_encoder.onnx": "flow_encoder",
         "flow/flow_estimator.onnx": "flow_estimator", "flow/flow_estimator_chunk.onnx": "flow_estimator_chunk",
         "hift/hift_f0.onnx": "hift_f0", "hift/hift_generator.onnx": "hift_generator"}


def _run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(PY_DIR) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "cosyvoice_export", *map(str, args)], cwd=str(PY_DIR), env=env,
                          capture_output=True, text=True)


@pytest.fixture(scope="session")
def tiny_ckpt(request):
    """The tiny checkpoint of `make tiny-model` when COSYVOICE_TINY points at it, else a fresh one."""
    env = os.environ.get("COSYVOICE_TINY")
    if env and (Path(env) / "checkpoint" / "llm.pt").is_file():
        return Path(env) / "checkpoint"
    return request.getfixturevalue("tiny_dir")


@pytest.fixture(scope="session")
def exported(tiny_ckpt, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "bundle"
    r = _run_cli("export", "--checkpoint", tiny_ckpt, "--out", out, "--name", "tiny-test",
                 "--threads", fp32.threads())
    assert r.returncode == 0, f"export failed:\n{r.stdout}\n{r.stderr}"
    return out, r.stdout


@pytest.fixture(scope="session")
def bundle_dir(exported):
    return exported[0]


@pytest.fixture(scope="session")
def config(bundle_dir):
    return json.loads((bundle_dir / "config.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def models(tiny_ckpt):
    return C.load_model_dir(tiny_ckpt)


def _graph(bundle_dir, rel, threads=None):
    return OrtGraph(bundle_dir / rel, threads=threads or fp32.threads())


# ---------------------------------------------------------------------------- the document

def _doc_files():
    """Paths of the §1 table."""
    text = DOC.read_text(encoding="utf-8")
    sec = text.split("## 1. Files", 1)[1].split("\n## ", 1)[0]
    return [m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", sec, re.M)]


def _doc_config():
    """The §2 JSON block with its // comments removed."""
    text = DOC.read_text(encoding="utf-8")
    sec = text.split("## 2. `config.json`", 1)[1]
    block = sec.split("```jsonc", 1)[1].split("```", 1)[0]
    return json.loads(re.sub(r"\s//[^\n]*", "", block))


_FREE_KEYS = {("files",), ("model", "source_files"), ("checks",)}


def _kind(v):
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}[type(v)]


def _compare_keys(doc, got, path=()):
    assert isinstance(got, dict), path
    if path in _FREE_KEYS:
        return
    assert set(got) == set(doc), f"{'.'.join(path) or '<root>'}: keys {sorted(set(got) ^ set(doc))} differ"
    for k, v in doc.items():
        assert _kind(got[k]) == _kind(v), f"{'.'.join(path + (k,))}: {_kind(got[k])}, doc has {_kind(v)}"
        if isinstance(v, dict):
            _compare_keys(v, got[k], path + (k,))


def test_bundle_files_are_those_of_the_doc(bundle_dir, config):
    want = set(_doc_files())
    assert len(want) == 15
    on_disk = {p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*") if p.is_file()}
    assert on_disk == want                                   # no .onnx.data: nothing exceeds 2 GB
    assert set(config["files"]) == want - {"config.json"}
    assert not list(bundle_dir.parent.glob(".bundle.partial-*"))


def test_config_keys_and_types_as_doc(config):
    _compare_keys(_doc_config(), config)
    for rel, e in list(config["files"].items()) + list(config["model"]["source_files"].items()):
        assert set(e) == {"bytes", "sha256"}, rel
    assert config["model"]["name"] == "tiny-test"
    assert config["exporter"]["opset"] == 17 and config["exporter"]["torch"] == torch.__version__


def test_release_config_values_equal_the_doc(full_cfg):
    """The doc's example is the release: build_config on the release hyper-parameters gives it."""
    got = B.build_config(full_cfg, "x", 151646, {}, {}, {}, noise.HIFT_NOISE_SKIP, streaming_graph=True)
    doc = _doc_config()
    for k in ("tokenizer", "frontend", "llm", "flow", "hift", "streaming", "sample_rate", "format",
              "format_version"):
        assert got[k] == doc[k], k


def test_checksums_and_source_files(bundle_dir, config, tiny_ckpt):
    for rel, e in config["files"].items():
        data = (bundle_dir / rel).read_bytes()
        assert len(data) == e["bytes"] and hashlib.sha256(data).hexdigest() == e["sha256"], rel
    assert set(config["model"]["source_files"]) == set(B.CHECKPOINT_FILES)
    for rel, e in config["model"]["source_files"].items():
        assert (tiny_ckpt / rel).stat().st_size == e["bytes"], rel
    assert config["model"]["source_files"]["hift.pt"]["sha256"] == B.sha256_file(tiny_ckpt / "hift.pt")


def test_checks_block(config, exported, models):
    checks = config["checks"]
    assert set(checks) == set(ROLES) | {"flow/flow_estimator_chunk.onnx"}
    # the tolerances enforced are those derived from the modules' float32 chains (docs/bundle.md §3.7)
    derived = {"llm/llm.onnx": B.tol_llm(models.llm), "flow/flow_encoder.onnx": B.tol_encoder(models.flow),
               "flow/flow_estimator.onnx": B.tol_estimator(models.flow), "hift/hift_f0.onnx": B.tol_f0(models.hift),
               "hift/hift_generator.onnx": B.tol_generator(models.hift),
               "flow/flow_estimator_chunk.onnx": SG.tol_chunk(models.flow)}
    for rel, c in checks.items():
        assert {"max_abs_diff", "max_rel_diff", "cases", "dtype", "tolerance"} <= set(c), rel
        assert c["tolerance"] == {k: t.describe() for k, t in derived[rel].items()}, rel
        assert c["max_rel_diff"] <= max(t.value for t in derived[rel].values()) and c["cases"], rel
        assert rel in exported[1]                             # progress lines name every graph
    assert checks["hift/hift_f0.onnx"]["dtype"] == "float64"
    assert "prefill 36 + decode 1 = full 37" in checks["llm/llm.onnx"]["cases"]
    assert len(checks["flow/flow_estimator.onnx"]["cases"]) == 12      # 3 T x 2 B x chunk {50, T}
    assert any("non-final" in c for c in checks["flow/flow_encoder.onnx"]["cases"])


def test_graphs_metadata_opset_standard_ops(bundle_dir):
    for rel, role in ROLES.items():
        m = onnx.load(str(bundle_dir / rel))
        meta = {p.key: p.value for p in m.metadata_props}
        assert meta["cosyvoice.format_version"] == "1.0" and meta["cosyvoice.graph"] == role, rel
        assert [(o.domain, o.version) for o in m.opset_import if o.domain in ("", "ai.onnx")] == [("", 17)], rel
        assert all(n.domain in ("", "ai.onnx") for n in m.graph.node), rel
        raw = [i.raw_data for i in m.graph.initializer if len(i.raw_data) > 64]
        assert len(raw) == len(set(raw)), f"{rel}: duplicated initializers"


def _sig(config):
    """Expected (name, onnx elem type, dims) per graph, docs/bundle.md §3; None = symbolic dim."""
    L, F = config["llm"], config["flow"]
    H, nkv, hd = L["hidden_size"], L["num_kv_heads"], L["head_dim"]
    f32, i64 = 1, 7
    llm_in = [("inputs_embeds", f32, [1, None, H])]
    llm_out = [("logits", f32, [1, L["speech_vocab_size"]])]
    for i in range(L["num_layers"]):
        llm_in += [(f"past_key_{i}", f32, [1, None, nkv, hd]), (f"past_value_{i}", f32, [1, None, nkv, hd])]
        llm_out += [(f"new_key_{i}", f32, [1, None, nkv, hd]), (f"new_value_{i}", f32, [1, None, nkv, hd])]
    m, bins = F["mel_bins"], config["hift"]["istft_n_fft"] // 2 + 1
    btm = [None, m, None]
    ch = F["estimator_chunk"]
    st = [None, ch["dim"], ch["conv_state"]]
    chunk_in = [("x", f32, btm), ("mu", f32, btm), ("t", f32, [None]), ("spks", f32, [None, m]), ("cond", f32, btm),
                ("attention_chunk", i64, []), ("conv_state_1", f32, st), ("conv_state_2", f32, st)]
    chunk_out = [("velocity", f32, btm), ("new_conv_state_1", f32, st), ("new_conv_state_2", f32, st)]
    for i in range(ch["depth"]):
        for kind in ("key", "value"):
            chunk_in.append((f"past_{kind}_{i}", f32, [None, None, ch["dim"]]))
            chunk_out.append((f"new_{kind}_{i}", f32, [None, None, ch["dim"]]))
    return {
        "flow/flow_estimator_chunk.onnx": (chunk_in, chunk_out),
        "llm/llm.onnx": (llm_in, llm_out),
        "flow/flow_encoder.onnx": ([("token", i64, [1, None]), ("embedding", f32, [1, F["spk_embed_dim"]])],
                                   [("mu", f32, [1, m, None]), ("spks", f32, [1, m])]),
        "flow/flow_estimator.onnx": ([("x", f32, btm), ("mu", f32, btm), ("t", f32, [None]), ("spks", f32, [None, m]),
                                      ("cond", f32, btm), ("attention_chunk", i64, [])],
                                     [("velocity", f32, btm)]),
        "hift/hift_f0.onnx": ([("mel", f32, [1, m, None])], [("f0", f32, [1, None])]),
        "hift/hift_generator.onnx": ([("mel", f32, [1, m, None]),
                                      ("harmonics", f32, [1, None, config["hift"]["nb_harmonics"] + 1])],
                                     [("real", f32, [1, bins, None]), ("imag", f32, [1, bins, None])]),
    }


def test_graph_signatures_exactly_as_doc(bundle_dir, config):
    for rel, (want_in, want_out) in _sig(config).items():
        ins, outs = onnx_io.graph_io(bundle_dir / rel)
        for got, want in ((ins, want_in), (outs, want_out)):
            got = [(n, t, [d if isinstance(d, int) else None for d in dims]) for n, t, dims in got]
            assert got == want, rel
        # symbolic dims carry the doc's names (S, P, L, T, B, ...), not the tracer's
        names = {d for _, _, dims in ins + outs for d in dims if not isinstance(d, int)}
        assert all(re.fullmatch(r"[A-Za-z_]+", d) and "_dim_" not in d for d in names), (rel, names)


def test_tables_and_noise(bundle_dir, models):
    text = np.load(bundle_dir / "llm/text_embedding.npy", mmap_mode="r")
    speech = np.load(bundle_dir / "llm/speech_embedding.npy")
    assert text.dtype == np.float32 and text.flags.c_contiguous and text.shape == (151936, 64)
    assert np.array_equal(text, models.llm.qwen.embed_tokens.weight.numpy())
    assert speech.shape == (6761, 64) and np.array_equal(speech, models.llm.speech_embedding.weight.numpy())
    z = np.load(bundle_dir / "flow/flow_noise.npy")
    assert z.shape == (80, 15000) and z.dtype == np.float32
    assert np.array_equal(z, noise.flow_noise()[0].numpy())


def test_tokenizer_files(bundle_dir, tiny_ckpt, config):
    for f in ("vocab.json", "merges.txt"):
        assert (bundle_dir / "tokenizer" / f).read_bytes() == (tiny_ckpt / "CosyVoice-BlankEN" / f).read_bytes()
    added = json.loads((bundle_dir / "tokenizer/added_tokens.json").read_text(encoding="utf-8"))
    assert all(set(a) == {"id", "content", "special"} for a in added)
    assert [a["id"] for a in added] == list(range(151643, 151924))        # 3 base + 278 CosyVoice3 ids
    assert added[0] == {"id": 151643, "content": "<|endoftext|>", "special": True}
    by_content = {a["content"]: a["id"] for a in added}
    assert set(CV3_SPECIAL_TOKENS) <= set(by_content) and by_content["<|endofprompt|>"] == 151646
    tok = CosyVoice3Tokenizer(str(tiny_ckpt / "CosyVoice-BlankEN"))
    assert all(tok.token_to_id(a["content"]) == a["id"] for a in added)
    assert config["tokenizer"]["endofprompt_id"] == 151646


def test_frontend_graphs_copied_unchanged(bundle_dir, tiny_ckpt):
    for f in ("campplus.onnx", "speech_tokenizer_v3.onnx"):
        assert (bundle_dir / "frontend" / f).read_bytes() == (tiny_ckpt / f).read_bytes()


# ---------------------------------------------------------------------------- graphs vs PyTorch

def _llm_feeds(x, past, layers, kv):
    f = {"inputs_embeds": np.ascontiguousarray(x)}
    for i in range(layers):
        k, v = past[i] if past is not None else (np.zeros((1, 0) + kv, np.float32),) * 2
        f[f"past_key_{i}"], f[f"past_value_{i}"] = np.ascontiguousarray(k), np.ascontiguousarray(v)
    return f


def test_llm_incremental_equals_full_sequence(bundle_dir, models, gen):
    """Prefill 10, chunk 5, then 3 single-token decodes, each fed ORT's own cache, give the
    logits of the full 18-position PyTorch pass at positions 9, 14, 15, 16, 17."""
    lm = models.llm
    q = lm.cfg.qwen
    kv = (q.num_key_value_heads, q.head_dim)
    x = torch.randn(1, 18, q.hidden_size, generator=gen) * 0.5
    with torch.no_grad():
        h, _ = lm(x)
        ref = lm.logits(h)[0].numpy()                            # [18, V]: logits after each position
    g = _graph(bundle_dir, "llm/llm.onnx")
    past, pos = None, 0
    for s in (10, 5, 1, 1, 1):
        out = g.run(_llm_feeds(x[:, pos:pos + s].numpy(), past, q.num_hidden_layers, kv))
        new = [(out[f"new_key_{i}"], out[f"new_value_{i}"]) for i in range(q.num_hidden_layers)]
        assert new[0][0].shape == (1, s) + kv
        past = new if past is None else [(np.concatenate([a, c], 1), np.concatenate([b, d], 1))
                                         for (a, b), (c, d) in zip(past, new)]
        pos += s
        err = np.abs(out["logits"][0] - ref[pos - 1]).max() / np.abs(ref[pos - 1]).max()
        assert err <= fp32.pair(fp32.llm_depth(lm, 18)), (s, pos, err)   # two float32 chains, relative


def test_llm_keys_are_after_rope(bundle_dir, models, gen):
    lm = models.llm
    q = lm.cfg.qwen
    x = torch.randn(1, 4, q.hidden_size, generator=gen)
    with torch.no_grad():
        _, cache = lm(x)
    out = _graph(bundle_dir, "llm/llm.onnx").run(_llm_feeds(x.numpy(), None, q.num_hidden_layers,
                                                            (q.num_key_value_heads, q.head_dim)))
    # a cache entry is part of the logits' chain: at most the whole chain's bound on its scale
    for i, (k, v) in enumerate(cache):
        for got, want in ((out[f"new_key_{i}"], k.numpy()), (out[f"new_value_{i}"], v.numpy())):
            bound = fp32.pair(fp32.llm_depth(lm, 4), max(1.0, float(np.abs(want).max())))
            np.testing.assert_allclose(got, want, atol=bound, rtol=0)


@pytest.mark.parametrize("n", [4, 23])
def test_encoder_finalize_form(bundle_dir, models, gen, n):
    flow = models.flow
    tok = torch.randint(0, 6561, (1, n), generator=gen)
    emb = torch.randn(1, 192, generator=gen)
    out = _graph(bundle_dir, "flow/flow_encoder.onnx").run({"token": tok.numpy(), "embedding": emb.numpy()})
    with torch.no_grad():
        full = flow.encode_tokens(tok, finalize=True).numpy()
        part = flow.encode_tokens(tok, finalize=False).numpy()
        spks = flow.embed_speaker(emb).numpy()
    assert out["mu"].shape == (1, 80, 2 * n)
    tol = B.tol_encoder(flow)               # derived relative bounds (export/bundle.py, docs/bundle.md §3.7)
    mu_tol = tol["mu"].value * np.abs(full).max()
    np.testing.assert_allclose(out["mu"], full, atol=mu_tol, rtol=0)
    np.testing.assert_allclose(out["mu"][:, :, :2 * (n - 3)], part, atol=mu_tol, rtol=0)   # the streaming prefix
    np.testing.assert_allclose(out["spks"], spks, atol=tol["spks"].value * np.abs(spks).max(), rtol=0)


def _estimator_run(g, x, mu, t, spks, cond, chunk):
    return g.run({"x": x.numpy(), "mu": mu.numpy(), "t": t.numpy(), "spks": spks.numpy(), "cond": cond.numpy(),
                  "attention_chunk": np.array(chunk, dtype=np.int64)})["velocity"]


def test_estimator_streaming_and_offline_masks(bundle_dir, models, gen):
    est = models.flow.decoder.estimator
    g = _graph(bundle_dir, "flow/flow_estimator.onnx")
    T = 120
    x, mu, cond = (torch.randn(2, 80, T, generator=gen) for _ in range(3))
    spks, t = torch.randn(2, 80, generator=gen), torch.rand(2, generator=gen)
    with torch.no_grad():
        off = est(x, torch.ones(2, 1, T), mu, t, spks, cond, streaming=False).numpy()
        stream = est(x, torch.ones(2, 1, T), mu, t, spks, cond, streaming=True).numpy()
    # ORT vs PyTorch, or T vs 100 frames: two float32 chains of dit_depth, unit-RMS activations
    bound = fp32.pair(fp32.dit_depth(est, T), max(1.0, float(np.abs(off).max())))
    for chunk in (T, T + 1, 10 ** 9):                         # any chunk >= T is offline attention
        assert np.abs(_estimator_run(g, x, mu, t, spks, cond, chunk) - off).max() <= bound
    v50 = _estimator_run(g, x, mu, t, spks, cond, 50)
    assert np.abs(v50 - stream).max() <= bound
    assert np.abs(v50 - off).max() > bound                    # the mask matters beyond rounding
    # chunk-causal: the first chunks do not see later frames
    v100 = _estimator_run(g, x[..., :100], mu[..., :100], t, spks, cond[..., :100], 50)
    assert np.abs(v50[..., :100] - v100).max() <= bound


def test_f0_float64_and_streaming_prefix(bundle_dir, models, gen):
    hift = models.hift
    g = _graph(bundle_dir, "hift/hift_f0.onnx")
    assert dict((n, t) for n, t, _ in g.inputs) == {"mel": np.dtype(np.float32)}
    mel = torch.clamp(torch.randn(1, 80, 40, generator=gen) * 2 - 5, -11.5, 2)
    f0 = g.run({"mel": mel.numpy()})["f0"]
    with torch.no_grad():
        ref = hift.f0(mel, finalize=True).numpy()
        part = hift.f0(mel, finalize=False).numpy()
    assert f0.shape == (1, 40)
    # float64 inside: equal up to the final float32 rounding (B.tol_f0, relative to the largest F0)
    bound = B.tol_f0(hift)["f0"].value * float(np.abs(ref).max())
    assert np.abs(f0 - ref).max() <= bound
    assert np.abs(f0[:, :37] - part).max() <= bound


def test_generator_matches_reference_istft_input(bundle_dir, models, gen):
    hift = models.hift
    T = 6
    mel = torch.clamp(torch.randn(1, 80, T, generator=gen) * 2 - 5, -11.5, 2)
    with torch.no_grad():
        harm = HG.nsf_harmonics(hift.f0(mel), hift.cfg, noise.hift_source_noise(480 * T))
        s = hift.m_source(harm).transpose(1, 2)
        mag, ph = hift.decode(mel, hift.stft(s), finalize=True)
        wav_ref = hift.istft(mag, ph)
    out = _graph(bundle_dir, "hift/hift_generator.onnx").run({"mel": mel.numpy(), "harmonics": harm.numpy()})
    assert out["real"].shape == (1, 9, 120 * T + 1)
    spec = torch.complex(torch.from_numpy(out["real"]), torch.from_numpy(out["imag"]))
    wav = torch.istft(spec, 16, 4, 16, window=hift._window("cpu"), center=True)
    assert wav.shape == wav_ref.shape == (1, 480 * T)
    # the spectra differ by at most B.tol_generator relative to their peak; the inverse STFT (a 16-point
    # inverse DFT of 9 bins with weights <= 2/16, then a Hann overlap-add of 4 frames divided by the
    # window envelope 1.5) amplifies an absolute spectrum error by at most 18/16 * 2/1.5 = 1.5, and
    # adds its own float32 rounding: 2 chains of 18 + 4 + 1 terms on the spectrum's scale
    peak = float(spec.abs().max())
    bound = 1.5 * B.tol_generator(hift)["real"].value * peak + fp32.pair(fp32.chain(18, 4, 1, transcendental=1), peak)
    assert (wav - wav_ref).abs().max() <= bound


def test_stft_basis_equals_torch_stft(gen):
    x = torch.randn(1, 1, 480 * 3, generator=gen)
    import torch.nn.functional as F
    conv = F.conv1d(F.pad(x, (8, 8), mode="reflect"), HG.stft_basis(16), stride=4)
    spec = torch.stft(x[:, 0], 16, 4, 16, window=HG.hann_window_periodic(16), center=True, pad_mode="reflect",
                      return_complex=True)
    ref = torch.cat([spec.real, spec.imag], dim=1)
    # a 16-tap float32 dot product against a float32 FFT (log2 16 = 4 butterfly levels, float32
    # twiddles): one chain of 16 + 4 terms plus a twiddle's FN_ULPS, on sum |x w| per output
    terms = F.conv1d(F.pad(x, (8, 8), mode="reflect").abs(), HG.stft_basis(16).abs(), stride=4)
    bound = fp32.pair(fp32.chain(16, 4, transcendental=1), float(terms.max()))
    assert conv.shape == ref.shape and (conv - ref).abs().max() <= bound


# ---------------------------------------------------------------------------- failures

def _partial_dirs(parent):
    return [p for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def test_missing_file_fails_cleanly(tiny_ckpt, tmp_path):
    ck = tmp_path / "ckpt"
    shutil.copytree(tiny_ckpt, ck, ignore=shutil.ignore_patterns("flow.pt"))
    r = _run_cli("export", "--checkpoint", ck, "--out", tmp_path / "b")
    assert r.returncode == 1
    assert "missing file(s)" in r.stderr and "flow.pt" in r.stderr
    assert not (tmp_path / "b").exists() and not _partial_dirs(tmp_path)


def test_missing_key_fails_cleanly(tiny_ckpt, tmp_path):
    ck = tmp_path / "ckpt"
    shutil.copytree(tiny_ckpt, ck)
    state = C.torch_load(ck / "llm.pt")
    del state["llm.model.model.layers.1.mlp.up_proj.weight"]
    torch.save(state, str(ck / "llm.pt"))
    r = _run_cli("export", "--checkpoint", ck, "--out", tmp_path / "b")
    assert r.returncode == 1, r.stdout
    assert "missing key 'llm.model.model.layers.1.mlp.up_proj.weight'" in r.stderr
    assert "nothing was written" in r.stderr
    assert not (tmp_path / "b").exists() and not _partial_dirs(tmp_path)


def test_existing_output_is_refused(tiny_ckpt, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep").write_text("x")
    r = _run_cli("export", "--checkpoint", tiny_ckpt, "--out", tmp_path / "b")
    assert r.returncode == 1 and "already exists" in r.stderr
    assert (tmp_path / "b" / "keep").read_text() == "x"


def test_parity_failure_leaves_nothing(tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.setattr(B, "tol_llm", lambda lm: {"logits": Tolerance("abs", 0.0), "*": Tolerance("abs", 0.0)})
    monkeypatch.setattr(B, "LLM_CASES", [("prefill", 7, 0)])
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "old").write_text("previous bundle")
    with pytest.raises(ParityError, match="llm/llm.onnx: ONNX Runtime output differs"):
        B.export_bundle(tiny_ckpt, tmp_path / "b", force=True, threads=fp32.threads(), log=lambda s: None)
    assert (tmp_path / "b" / "old").read_text() == "previous bundle"      # --force replaces only on success
    assert not _partial_dirs(tmp_path)


# ---------------------------------------------------------------------------- the C++ loader

def test_cpp_info_verify_accepts_bundle(bundle_dir):
    if not CLI.is_file():
        pytest.skip(f"{CLI} not built (make build)")
    r = subprocess.run([str(CLI), "info", "--model", str(bundle_dir), "--verify"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "checksums verified" in r.stdout and "tiny-test" in r.stdout


def test_cpp_info_rejects_truncated_file(bundle_dir, tmp_path):
    if not CLI.is_file():
        pytest.skip(f"{CLI} not built (make build)")
    copy = tmp_path / "b"
    shutil.copytree(bundle_dir, copy)
    with open(copy / "hift/hift_f0.onnx", "r+b") as f:
        f.truncate(100)
    r = subprocess.run([str(CLI), "info", "--model", str(copy)], capture_output=True, text=True)
    assert r.returncode == 4 and "hift_f0.onnx" in r.stderr


def test_ort_fuses_the_llm_patterns(bundle_dir, tmp_path):
    """The LLM graph is written so that ORT's CPU optimizer fuses RMSNorm and the scaled QK^T
    (docs/bundle.md §3.1); the optimized graph is written through ort.OrtGraph(optimized_model_path=)."""
    before = onnx_io.op_counts(bundle_dir / "llm/llm.onnx")
    after = onnx_io.ort_optimized_op_counts(bundle_dir / "llm/llm.onnx", tmp_path)
    layers = 2
    assert after.get("SimplifiedLayerNormalization") == 2 * layers + 1
    assert after.get("com.microsoft:FusedMatMul") == layers
    assert before["MatMul"] == 6 * layers + 1 and sum(after.values()) < sum(before.values())
    assert not list(tmp_path.iterdir())                       # the optimized copy is removed


def test_stale_partial_directory_of_a_killed_export_is_removed(tmp_path):
    stale = tmp_path / ".b.partial-999999999"                # no such process
    stale.mkdir()
    (stale / "llm").mkdir()
    B._remove_stale_partials(tmp_path / "b", lambda s: None)
    assert not stale.exists()
    live = tmp_path / f".b.partial-{os.getpid()}"            # a running export's directory is kept
    live.mkdir()
    B._remove_stale_partials(tmp_path / "b", lambda s: None)
    assert live.exists()
