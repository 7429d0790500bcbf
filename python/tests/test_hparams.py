"""cosyvoice3.yaml / config.json parsing: values from the spec, and rejection of bad files."""

import hashlib
import json
import re
import warnings
from pathlib import Path

import pytest

from cosyvoice_export import hparams as H
from cosyvoice_export import tiny

# The official yaml, checked in unmodified with its provenance (tests/data/README.md).
OFFICIAL_YAML = Path(__file__).resolve().parent / "data" / "upstream-cosyvoice3.yaml"
OFFICIAL_YAML_SHA256 = "c38cc65f563342572e0e48b0491d623f1bdf19f423effda4e16c95701b391c7c"


def _qwen(dims):
    return H.qwen2_config_from_dict(dict(tiny.qwen2_config_json(dims)))


def _load_text(text, tmp_path, name="cosyvoice3.yaml", qwen=None):
    """Parse yaml text; the Qwen2 config matches the yaml's llm_input_size unless given."""
    p = tmp_path / name
    p.write_text(text)
    if qwen is None:
        qwen = _qwen(tiny.FULL if "llm_input_size: 896" in text else tiny.TINY)
    return H.load_config(p, qwen)


def _expect_error(text, tmp_path, *fragments):
    with pytest.raises(H.ConfigError) as ei:
        _load_text(text, tmp_path)
    msg = str(ei.value)
    assert str(tmp_path / "cosyvoice3.yaml") in msg, msg
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    return msg


def test_tiny_yaml_values(tiny_cfg):
    c = tiny_cfg
    d = tiny.TINY
    # structural constants of the release (spec §3.2, §6.1, §7.1, §4.1)
    assert c.sample_rate == 24000
    assert (c.llm.sos, c.llm.eos, c.llm.task_id, c.llm.fill_token) == (6561, 6562, 6563, 6564)
    assert c.llm.speech_vocab_rows == 6761 and list(c.llm.stop_token_ids) == list(range(6561, 6761))
    assert (c.llm.sampling.top_p, c.llm.sampling.top_k, c.llm.sampling.win_size, c.llm.sampling.tau_r) == (0.8, 25, 10, 0.1)
    assert c.llm.qwen.vocab_size == 151936 and c.llm.qwen.tie_word_embeddings
    assert (c.llm.qwen.rope_theta, c.llm.qwen.rms_norm_eps) == (1e6, 1e-6)
    f = c.flow
    assert (f.vocab_size, f.input_size, f.output_size, f.spk_embed_dim) == (6561, 80, 80, 192)
    assert (f.token_mel_ratio, f.pre_lookahead_len, f.dit.static_chunk_size) == (2, 3, 50)
    assert (f.cfm.inference_cfg_rate, f.cfm.t_scheduler, f.cfm.solver, f.cfm.sigma_min) == (0.7, "cosine", "euler", 1e-6)
    assert (f.cfm.n_timesteps, f.cfm.noise_frames) == (10, 15000)
    h = c.hift
    assert (h.upsample_rates, h.upsample_kernel_sizes, h.istft_n_fft, h.istft_hop_len) == ((8, 5, 3), (16, 11, 7), 16, 4)
    assert (h.samples_per_frame, h.lookahead_frames, h.n_harmonic_channels) == (480, 8, 9)
    assert (h.nsf_alpha, h.nsf_sigma, h.nsf_voiced_threshold, h.audio_limit, h.lrelu_slope) == (0.1, 0.003, 10.0, 0.99, 0.1)
    assert h.source_resblock_kernel_sizes == (7, 7, 11) and h.resblock_kernel_sizes == (3, 7, 11)
    fe = c.feat
    assert (fe.n_fft, fe.num_mels, fe.hop_size, fe.win_size, fe.fmin, fe.fmax, fe.center) == (1920, 80, 480, 1920, 0.0, None, False)
    assert c.tokenizer.version == "cosyvoice3" and c.tokenizer.allowed_special == "all"
    assert c.chunk_size == 25 and c.num_decoding_left_chunks == -1
    # tiny widths
    assert (c.llm.qwen.hidden_size, c.llm.qwen.num_hidden_layers, c.llm.qwen.num_attention_heads,
            c.llm.qwen.num_key_value_heads, c.llm.qwen.head_dim) == (64, 2, 4, 2, 16)
    assert (f.dit.dim, f.dit.depth, f.dit.heads, f.dit.dim_head) == (d.dit_dim, d.dit_depth, d.dit_heads, d.dit_dim_head)
    assert h.base_channels == d.hift_base and h.f0_predictor.cond_channels == d.f0_cond


