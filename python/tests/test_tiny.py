"""The ``tiny`` command: released layout, key sets, strict loading, ONNX stand-ins, determinism."""

import hashlib
import json
import math

import onnx
import pytest
import torch

import fp32

from cosyvoice_export import checkpoint as C
from cosyvoice_export import tiny
from cosyvoice_export.hparams import load_model_dir

FILES = ["cosyvoice3.yaml", "llm.pt", "flow.pt", "hift.pt", "campplus.onnx", "speech_tokenizer_v3.onnx",
         "CosyVoice-BlankEN/config.json", "CosyVoice-BlankEN/generation_config.json",
         "CosyVoice-BlankEN/tokenizer_config.json", "CosyVoice-BlankEN/vocab.json", "CosyVoice-BlankEN/merges.txt"]


# ---- expected key lists, written from spec-verification §3.A (independent of the model code) ----

def released_llm_keys(layers):
    keys = ["llm.model.model.embed_tokens.weight"]
    for i in range(layers):
        p = f"llm.model.model.layers.{i}."
        keys += [p + f"self_attn.{n}_proj.{w}" for n in "qkv" for w in ("weight", "bias")]
        keys += [p + "self_attn.o_proj.weight"] + [p + f"mlp.{n}_proj.weight" for n in ("gate", "up", "down")]
        keys += [p + "input_layernorm.weight", p + "post_attention_layernorm.weight"]
    return keys + ["llm.model.model.norm.weight", "llm.model.lm_head.weight", "speech_embedding.weight",
                   "llm_decoder.weight"]


def released_flow_keys(depth):
    wb = lambda p: [p + ".weight", p + ".bias"]  # noqa: E731
    e = "decoder.estimator."
    keys = ["input_embedding.weight"] + wb("spk_embed_affine_layer") + wb("pre_lookahead_layer.conv1") \
        + wb("pre_lookahead_layer.conv2") + wb(e + "time_embed.time_mlp.0") + wb(e + "time_embed.time_mlp.2") \
        + wb(e + "input_embed.proj") + wb(e + "input_embed.conv_pos_embed.conv1.0") \
        + wb(e + "input_embed.conv_pos_embed.conv2.0") + [e + "rotary_embed.inv_freq"]
    for i in range(depth):
        b = f"{e}transformer_blocks.{i}."
        keys += wb(b + "attn_norm.linear") + wb(b + "attn.to_q") + wb(b + "attn.to_k") + wb(b + "attn.to_v") \
            + wb(b + "attn.to_out.0") + wb(b + "ff.ff.0.0") + wb(b + "ff.ff.2")
    return keys + wb(e + "norm_out.linear") + wb(e + "proj_out")


def released_hift_keys():
    wn = lambda m: [m + ".bias", m + ".parametrizations.weight.original0", m + ".parametrizations.weight.original1"]  # noqa: E731

    def resblock(p):
        return [k for j in range(3) for k in wn(f"{p}.convs1.{j}")] + [k for j in range(3) for k in wn(f"{p}.convs2.{j}")] \
            + [f"{p}.activations1.{j}.alpha" for j in range(3)] + [f"{p}.activations2.{j}.alpha" for j in range(3)]

    keys = ["m_source.l_linear.weight", "m_source.l_linear.bias"] + wn("conv_pre")
    keys += [k for i in range(3) for k in wn(f"ups.{i}")]
    keys += [f"source_downs.{i}.{w}" for i in range(3) for w in ("weight", "bias")]
    keys += [k for s in range(3) for k in resblock(f"source_resblocks.{s}")]
    keys += [k for r in range(9) for k in resblock(f"resblocks.{r}")]
    keys += wn("conv_post")
    keys += [k for i in (0, 2, 4, 6, 8) for k in wn(f"f0_predictor.condnet.{i}")]
    return keys + ["f0_predictor.classifier.weight", "f0_predictor.classifier.bias"]


