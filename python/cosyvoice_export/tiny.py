"""``tiny``: write a random-weight CosyVoice3 model directory in the released layout.

    /usr/bin/python3 -m cosyvoice_export tiny --out DIR [--full-size] [--seed N]

Files (same names, formats, key names and yaml structure as Fun-CosyVoice3-0.5B):

    cosyvoice3.yaml                 same tags, keys and node order as the official example yaml
    llm.pt  flow.pt  hift.pt        state dicts with the released key names (hift: weight-norm
                                    parametrization keys original0/original1)
    CosyVoice-BlankEN/              config.json, generation_config.json, tokenizer_config.json,
                                    vocab.json, merges.txt (from third_party/qwen2-tokenizer)
    campplus.onnx                   stand-in: input [1, M, 80] f32 -> output [1, 192] f32
    speech_tokenizer_v3.onnx        stand-in: feats [1, 128, T] f32, feats_length [1] i32
                                    -> indices [1, ceil(ceil(T/2)/2)] i32 in [0, 6560]

Tiny dimensions keep every structural constant of the release (speech vocab 6561 + 200,
151936 text rows, 80 mels, 192-d speaker input, token_mel_ratio 2, pre-lookahead 3,
50-frame chunks, upsample 8/5/3, ISTFT 16/4, 24 kHz) and shrink only widths and depths.
``--full-size`` writes the real dimensions (about 3.4 GB).  The output is deterministic:
the same seed gives byte-identical tensors.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, asdict
from pathlib import Path
from string import Template
from typing import Callable, Dict

import torch
from torch import nn

from . import hparams
from .checkpoint import WN_G, WN_V, released_state_shapes, state_shapes
from .models import CausalHiFTGenerator, CausalMaskedDiffWithDiT, CosyVoice3LM, weight_norm_module_names

HELP = "write a random-weight CosyVoice3 model directory in the released layout"

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TOKENIZER_JSON = REPO_ROOT / "third_party" / "qwen2-tokenizer" / "tokenizer.json"

# BlankEN's own added tokens (the Qwen2.5 file has more; CosyVoice adds its specials at runtime)
BLANKEN_ADDED_TOKENS = ((151643, "<|endoftext|>"), (151644, "<|im_start|>"), (151645, "<|im_end|>"))
TEXT_VOCAB_ROWS = 151936


@dataclass(frozen=True)
class Dims:
    llm_hidden: int
    llm_layers: int
    llm_heads: int
    llm_kv_heads: int
    llm_intermediate: int
    pre_lookahead_channels: int
    dit_dim: int
    dit_depth: int
    dit_heads: int
    dit_dim_head: int
    hift_base: int
    f0_cond: int

    @property
    def llm_head_dim(self) -> int:
        return self.llm_hidden // self.llm_heads


TINY = Dims(llm_hidden=64, llm_layers=2, llm_heads=4, llm_kv_heads=2, llm_intermediate=128,
            pre_lookahead_channels=64, dit_dim=64, dit_depth=2, dit_heads=2, dit_dim_head=32,
            hift_base=32, f0_cond=32)
FULL = Dims(llm_hidden=896, llm_layers=24, llm_heads=14, llm_kv_heads=2, llm_intermediate=4864,
            pre_lookahead_channels=1024, dit_dim=1024, dit_depth=22, dit_heads=16, dit_dim_head=64,
            hift_base=512, f0_cond=512)

# Same keys, tags and node order as examples/libritts/cosyvoice3/conf/cosyvoice3.yaml at upstream
# HEAD ace7c47; only the width/depth values are substituted.
_YAML = Template("""\
# random seeds (training); the CFM constructor reseeds torch with 0 for its fixed noise
__set_seed1: !apply:random.seed [1986]
__set_seed2: !apply:numpy.random.seed [1986]
__set_seed3: !apply:torch.manual_seed [1986]
__set_seed4: !apply:torch.cuda.manual_seed_all [1986]