def test_full_size_yaml_values(full_cfg):
    c = full_cfg
    q = c.llm.qwen
    assert (q.hidden_size, q.num_hidden_layers, q.num_attention_heads, q.num_key_value_heads, q.head_dim,
            q.intermediate_size) == (896, 24, 14, 2, 64, 4864)
    dt = c.flow.dit
    assert (dt.dim, dt.depth, dt.heads, dt.dim_head, dt.ff_mult, dt.mel_dim, dt.mu_dim, dt.spk_dim) == \
        (1024, 22, 16, 64, 2, 80, 80, 80)
    assert c.flow.pre_lookahead.channels == 1024
    assert (c.hift.base_channels, c.hift.f0_predictor.cond_channels) == (512, 512)
    # spec-verification §3.B: 5,052,970 MT19937 draws before the HiFT source noise
    assert c.rng_order_ok and c.hift_noise_rng_skip == 5_052_970
    assert ("flow.decoder", "cosyvoice.flow.flow_matching.CausalConditionalCFM") in c.construction_order
    assert c.seeds == (("random.seed", 1986), ("numpy.random.seed", 1986), ("torch.manual_seed", 1986),
                       ("torch.cuda.manual_seed_all", 1986))


def _official_yaml():
    data = OFFICIAL_YAML.read_bytes()
    assert hashlib.sha256(data).hexdigest() == OFFICIAL_YAML_SHA256, f"{OFFICIAL_YAML} is not the recorded upstream file"
    return data.decode("utf-8")


def test_official_example_yaml_matches_full_size_template(tmp_path, full_cfg):
    off = _load_text(_official_yaml(), tmp_path)
    ours = full_cfg
    for field in ("sample_rate", "token_frame_rate", "token_mel_ratio", "chunk_size", "num_decoding_left_chunks",
                  "llm", "flow", "hift", "feat", "tokenizer", "seeds", "construction_order", "rng_order_ok"):
        assert getattr(off, field) == getattr(ours, field), field


def test_tiny_yaml_has_official_structure():
    """Same keys, indentation and tag targets in the same order as the official yaml."""
    text = _official_yaml()
    ours = tiny.yaml_text(tiny.TINY)
    tag_re = re.compile(r"^([ ]*)([A-Za-z_0-9]+):[ ]*(!\w+:[\w.]+)?", re.M)
    mine = [(len(m.group(1)), m.group(2), m.group(3)) for m in tag_re.finditer(ours)]
    theirs = [(len(m.group(1)), m.group(2), m.group(3)) for m in tag_re.finditer(text)]
    assert len(theirs) > 100 and mine == theirs
    tops = [k for ind, k, _ in mine if ind == 0]
    assert tops[:4] == ["__set_seed1", "__set_seed2", "__set_seed3", "__set_seed4"]
    assert tops.index("llm") < tops.index("flow") < tops.index("hift") < tops.index("hifigan")


def test_yaml12_floats_and_ref_arithmetic(tmp_path):
    text = tiny.yaml_text(tiny.TINY).replace("chunk_size: 25 #", "chunk_size: 20 #")
    c = _load_text(text, tmp_path)
    assert c.flow.dit.static_chunk_size == 40          # !ref <chunk_size> * <token_mel_ratio>
    assert c.flow.cfm.sigma_min == 1e-6 and isinstance(c.flow.cfm.sigma_min, float)
    assert H._arith("2 ** 3 + 7 // 2 - -1") == 2 ** 3 + 7 // 2 + 1


def test_rejects_unknown_tag(tmp_path):
    text = tiny.yaml_text(tiny.TINY).replace("    nb_harmonics: 8", "    nb_harmonics: !include:x 8")
    msg = _expect_error(text, tmp_path, "hift.nb_harmonics", "unsupported tag", "!include:x")
    assert re.search(r"cosyvoice3\.yaml:\d+:", msg)


def test_rejects_unknown_class(tmp_path):
    text = tiny.yaml_text(tiny.TINY).replace("!new:cosyvoice.flow.DiT.dit.DiT", "!new:cosyvoice.flow.DiT.dit.DiTX")
    line = tiny.yaml_text(tiny.TINY).splitlines().index(
        "        estimator: !new:cosyvoice.flow.DiT.dit.DiT") + 1
    _expect_error(text, tmp_path, "flow.decoder.estimator", "unknown class", "DiTX", f"cosyvoice3.yaml:{line}:")


def test_rejects_wrong_tag_kind(tmp_path):
    text = tiny.yaml_text(tiny.TINY).replace("!new:cosyvoice.hifigan.f0_predictor", "!name:cosyvoice.hifigan.f0_predictor")
    _expect_error(text, tmp_path, "hift.f0_predictor", "must be used with !new:")