def test_writes_released_layout(tiny_dir):
    for f in FILES:
        assert (tiny_dir / f).is_file(), f
    llm = C.torch_load(tiny_dir / "llm.pt")
    flow = C.torch_load(tiny_dir / "flow.pt")
    hift = C.torch_load(tiny_dir / "hift.pt")
    # key sets equal the released lists (spec-verification §3.A: 293 / 330 / 328 at full size)
    assert set(llm) == set(released_llm_keys(2)) and len(llm) == len(released_llm_keys(2))
    assert set(flow) == set(released_flow_keys(2))
    assert set(hift) == set(released_hift_keys()) and len(hift) == 328
    assert len(released_llm_keys(24)) == 293 and len(released_flow_keys(22)) == 330
    assert all(t.dtype == torch.float32 for t in list(llm.values()) + list(flow.values()) + list(hift.values()))
    # structural constants survive shrinking
    assert list(llm["llm.model.model.embed_tokens.weight"].shape) == [151936, 64]
    assert list(llm["speech_embedding.weight"].shape) == [6761, 64]
    assert list(flow["input_embedding.weight"].shape) == [6561, 80]
    assert list(flow["spk_embed_affine_layer.weight"].shape) == [80, 192]
    assert list(flow["decoder.estimator.input_embed.proj.weight"].shape) == [64, 320]
    assert list(hift["conv_post.parametrizations.weight.original1"].shape) == [18, 4, 7]
    # the tied lm_head is stored once (same storage as embed_tokens)
    a, b = llm["llm.model.lm_head.weight"], llm["llm.model.model.embed_tokens.weight"]
    assert a.data_ptr() == b.data_ptr()
    dh = 32
    assert torch.allclose(flow["decoder.estimator.rotary_embed.inv_freq"],
                          torch.tensor([10000.0 ** (-2 * j / dh) for j in range(dh // 2)]),
                          rtol=(fp32.FN_ULPS + 2) * fp32.U, atol=0)   # float32 pow + reciprocal vs float64, rounded


def test_loads_strictly_and_runs(tiny_dir):
    m = C.load_model_dir(tiny_dir)
    torch.manual_seed(0)
    with torch.no_grad():
        h, past = m.llm(m.llm.prompt_embeds([151646, 40, 41], [5, 6]))
        assert torch.isfinite(h).all()
        tok = torch.randint(0, 6561, (1, 12))
        mel = m.flow.inference(tok, torch.randint(0, 6561, (1, 4)), torch.randn(1, 8, 80) - 5, torch.randn(1, 192),
                               torch.randn(1, 80, 15000))
        assert mel.shape == (1, 80, 24) and torch.isfinite(mel).all()
        wav = m.hift.inference(mel, torch.rand(1, 480 * 24, 9))
        assert wav.shape == (1, 480 * 24) and torch.isfinite(wav).all() and wav.abs().max() <= 0.99


def _io(model_path):
    m = onnx.load(str(model_path))
    onnx.checker.check_model(m)
    def desc(vi):
        t = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.shape.dim]
        return vi.name, onnx.TensorProto.DataType.Name(t.elem_type), dims
    inits = {i.name for i in m.graph.initializer}
    return [desc(i) for i in m.graph.input if i.name not in inits], [desc(o) for o in m.graph.output], m


def test_onnx_standins_io(tiny_dir):
    ins, outs, m = _io(tiny_dir / "campplus.onnx")
    assert ins == [("input", "FLOAT", [1, "M", 80])]
    assert outs == [("output", "FLOAT", [1, 192])]
    assert any(o.version == 17 for o in m.opset_import if o.domain in ("", "ai.onnx"))
    ins, outs, m = _io(tiny_dir / "speech_tokenizer_v3.onnx")
    assert ins == [("feats", "FLOAT", [1, 128, "T"]), ("feats_length", "INT32", [1])]
    assert len(outs) == 1 and outs[0][0] == "indices" and outs[0][1] == "INT32"
    assert outs[0][2][0] == 1 and isinstance(outs[0][2][1], str)        # [1, T_tok], dynamic


@pytest.mark.parametrize("T", [1, 2, 5, 37, 348, 401])
def test_speech_tokenizer_standin_values(T):
    m = tiny.speech_tokenizer_standin(0)
    feats = torch.randn(1, 128, T, generator=torch.Generator().manual_seed(T))
    with torch.no_grad():
        idx = m(feats, torch.tensor([T], dtype=torch.int32))
    assert idx.dtype == torch.int32 and idx.shape == (1, math.ceil(math.ceil(T / 2) / 2))
    assert int(idx.min()) >= 0 and int(idx.max()) <= 6560
    if T == 348:
        assert idx.shape[1] == 87                     # spec §1 example
        assert len(set(idx[0].tolist())) > 10         # not a constant stand-in


def test_campplus_standin():
    m = tiny.campplus_standin(0)
    with torch.no_grad():
        out = m(torch.randn(1, 123, 80))
    assert out.shape == (1, 192) and out.dtype == torch.float32 and torch.isfinite(out).all()


def test_blanken_files(tiny_dir):
    d = tiny_dir / "CosyVoice-BlankEN"
    vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
    assert len(vocab) == 151643 and vocab["!"] == 0 and max(vocab.values()) == 151642
    lines = (d / "merges.txt").read_text(encoding="utf-8").split("\n")
    assert lines[0] == "#version: 0.2" and lines[-1] == ""
    assert len(lines) - 2 == 151387 and all(len(x.split(" ")) == 2 for x in lines[1:100])
    tc = json.loads((d / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert {k: v["content"] for k, v in tc["added_tokens_decoder"].items()} == \
        {"151643": "<|endoftext|>", "151644": "<|im_start|>", "151645": "<|im_end|>"}
    cfg = load_model_dir(tiny_dir)
    assert (cfg.llm.qwen.hidden_size, cfg.llm.qwen.num_hidden_layers, cfg.llm.qwen.vocab_size) == (64, 2, 151936)
    assert json.loads((d / "generation_config.json").read_text())["eos_token_id"] == 151643


def _sha(state, path):
    # torch.save names the archive's root folder after the file, so save under the same name
    torch.save(state, str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_deterministic(tiny_dir, tiny_cfg, tmp_path):
    # regenerating with the same seed reproduces the files byte for byte
    for name, make in (("llm.pt", lambda s: tiny.llm_state(tiny_cfg.llm, s)),
                       ("flow.pt", lambda s: tiny.flow_state(tiny_cfg.flow, s)),
                       ("hift.pt", lambda s: tiny.hift_state(tiny_cfg.hift, s))):
        file_sha = hashlib.sha256((tiny_dir / name).read_bytes()).hexdigest()
        assert _sha(make(0), tmp_path / name) == file_sha, name
        a, b = make(0), make(1)
        assert any(not torch.equal(a[k], b[k]) for k in a if not k.endswith("inv_freq")), name
    # the yaml is the template for the tiny dims
    assert (tiny_dir / "cosyvoice3.yaml").read_text() == tiny.yaml_text(tiny.TINY)
    # the ONNX stand-ins are reproducible too
    tiny.export_onnx_standins(tmp_path, 0)
    for name in ("campplus.onnx", "speech_tokenizer_v3.onnx"):
        assert (tmp_path / name).read_bytes() == (tiny_dir / name).read_bytes(), name