# fixed params
sample_rate: 24000
llm_input_size: $llm_hidden
llm_output_size: $llm_hidden
spk_embed_dim: 192
qwen_pretrain_path: ''
token_frame_rate: 25
token_mel_ratio: 2

# streaming
chunk_size: 25 # tokens per streaming chunk
num_decoding_left_chunks: -1 # <0: attend to all left chunks

# model params
llm: !new:cosyvoice.llm.llm.CosyVoice3LM
    llm_input_size: !ref <llm_input_size>
    llm_output_size: !ref <llm_output_size>
    speech_token_size: 6561
    length_normalized_loss: True
    lsm_weight: 0
    mix_ratio: [5, 15]
    llm: !new:cosyvoice.llm.llm.Qwen2Encoder
        pretrain_path: !ref <qwen_pretrain_path>
    sampling: !name:cosyvoice.utils.common.ras_sampling
        top_p: 0.8
        top_k: 25
        win_size: 10
        tau_r: 0.1

flow: !new:cosyvoice.flow.flow.CausalMaskedDiffWithDiT
    input_size: 80
    output_size: 80
    spk_embed_dim: !ref <spk_embed_dim>
    output_type: 'mel'
    vocab_size: 6561
    input_frame_rate: !ref <token_frame_rate>
    only_mask_loss: True
    token_mel_ratio: !ref <token_mel_ratio>
    pre_lookahead_len: 3
    pre_lookahead_layer: !new:cosyvoice.transformer.upsample_encoder.PreLookaheadLayer
        in_channels: 80
        channels: $pre_lookahead_channels
        pre_lookahead_len: 3
    decoder: !new:cosyvoice.flow.flow_matching.CausalConditionalCFM
        in_channels: 240
        n_spks: 1
        spk_emb_dim: 80
        cfm_params: !new:omegaconf.DictConfig
            content:
                sigma_min: 1e-06
                solver: 'euler'
                t_scheduler: 'cosine'
                training_cfg_rate: 0.2
                inference_cfg_rate: 0.7
                reg_loss_type: 'l1'
        estimator: !new:cosyvoice.flow.DiT.dit.DiT
            dim: $dit_dim
            depth: $dit_depth
            heads: $dit_heads
            dim_head: $dit_dim_head
            ff_mult: 2
            mel_dim: 80
            mu_dim: 80
            spk_dim: 80
            out_channels: 80
            static_chunk_size: !ref <chunk_size> * <token_mel_ratio>
            num_decoding_left_chunks: !ref <num_decoding_left_chunks>

hift: !new:cosyvoice.hifigan.generator.CausalHiFTGenerator
    in_channels: 80
    base_channels: $hift_base
    nb_harmonics: 8
    sampling_rate: !ref <sample_rate>
    nsf_alpha: 0.1
    nsf_sigma: 0.003
    nsf_voiced_threshold: 10
    upsample_rates: [8, 5, 3]
    upsample_kernel_sizes: [16, 11, 7]
    istft_params:
        n_fft: 16
        hop_len: 4
    resblock_kernel_sizes: [3, 7, 11]
    resblock_dilation_sizes: [[1, 3, 5], [1, 3, 5], [1, 3, 5]]
    source_resblock_kernel_sizes: [7, 7, 11]
    source_resblock_dilation_sizes: [[1, 3, 5], [1, 3, 5], [1, 3, 5]]
    lrelu_slope: 0.1
    audio_limit: 0.99
    conv_pre_look_right: 4
    f0_predictor: !new:cosyvoice.hifigan.f0_predictor.CausalConvRNNF0Predictor
        num_class: 1
        in_channels: 80
        cond_channels: $f0_cond

# gan related module
mel_spec_transform1: !name:matcha.utils.audio.mel_spectrogram
    n_fft: 1920
    num_mels: 80
    sampling_rate: !ref <sample_rate>
    hop_size: 480
    win_size: 1920
    fmin: 0
    fmax: null
    center: False