def test_rejects_missing_key(tmp_path):
    base = tiny.yaml_text(tiny.TINY)
    text = base.replace("            depth: 2\n", "")
    assert text != base
    _expect_error(text, tmp_path, "flow.decoder.estimator.depth", "missing required key")
    text = base.replace("\nflow: !new:", "\nflowx: !new:")
    _expect_error(text, tmp_path, "flow: missing required top-level key")
    text = base.replace("feat_extractor: !name:", "feat_extractor_x: !name:")
    _expect_error(text, tmp_path, "compute_fbank.feat_extractor", "<feat_extractor> not found")


def test_rejects_unknown_kwarg_and_out_of_range(tmp_path):
    base = tiny.yaml_text(tiny.TINY)
    _expect_error(base.replace("            ff_mult: 2\n", "            ff_mult: 2\n            ff_mul: 3\n"),
                  tmp_path, "flow.decoder.estimator.ff_mul", "unknown keyword argument")
    _expect_error(base.replace("inference_cfg_rate: 0.7", "inference_cfg_rate: -0.5"),
                  tmp_path, "flow.decoder.cfm_params.content.inference_cfg_rate", "out of range")
    _expect_error(base.replace("    audio_limit: 0.99", "    audio_limit: 1.5"), tmp_path, "hift.audio_limit",
                  "out of range")
    _expect_error(base.replace("    upsample_kernel_sizes: [16, 11, 7]", "    upsample_kernel_sizes: [16, 11]"),
                  tmp_path, "hift.upsample_kernel_sizes", "length 3")
    _expect_error(base.replace("t_scheduler: 'cosine'", "t_scheduler: 'cosinus'"), tmp_path,
                  "t_scheduler", "expected one of")
    _expect_error(base.replace("    base_channels: 32", "    base_channels: '32'"), tmp_path,
                  "hift.base_channels", "expected an integer")
    # a value whose line is known carries it
    line = base.splitlines().index("    audio_limit: 0.99") + 1
    _expect_error(base.replace("    audio_limit: 0.99", "    audio_limit: 0"), tmp_path, f"cosyvoice3.yaml:{line}:")


def test_rejects_inconsistent_dims(tmp_path):
    base = tiny.yaml_text(tiny.TINY)
    _expect_error(base.replace("        in_channels: 80\n        channels:", "        in_channels: 64\n        channels:"),
                  tmp_path, "flow.pre_lookahead_layer.in_channels", "must equal flow.input_size")
    qbad = _qwen(tiny.FULL)
    with pytest.raises(H.ConfigError, match="llm.llm_input_size.*hidden_size 896"):
        _load_text(base, tmp_path, qwen=qbad)


def test_rejects_bad_ref(tmp_path):
    base = tiny.yaml_text(tiny.TINY)
    _expect_error(base.replace("!ref <spk_embed_dim>", "!ref <spk_embed_dimm>"), tmp_path,
                  "flow.spk_embed_dim", "<spk_embed_dimm> not found")


def test_order_warning(tmp_path):
    base = tiny.yaml_text(tiny.TINY)
    i_flow, i_hift, i_gan = base.index("\nflow: "), base.index("\nhift: "), base.index("\n# gan related")
    swapped = base[:i_flow] + base[i_hift:i_gan] + "\n" + base[i_flow:i_hift] + base[i_gan:]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        c = _load_text(swapped, tmp_path)
    assert not c.rng_order_ok and c.hift_noise_rng_skip is None
    assert any("construction order" in str(x.message) or "not constructed before" in str(x.message) for x in w)
    assert c.warnings


def test_qwen_config_errors(tmp_path):
    d = dict(tiny.qwen2_config_json(tiny.TINY))
    p = tmp_path / "config.json"
    p.write_text(json.dumps(d, indent=2))
    q = H.read_qwen2_config(p)
    assert (q.hidden_size, q.head_dim, q.tie_word_embeddings) == (64, 16, True)
    del d["num_key_value_heads"]
    p.write_text(json.dumps(d, indent=2))
    with pytest.raises(H.ConfigError, match=r"config\.json: num_key_value_heads: missing required key"):
        H.read_qwen2_config(p)
    d = dict(tiny.qwen2_config_json(tiny.TINY), rms_norm_eps=0)
    p.write_text(json.dumps(d, indent=2))
    with pytest.raises(H.ConfigError, match=r"config\.json:\d+: rms_norm_eps: value 0.0 out of range"):
        H.read_qwen2_config(p)
    d = dict(tiny.qwen2_config_json(tiny.TINY), vocab_size=1000)
    with pytest.raises(H.ConfigError, match="vocab_size"):
        H.qwen2_config_from_dict(d)


def test_model_dir_reads_blanken(tiny_dir):
    c = H.load_model_dir(tiny_dir)
    assert c.llm.qwen_pretrain_path == str(tiny_dir / "CosyVoice-BlankEN")
    assert c.tokenizer.token_path == str(tiny_dir / "CosyVoice-BlankEN")
    assert c.llm.qwen.hidden_size == 64