hifigan: !new:cosyvoice.hifigan.hifigan.HiFiGan
    generator: !ref <hift>
    discriminator: !new:cosyvoice.hifigan.discriminator.MultipleDiscriminator
        mpd: !new:matcha.hifigan.models.MultiPeriodDiscriminator
        mrd: !new:cosyvoice.hifigan.discriminator.MultiResSpecDiscriminator
    mel_spec_transform: [
        !ref <mel_spec_transform1>
    ]

# processor functions
parquet_opener: !name:cosyvoice.dataset.processor.parquet_opener
get_tokenizer: !name:cosyvoice.tokenizer.tokenizer.get_qwen_tokenizer
    token_path: !ref <qwen_pretrain_path>
    skip_special_tokens: True
    version: cosyvoice3
allowed_special: 'all'
tokenize: !name:cosyvoice.dataset.processor.tokenize
    get_tokenizer: !ref <get_tokenizer>
    allowed_special: !ref <allowed_special>
filter: !name:cosyvoice.dataset.processor.filter
    max_length: 6000
    min_length: 100
    token_max_length: 200
    token_min_length: 1
resample: !name:cosyvoice.dataset.processor.resample
    resample_rate: !ref <sample_rate>
truncate: !name:cosyvoice.dataset.processor.truncate
    truncate_length: 24960 # a multiple of hop_size and token_mel_ratio
feat_extractor: !name:matcha.utils.audio.mel_spectrogram
    n_fft: 1920
    num_mels: 80
    sampling_rate: !ref <sample_rate>
    hop_size: 480
    win_size: 1920
    fmin: 0
    fmax: null
    center: False
compute_fbank: !name:cosyvoice.dataset.processor.compute_fbank
    feat_extractor: !ref <feat_extractor>
    num_frames: 960
compute_whisper_fbank: !name:cosyvoice.dataset.processor.compute_whisper_fbank
    num_frames: 960
compute_f0: !name:cosyvoice.dataset.processor.compute_f0
    sample_rate: !ref <sample_rate>
    hop_size: 480
parse_embedding: !name:cosyvoice.dataset.processor.parse_embedding
    normalize: True
shuffle: !name:cosyvoice.dataset.processor.shuffle
    shuffle_size: 1000
sort: !name:cosyvoice.dataset.processor.sort
    sort_size: 500  # less than shuffle_size
batch: !name:cosyvoice.dataset.processor.batch
    batch_type: 'dynamic'
    max_frames_in_batch: 2000
padding: !name:cosyvoice.dataset.processor.padding
    use_spk_embedding: False


# dataset processor pipeline
data_pipeline: [
    !ref <parquet_opener>,
    !ref <tokenize>,
    !ref <filter>,
    !ref <resample>,
    !ref <compute_fbank>,
    !ref <parse_embedding>,
    !ref <compute_whisper_fbank>,
    !ref <shuffle>,
    !ref <sort>,
    !ref <batch>,
    !ref <padding>,
]
data_pipeline_gan: [
    !ref <parquet_opener>,
    !ref <tokenize>,
    !ref <filter>,
    !ref <resample>,
    !ref <truncate>,
    !ref <compute_fbank>,
    !ref <compute_f0>,
    !ref <parse_embedding>,
    !ref <shuffle>,
    !ref <sort>,
    !ref <batch>,
    !ref <padding>,
]

# llm flow train conf
train_conf:
    optim: adam
    optim_conf:
        lr: 1e-5
    scheduler: constantlr
    scheduler_conf:
        warmup_steps: 2500
    max_epoch: 200
    grad_clip: 5
    accum_grad: 2
    log_interval: 100
    save_per_step: -1

# gan train conf
train_conf_gan:
    optim: adam
    optim_conf:
        lr: 0.0002
    scheduler: constantlr
    optim_d: adam
    optim_conf_d:
        lr: 0.0002
    scheduler_d: constantlr
    max_epoch: 200
    grad_clip: 5
    accum_grad: 1 # must be 1 for GAN training
    log_interval: 100
    save_per_step: -1
""")


def yaml_text(dims: Dims) -> str:
    return _YAML.substitute(asdict(dims))


def qwen2_config_json(dims: Dims) -> Dict[str, object]:
    """A Qwen2 ``config.json`` like BlankEN's, with the given widths.

    BlankEN's real config.json is not public (spec-verification §5); the architecture values
    (theta 1e6, eps 1e-6, tied embeddings, 151936 rows) are those the spec infers, the other
    fields are those of a standard Qwen2-0.5B config and are not read by this project."""
    return OrderedDict([
        ("architectures", ["Qwen2ForCausalLM"]),
        ("attention_dropout", 0.0),
        ("bos_token_id", 151643),
        ("eos_token_id", 151643),
        ("hidden_act", "silu"),
        ("hidden_size", dims.llm_hidden),
        ("initializer_range", 0.02),
        ("intermediate_size", dims.llm_intermediate),
        ("max_position_embeddings", 32768),
        ("max_window_layers", dims.llm_layers),
        ("model_type", "qwen2"),
        ("num_attention_heads", dims.llm_heads),
        ("num_hidden_layers", dims.llm_layers),
        ("num_key_value_heads", dims.llm_kv_heads),
        ("rms_norm_eps", 1e-06),
        ("rope_theta", 1000000.0),
        ("sliding_window", 32768),
        ("tie_word_embeddings", True),
        ("torch_dtype", "float32"),
        ("transformers_version", "4.51.3"),
        ("use_cache", True),
        ("use_sliding_window", False),
        ("vocab_size", TEXT_VOCAB_ROWS),
    ])


def config_for(dims: Dims, source: str = "<tiny>") -> hparams.CosyVoice3Config:
    """The parsed config of the yaml/config.json that :func:`write_model_dir` writes for ``dims``."""
    q = hparams.qwen2_config_from_dict(dict(qwen2_config_json(dims)), source)
    return hparams.load_config(source, q, text=yaml_text(dims))


# ---------------------------------------------------------------------------------------------
# random weights
# ---------------------------------------------------------------------------------------------

def _normal(gen: torch.Generator, shape, std: float, mean: float = 0.0) -> torch.Tensor:
    t = torch.randn(*shape, generator=gen, dtype=torch.float32)
    if std != 1.0:
        t.mul_(std)
    if mean != 0.0:
        t.add_(mean)
    return t


def _uniform(gen: torch.Generator, shape, lo: float, hi: float) -> torch.Tensor:
    return torch.rand(*shape, generator=gen, dtype=torch.float32).mul_(hi - lo).add_(lo)


def _fan_in(shape) -> int:
    return int(math.prod(shape[1:]))


def llm_state(cfg: hparams.LLMConfig, seed: int, log: Callable[[str], None] = lambda s: None) -> "OrderedDict[str, torch.Tensor]":
    """Random ``llm.pt`` state dict: N(0, 0.02) embeddings and projections, small random
    biases, norm weights near 1, and a wider ``llm_decoder`` (logit std ~2.5) so that the
    speech distribution is not flat.  The tied ``lm_head`` is the embedding tensor itself."""
    gen = torch.Generator().manual_seed(seed * 1000 + 1)
    model = CosyVoice3LM(cfg, device="meta")
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    tied = CosyVoice3LM.TIED_KEYS if cfg.qwen.tie_word_embeddings else {}
    for k, (shape, _) in state_shapes(model).items():
        if k in tied:
            out[k] = out[tied[k]]
            continue
        if k.endswith("norm.weight"):
            t = _normal(gen, shape, 0.05, 1.0)
        elif k == "llm_decoder.weight":
            t = _normal(gen, shape, 2.5 / math.sqrt(shape[1]))
        elif k.endswith(".bias"):
            t = _normal(gen, shape, 0.02)
        else:
            t = _normal(gen, shape, 0.02)
        out[k] = t
        if t.numel() > 50_000_000:
            log(f"  llm {k} {list(shape)}")
    return out


def flow_state(cfg: hparams.FlowConfig, seed: int, log: Callable[[str], None] = lambda s: None) -> "OrderedDict[str, torch.Tensor]":
    """Random ``flow.pt`` state dict: unit-gain (1/sqrt(fan_in)) weights, reduced gain on the
    adaLN modulation, N(0, 1) token embedding (upstream's default init), small biases; the
    RoPE ``inv_freq`` buffer holds its deterministic value."""
    gen = torch.Generator().manual_seed(seed * 1000 + 2)
    model = CausalMaskedDiffWithDiT(cfg, device="meta")
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    dh = cfg.dit.dim_head
    for k, (shape, _) in state_shapes(model).items():
        if k.endswith("rotary_embed.inv_freq"):
            t = 1.0 / (cfg.dit.rope_base ** (torch.arange(0, dh, 2).float() / dh))
        elif k == "input_embedding.weight":
            t = _normal(gen, shape, 1.0)
        elif k.endswith(".bias"):
            t = _normal(gen, shape, 0.02)
        elif "attn_norm.linear" in k or "norm_out.linear" in k:
            t = _normal(gen, shape, 0.3 / math.sqrt(_fan_in(shape)))
        else:
            t = _normal(gen, shape, 1.0 / math.sqrt(_fan_in(shape)))
        out[k] = t
        if t.numel() > 20_000_000:
            log(f"  flow {k} {list(shape)}")
    return out


def hift_folded_state(cfg: hparams.HiFTConfig, seed: int) -> "OrderedDict[str, torch.Tensor]":
    """Random folded HiFT weights (the values the model computes with).

    Gains keep the signal sane through the residual stacks; conv_post's magnitude half has a
    bias of -1 (|X| ~ 0.37) so the waveform stays inside the clamp most of the time; the F0
    classifier has bias 60 and weight std giving ~60 Hz of spread, so F0 = |.| spans a
    plausible range and a few percent of frames fall below the 10 Hz voiced threshold."""
    gen = torch.Generator().manual_seed(seed * 1000 + 3)
    model = CausalHiFTGenerator(cfg, device="meta")
    half = cfg.istft_n_fft // 2 + 1
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for k, (shape, _) in state_shapes(model).items():
        if k.endswith(".alpha"):
            t = _uniform(gen, shape, 0.5, 1.5)
        elif k == "f0_predictor.classifier.weight":
            t = _normal(gen, shape, 60.0 / (0.6 * math.sqrt(shape[1])))
        elif k == "f0_predictor.classifier.bias":
            t = torch.full(shape, 60.0)
        elif k == "conv_post.bias":
            t = _normal(gen, shape, 0.1)
            t[:half] -= 1.0
        elif k == "conv_post.weight":
            t = _normal(gen, shape, 0.3 / math.sqrt(_fan_in(shape)))
        elif k.endswith(".bias"):
            t = _normal(gen, shape, 0.02)
        elif k.startswith("resblocks.") or k.startswith("source_resblocks."):
            t = _normal(gen, shape, 0.5 / math.sqrt(_fan_in(shape)))
        else:
            t = _normal(gen, shape, 1.0 / math.sqrt(_fan_in(shape)))
        out[k] = t
    return out


def hift_state(cfg: hparams.HiFTConfig, seed: int) -> "OrderedDict[str, torch.Tensor]":
    """Random ``hift.pt`` in the released layout: weight-normed convs as ``<m>.bias``,
    ``<m>.parametrizations.weight.original0`` (g = per-channel norm, [out, 1, 1]) and
    ``original1`` (v = W scaled by a random positive per-channel factor, so g*v/||v|| = W)."""
    folded = hift_folded_state(cfg, seed)
    gen = torch.Generator().manual_seed(seed * 1000 + 4)
    model = CausalHiFTGenerator(cfg, device="meta")
    wn = set(weight_norm_module_names(model))
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for k, shape in released_state_shapes(model).items():
        if k.endswith(WN_G):
            w = folded[k[: -len(WN_G)] + ".weight"]
            out[k] = w.reshape(w.shape[0], -1).norm(dim=1).reshape(shape)
        elif k.endswith(WN_V):
            w = folded[k[: -len(WN_V)] + ".weight"]
            scale = _uniform(gen, (w.shape[0], 1, 1), 0.5, 2.0)
            out[k] = w * scale
        else:
            out[k] = folded[k]
    assert all(k[: -len(WN_G)] in wn for k in out if k.endswith(WN_G))
    return out


# ---------------------------------------------------------------------------------------------
# ONNX stand-ins for the two frontend models
# ---------------------------------------------------------------------------------------------

class CampPlusStandIn(nn.Module):
    """[1, M, 80] fbank -> [1, 192]: per-frame MLP, mean and max pooling, projection."""

    def __init__(self):
        super().__init__()
        self.frame = nn.Linear(80, 64)
        self.out = nn.Linear(128, 192)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.frame(x))
        return self.out(torch.cat([h.mean(dim=1), h.amax(dim=1)], dim=-1))


class SpeechTokenizerStandIn(nn.Module):
    """[1, 128, T] log-mel, length [1] -> int32 [1, ceil(ceil(T/2)/2)] codes in [0, 3^8 - 1]:
    two stride-2 convs (k3, p1) like the real model, then an 8-dim FSQ with 3 levels."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(128, 32, 3, stride=2, padding=1)
        self.conv2 = nn.Conv1d(32, 32, 3, stride=2, padding=1)
        self.proj = nn.Linear(32, 8)
        self.register_buffer("powers", torch.tensor([3.0 ** i for i in range(8)]))

    def forward(self, feats: torch.Tensor, feats_length: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.gelu(self.conv1(feats))
        h = torch.nn.functional.gelu(self.conv2(h))
        z = torch.tanh(self.proj(h.transpose(1, 2)))             # [1, T', 8]
        code = ((torch.round(z) + 1.0) * self.powers).sum(dim=-1)  # [1, T'] in [0, 6560]
        n_tok = torch.div(feats_length + 3, 4, rounding_mode="floor")
        valid = torch.arange(code.shape[1], device=code.device)[None, :] < n_tok[:, None]
        return (code * valid.to(code.dtype)).to(torch.int32)


def _init_standin(m: nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        for name, p in m.named_parameters():
            std = 0.02 if name.endswith("bias") else 1.0 / math.sqrt(_fan_in(p.shape))
            p.copy_(_normal(gen, p.shape, std))


def campplus_standin(seed: int) -> CampPlusStandIn:
    m = CampPlusStandIn()
    _init_standin(m, torch.Generator().manual_seed(seed * 1000 + 5))
    return m.eval()


def speech_tokenizer_standin(seed: int) -> SpeechTokenizerStandIn:
    m = SpeechTokenizerStandIn()
    _init_standin(m, torch.Generator().manual_seed(seed * 1000 + 6))
    return m.eval()


def export_onnx_standins(out_dir: Path, seed: int) -> None:
    extra = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        extra["dynamo"] = False          # torch >= 2.9 defaults to the dynamo exporter
    with torch.no_grad():
        torch.onnx.export(campplus_standin(seed), (torch.zeros(1, 50, 80),), str(out_dir / "campplus.onnx"),
                          input_names=["input"], output_names=["output"], dynamic_axes={"input": {1: "M"}},
                          opset_version=17, do_constant_folding=True, **extra)
        torch.onnx.export(speech_tokenizer_standin(seed),
                          (torch.zeros(1, 128, 37), torch.tensor([37], dtype=torch.int32)),
                          str(out_dir / "speech_tokenizer_v3.onnx"),
                          input_names=["feats", "feats_length"], output_names=["indices"],
                          dynamic_axes={"feats": {2: "T"}, "indices": {1: "T_tok"}},
                          opset_version=17, do_constant_folding=True, **extra)


# ---------------------------------------------------------------------------------------------
# tokenizer files
# ---------------------------------------------------------------------------------------------

def write_blanken(dst: Path, dims: Dims, tokenizer_json: Path) -> None:
    if not tokenizer_json.is_file():
        raise FileNotFoundError(f"{tokenizer_json} not found: run ./scripts/setup/fetch-npm-assets.sh "
                                f"in the repository root (or pass --tokenizer-json)")
    tok = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    model = tok["model"]
    vocab, merges = model["vocab"], model["merges"]
    if model.get("type") != "BPE" or len(vocab) != 151643:
        raise ValueError(f"{tokenizer_json}: expected the Qwen2 BPE model with 151643 tokens, "
                         f"found {model.get('type')} with {len(vocab)}")
    merge_lines = [m if isinstance(m, str) else " ".join(m) for m in merges]
    dst.mkdir(parents=True, exist_ok=True)
    _write_json(dst / "config.json", qwen2_config_json(dims))
    _write_json(dst / "generation_config.json", OrderedDict([
        ("bos_token_id", 151643), ("do_sample", False), ("eos_token_id", 151643),
        ("max_new_tokens", 2048), ("transformers_version", "4.51.3")]))
    added = OrderedDict()
    for i, content in BLANKEN_ADDED_TOKENS:
        added[str(i)] = OrderedDict([("content", content), ("lstrip", False), ("normalized", False),
                                     ("rstrip", False), ("single_word", False), ("special", True)])
    _write_json(dst / "tokenizer_config.json", OrderedDict([
        ("add_prefix_space", False),
        ("added_tokens_decoder", added),
        ("additional_special_tokens", ["<|im_start|>", "<|im_end|>"]),
        ("bos_token", None),
        ("clean_up_tokenization_spaces", False),
        ("eos_token", "<|endoftext|>"),
        ("errors", "replace"),
        ("model_max_length", 32768),
        ("pad_token", "<|endoftext|>"),
        ("split_special_tokens", False),
        ("tokenizer_class", "Qwen2Tokenizer"),
        ("unk_token", None),
    ]))
    (dst / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    (dst / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merge_lines) + "\n", encoding="utf-8")


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------

def write_model_dir(out: Path, full_size: bool = False, seed: int = 0,
                    tokenizer_json: Path = DEFAULT_TOKENIZER_JSON,
                    log: Callable[[str], None] = lambda s: None) -> hparams.CosyVoice3Config:
    dims = FULL if full_size else TINY
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    step = lambda msg: log(f"[{time.time() - t0:6.1f}s] {msg}")  # noqa: E731
    write_blanken(out / "CosyVoice-BlankEN", dims, Path(tokenizer_json))
    (out / "cosyvoice3.yaml").write_text(yaml_text(dims), encoding="utf-8")
    cfg = hparams.load_model_dir(out)
    step("wrote cosyvoice3.yaml and CosyVoice-BlankEN/")
    for name, make in (("llm.pt", lambda: llm_state(cfg.llm, seed, log)),
                       ("flow.pt", lambda: flow_state(cfg.flow, seed, log)),
                       ("hift.pt", lambda: hift_state(cfg.hift, seed))):
        step(f"generating {name}")
        state = make()
        torch.save(state, str(out / name))
        del state
        step(f"wrote {name} ({(out / name).stat().st_size / 1e6:.1f} MB)")
    export_onnx_standins(out, seed)
    step("wrote campplus.onnx and speech_tokenizer_v3.onnx")
    return cfg


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, type=Path, help="output directory (created)")
    p.add_argument("--full-size", action="store_true", help="real Fun-CosyVoice3-0.5B dimensions (~3.4 GB)")
    p.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    p.add_argument("--tokenizer-json", type=Path, default=DEFAULT_TOKENIZER_JSON,
                   help=f"Qwen2 tokenizer.json (default {DEFAULT_TOKENIZER_JSON})")


def main(args: argparse.Namespace) -> int:
    if args.seed < 0:
        print("error: --seed must be >= 0", file=sys.stderr)
        return 2
    verbose = args.full_size
    log = (lambda s: print(s, flush=True)) if verbose else (lambda s: None)
    try:
        write_model_dir(args.out, args.full_size, args.seed, args.tokenizer_json, log)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    total = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"wrote {'full-size' if args.full_size else 'tiny'} CosyVoice3 model (seed {args.seed}) to "
          f"{args.out} ({total / 1e6:.1f} MB)")
    return 0
