"""Read ``cosyvoice3.yaml`` and ``CosyVoice-BlankEN/config.json`` into typed, validated dataclasses.

``cosyvoice3.yaml`` is HyperPyYAML.  Upstream builds the model by importing and
calling the classes named in its tags; this module never imports them.  It parses the
subset of HyperPyYAML that the CosyVoice3 config uses and maps the known classes onto
our dataclasses:

* plain YAML scalars, maps and lists (YAML 1.2 style floats such as ``1e-06`` are
  floats, as with ruamel.yaml, which HyperPyYAML uses);
* ``!new:module.Class`` (construct; a mapping gives keyword arguments, a list gives
  positional ones), ``!name:module.func`` (a partial function with keyword arguments),
  ``!apply:module.func [args]`` (called at load time; only the seed setters are known);
* ``!ref <key>`` (the referenced value itself, shared like upstream) and references
  inside simple expressions such as ``!ref <chunk_size> * <token_mel_ratio>``
  (arithmetic on numbers; anything else is string substitution).

Any other tag, an unknown class or function, an unknown keyword argument, a missing
required key or an out-of-range value raises :class:`ConfigError`, whose message starts
with ``file:line: key.path:``.

Construction order.  HyperPyYAML constructs children before their parent, in document
order.  Upstream's fixed random buffers depend on that order: the CFM constructor reseeds
the global torch RNG with 0 and draws the flow noise, then the flow, the F0 predictor
and the HiFT generator consume the RNG in turn before HiFT draws its uniform source-noise
buffer (spec-verification §3.B).  :func:`load_config` records the order and warns when
the constructions between the CFM and HiFT are not the expected ones.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import yaml

__all__ = [
    "ConfigError", "Qwen2Config", "SamplingConfig", "LLMConfig", "PreLookaheadConfig", "DiTConfig",
    "CFMConfig", "FlowConfig", "F0PredictorConfig", "HiFTConfig", "FeatConfig", "TokenizerConfig",
    "CosyVoice3Config", "load_config", "load_model_dir", "parse_yaml", "read_qwen2_config",
    "qwen2_config_from_dict", "EXPECTED_RNG_ORDER",
]

PathLike = Union[str, Path]


class ConfigError(ValueError):
    """A config file does not describe a CosyVoice3 model we can build."""


def _err(file: str, line: Optional[int], path: str, msg: str) -> ConfigError:
    where = f"{file}:{line}" if line else file
    return ConfigError(f"{where}: {path}: {msg}" if path else f"{where}: {msg}")


# ---------------------------------------------------------------------------------------------
# Dataclasses
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Qwen2Config:
    """The Qwen2 backbone hyper-parameters (from ``CosyVoice-BlankEN/config.json``)."""
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    rope_theta: float
    rms_norm_eps: float
    vocab_size: int
    tie_word_embeddings: bool
    max_position_embeddings: int
    hidden_act: str = "silu"


@dataclass(frozen=True)
class SamplingConfig:
    """``ras_sampling`` parameters (repetition-aware nucleus sampling)."""
    top_p: float
    top_k: int
    win_size: int
    tau_r: float


@dataclass(frozen=True)
class LLMConfig:
    llm_input_size: int
    llm_output_size: int
    speech_token_size: int
    mix_ratio: Tuple[int, int]
    length_normalized_loss: bool
    lsm_weight: float
    sampling: SamplingConfig
    qwen: Qwen2Config
    qwen_pretrain_path: str
    # hard-coded defaults of Qwen2LM.inference (not in the yaml)
    min_token_text_ratio: float = 2.0
    max_token_text_ratio: float = 20.0

    @property
    def sos(self) -> int:
        return self.speech_token_size + 0

    @property
    def eos(self) -> int:
        return self.speech_token_size + 1

    @property
    def task_id(self) -> int:
        return self.speech_token_size + 2

    @property
    def fill_token(self) -> int:
        return self.speech_token_size + 3

    @property
    def speech_vocab_rows(self) -> int:
        """Rows of ``speech_embedding`` and outputs of ``llm_decoder`` (6561 + 200)."""
        return self.speech_token_size + 200

    @property
    def stop_token_ids(self) -> range:
        """Every id in ``[speech_token_size, speech_token_size + 200)`` ends decoding."""
        return range(self.speech_token_size, self.speech_token_size + 200)


@dataclass(frozen=True)
class PreLookaheadConfig:
    in_channels: int
    channels: int
    pre_lookahead_len: int


@dataclass(frozen=True)
class DiTConfig:
    dim: int
    depth: int
    heads: int
    dim_head: int
    ff_mult: float
    mel_dim: int
    mu_dim: int
    spk_dim: int
    out_channels: int
    static_chunk_size: int
    num_decoding_left_chunks: int
    dropout: float = 0.1
    long_skip_connection: bool = False
    # constants of the DiT code (not configurable in the yaml)
    freq_embed_dim: int = 256
    time_scale: float = 1000.0
    conv_pos_kernel: int = 31
    conv_pos_groups: int = 16
    rope_base: float = 10000.0


@dataclass(frozen=True)
class CFMConfig:
    in_channels: int
    n_spks: int
    spk_emb_dim: int
    sigma_min: float
    solver: str
    t_scheduler: str
    training_cfg_rate: float
    inference_cfg_rate: float
    reg_loss_type: str
    # hard-coded upstream: flow.inference passes n_timesteps=10; the noise buffer is [1, 80, 50*300]
    n_timesteps: int = 10
    noise_frames: int = 50 * 300


@dataclass(frozen=True)
class FlowConfig:
    input_size: int
    output_size: int
    spk_embed_dim: int
    output_type: str
    vocab_size: int
    input_frame_rate: int
    only_mask_loss: bool
    token_mel_ratio: int
    pre_lookahead_len: int
    pre_lookahead: PreLookaheadConfig
    cfm: CFMConfig
    dit: DiTConfig


@dataclass(frozen=True)
class F0PredictorConfig:
    num_class: int
    in_channels: int
    cond_channels: int


@dataclass(frozen=True)
class HiFTConfig:
    in_channels: int
    base_channels: int
    nb_harmonics: int
    sampling_rate: int
    nsf_alpha: float
    nsf_sigma: float
    nsf_voiced_threshold: float
    upsample_rates: Tuple[int, ...]
    upsample_kernel_sizes: Tuple[int, ...]
    istft_n_fft: int
    istft_hop_len: int
    resblock_kernel_sizes: Tuple[int, ...]
    resblock_dilation_sizes: Tuple[Tuple[int, ...], ...]
    source_resblock_kernel_sizes: Tuple[int, ...]
    source_resblock_dilation_sizes: Tuple[Tuple[int, ...], ...]
    lrelu_slope: float
    audio_limit: float
    conv_pre_look_right: int
    f0_predictor: F0PredictorConfig
    # SineGen2's fixed uniform noise buffer holds 300 s of samples (torch.rand(1, 300*sr, 9))
    noise_seconds: int = 300

    @property
    def samples_per_frame(self) -> int:
        """Output samples per mel frame: prod(upsample_rates) * hop (480)."""
        return math.prod(self.upsample_rates) * self.istft_hop_len

    @property
    def n_harmonic_channels(self) -> int:
        return self.nb_harmonics + 1

    @property
    def f0_lookahead(self) -> int:
        """Right context of the F0 predictor's first conv (kernel 4, 'right' causal: 3)."""
        return 3

    @property
    def lookahead_frames(self) -> int:
        """Mel frames not turned into audio when not finalizing (3 + 4 + 1 = 8)."""
        return self.f0_lookahead + self.conv_pre_look_right + 1

    @property
    def noise_samples(self) -> int:
        return self.noise_seconds * self.sampling_rate


@dataclass(frozen=True)
class FeatConfig:
    """``matcha.utils.audio.mel_spectrogram`` parameters of ``feat_extractor`` (prompt mel)."""
    n_fft: int
    num_mels: int
    sampling_rate: int
    hop_size: int
    win_size: int
    fmin: float
    fmax: Optional[float]
    center: bool


@dataclass(frozen=True)
class TokenizerConfig:
    token_path: str
    skip_special_tokens: bool
    version: str
    allowed_special: str


# Order (by class) in which upstream constructs the objects whose constructors use the global
# torch RNG after the CFM reseeds it, up to and including the HiFT generator (which then draws
# rand_ini and the uniform source noise).  See spec-verification §3.B.
EXPECTED_RNG_ORDER: Tuple[str, ...] = (
    "cosyvoice.flow.flow_matching.CausalConditionalCFM",
    "cosyvoice.flow.flow.CausalMaskedDiffWithDiT",
    "cosyvoice.hifigan.f0_predictor.CausalConvRNNF0Predictor",
    "cosyvoice.hifigan.generator.CausalHiFTGenerator",
)


@dataclass(frozen=True)
class CosyVoice3Config:
    source: str
    sample_rate: int
    token_frame_rate: int
    token_mel_ratio: int
    chunk_size: int                       # streaming chunk, tokens
    num_decoding_left_chunks: int
    llm: LLMConfig
    flow: FlowConfig
    hift: HiFTConfig
    feat: FeatConfig
    tokenizer: TokenizerConfig
    seeds: Tuple[Tuple[str, int], ...]     # the !apply seed calls, in order
    construction_order: Tuple[Tuple[str, str], ...]   # (key path, class/function) of !new/!apply
    rng_order_ok: bool
    warnings: Tuple[str, ...] = ()

    @property
    def hift_noise_rng_skip(self) -> Optional[int]:
        """32-bit MT19937 outputs consumed after ``torch.manual_seed(0)`` (in the CFM
        constructor) before HiFT draws its uniform source noise, assuming upstream's
        construction order and torch's init functions (1 draw per element for float32
        ``uniform_``/``kaiming_uniform_``, and for ``normal_``/``randn`` of 16 or more
        elements when the count is a multiple of 16).  5,052,970 for the release.
        None when the order is not the expected one or a count breaks that rule."""
        if not self.rng_order_ok:
            return None
        f = self.flow
        n_noise = 80 * f.cfm.noise_frames           # randn(1, 80, 15000)
        n_embed = f.vocab_size * f.input_size       # nn.Embedding normal_ init
        if n_noise % 16 or n_embed % 16 or n_embed < 16:
            return None
        n_spk = f.spk_embed_dim * f.output_size + f.output_size  # Linear kaiming + bias
        p = self.hift.f0_predictor
        n_f0 = (p.in_channels * p.cond_channels * 4 + p.cond_channels
                + 4 * (p.cond_channels * p.cond_channels * 3 + p.cond_channels)
                + p.cond_channels * p.num_class + p.num_class)
        n_rand_ini = self.hift.n_harmonic_channels
        return n_noise + n_embed + n_spk + n_f0 + n_rand_ini


# ---------------------------------------------------------------------------------------------
# YAML layer: compose with PyYAML, then build our own tree (keeps key paths and lines)
# ---------------------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """SafeLoader plus YAML 1.2 floats without a dot (``1e-06``), as ruamel.yaml reads them."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


@dataclass(eq=False)
class _Tagged:
    kind: str                 # 'new' | 'name' | 'apply'
    target: str               # dotted module path
    args: list
    kwargs: dict
    kw_lines: Dict[str, int]
    line: int
    path: str


@dataclass(eq=False)
class _Ref:
    expr: str
    line: int
    path: str


_TAG_KINDS = ("new", "name", "apply")


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.scalar_ctor = yaml.constructor.SafeConstructor()
        self.memo: Dict[int, Any] = {}

    def build(self, node: yaml.Node, path: str) -> Any:
        key = id(node)
        if key in self.memo:          # YAML alias: the same object, like upstream
            return self.memo[key]
        value = self._build(node, path)
        self.memo[key] = value
        return value

    def _build(self, node: yaml.Node, path: str) -> Any:
        line = node.start_mark.line + 1
        tag = node.tag or ""
        if tag.startswith("!"):
            if tag == "!ref":
                if not isinstance(node, yaml.ScalarNode):
                    raise _err(self.file, line, path, "!ref must be a scalar such as '!ref <key>'")
                return _Ref(str(node.value).strip(), line, path)
            kind, sep, target = tag[1:].partition(":")
            if kind not in _TAG_KINDS or not sep or not target:
                raise _err(self.file, line, path,
                           f"unsupported tag {tag!r} (supported: !new:<class>, !name:<function>, "
                           f"!apply:<function>, !ref)")
            args: list = []
            kwargs: dict = {}
            kw_lines: Dict[str, int] = {}
            if isinstance(node, yaml.MappingNode):
                kwargs, kw_lines = self._mapping(node, path)
            elif isinstance(node, yaml.SequenceNode):
                args = [self.build(c, f"{path}[{i}]") for i, c in enumerate(node.value)]
            elif str(node.value).strip():
                args = [self.scalar_ctor.construct_object(
                    yaml.ScalarNode(self._plain_tag(node), node.value, node.start_mark, node.end_mark))]
            return _Tagged(kind, target, args, kwargs, kw_lines, line, path)
        if isinstance(node, yaml.ScalarNode):
            if tag not in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                           "tag:yaml.org,2002:float", "tag:yaml.org,2002:str"):
                raise _err(self.file, line, path, f"unsupported scalar tag {tag!r}")
            return self.scalar_ctor.construct_object(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(c, f"{path}[{i}]") for i, c in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)[0]
        raise _err(self.file, line, path, f"unsupported YAML node {type(node).__name__}")

    @staticmethod
    def _plain_tag(node: yaml.ScalarNode) -> str:
        return _Loader.resolve(_Loader, yaml.ScalarNode, node.value, (True, False))

    def _mapping(self, node: yaml.MappingNode, path: str) -> Tuple[dict, Dict[str, int]]:
        out: dict = {}
        lines: Dict[str, int] = {}
        for knode, vnode in node.value:
            kline = knode.start_mark.line + 1
            if not isinstance(knode, yaml.ScalarNode) or knode.tag == "tag:yaml.org,2002:merge":
                raise _err(self.file, kline, path, "only plain scalar keys are supported (no merge keys)")
            k = self.scalar_ctor.construct_object(knode)
            if not isinstance(k, (str, int)):
                raise _err(self.file, kline, path, f"unsupported key {k!r}")
            k = str(k)
            sub = f"{path}.{k}" if path else k
            if k in out:
                raise _err(self.file, kline, sub, "duplicate key")
            out[k] = self.build(vnode, sub)
            lines[k] = kline
        return out, lines


# --- reference resolution ---------------------------------------------------------------------

_REF_RE = re.compile(r"<([^<>]+)>")
_ARITH_OPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.USub: operator.neg, ast.UAdd: operator.pos,
}


def _arith(expr: str) -> Any:
    """Evaluate a pure-number arithmetic expression; raise ValueError for anything else."""
    def ev(n: ast.AST) -> Any:
        if isinstance(n, ast.Expression):
            return ev(n.body)
        if isinstance(n, ast.Constant) and type(n.value) in (int, float):
            return n.value
        if isinstance(n, ast.BinOp) and type(n.op) in _ARITH_OPS:
            return _ARITH_OPS[type(n.op)](ev(n.left), ev(n.right))
        if isinstance(n, ast.UnaryOp) and type(n.op) in _ARITH_OPS:
            return _ARITH_OPS[type(n.op)](ev(n.operand))
        raise ValueError("not arithmetic")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(str(e)) from None
    return ev(tree)


class _Resolver:
    def __init__(self, file: str, doc: dict):
        self.file = file
        self.doc = doc
        self.done: Dict[int, Any] = {}
        self.active: List[str] = []

    def lookup(self, key: str, ref: _Ref) -> Any:
        parts = re.findall(r"[^.\[\]]+", key)
        if not parts:
            raise _err(self.file, ref.line, ref.path, f"empty reference <{key}>")
        cur: Any = self.doc
        for i, p in enumerate(parts):
            if isinstance(cur, _Tagged):
                cur = cur.kwargs
            if isinstance(cur, dict) and p in cur:
                cur = cur[p]
            elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
                cur = cur[int(p)]
            else:
                raise _err(self.file, ref.line, ref.path,
                           f"reference <{key}> not found ('{'.'.join(parts[:i + 1])}' does not exist)")
            if isinstance(cur, _Ref):
                cur = self.ref(cur)
        return cur

    def ref(self, r: _Ref) -> Any:
        if id(r) in self.done:
            return self.done[id(r)]
        if r.path in self.active:
            raise _err(self.file, r.line, r.path, "circular !ref: " + " -> ".join(self.active + [r.path]))
        self.active.append(r.path)
        try:
            keys = _REF_RE.findall(r.expr)
            if not keys:
                raise _err(self.file, r.line, r.path, f"!ref {r.expr!r} names no <key>")
            if _REF_RE.fullmatch(r.expr.strip()):
                value = self.resolve(self.lookup(keys[0].strip(), r))
            else:
                vals = {k: self.resolve(self.lookup(k.strip(), r)) for k in keys}
                for k, v in vals.items():
                    if isinstance(v, (_Tagged, dict, list)):
                        raise _err(self.file, r.line, r.path,
                                   f"!ref {r.expr!r}: <{k}> is not a scalar, it cannot be used in an expression")
                num = _REF_RE.sub(lambda m: repr(vals[m.group(1)]), r.expr)
                try:
                    value = _arith(num)
                except (ValueError, ZeroDivisionError, OverflowError):
                    value = _REF_RE.sub(lambda m: str(vals[m.group(1)]), r.expr)
        finally:
            self.active.pop()
        self.done[id(r)] = value
        return value

    def resolve(self, v: Any) -> Any:
        if isinstance(v, _Ref):
            return self.ref(v)
        if id(v) in self.done:
            return self.done[id(v)]
        if isinstance(v, _Tagged):
            self.done[id(v)] = v
            v.args = [self.resolve(a) for a in v.args]
            for k in list(v.kwargs):
                v.kwargs[k] = self.resolve(v.kwargs[k])
            return v
        if isinstance(v, dict):
            self.done[id(v)] = v
            for k in list(v):
                v[k] = self.resolve(v[k])
            return v
        if isinstance(v, list):
            self.done[id(v)] = v
            for i in range(len(v)):
                v[i] = self.resolve(v[i])
            return v
        return v


def parse_yaml(text: str, file: str = "<yaml>", overrides: Optional[Dict[str, Any]] = None) -> dict:
    """Parse HyperPyYAML text into a dict whose tagged nodes are ``_Tagged`` objects with all
    references resolved (shared objects stay shared).  ``overrides`` replace top-level keys
    before references are resolved, like ``load_hyperpyyaml(..., overrides=...)``."""
    return _parse_yaml(text, file, overrides)[0]


def _parse_yaml(text: str, file: str, overrides: Optional[Dict[str, Any]]) -> Tuple[dict, Dict[str, int]]:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise _err(file, mark.line + 1 if mark else None, "", f"YAML syntax error: {e}") from None
    if root is None:
        raise _err(file, None, "", "empty document")
    if not isinstance(root, yaml.MappingNode) or root.tag.startswith("!"):
        raise _err(file, root.start_mark.line + 1, "", "the top level must be a plain mapping")
    # Overrides may add keys the yaml lacks (the release's yaml is not public; if it had no
    # qwen_pretrain_path, upstream's override would still supply it).
    builder = _Builder(file)
    doc, lines = builder._mapping(root, "")
    for k, v in (overrides or {}).items():
        doc[k] = v
    return _Resolver(file, doc).resolve(doc), lines


# ---------------------------------------------------------------------------------------------
# Schemas of the classes/functions the CosyVoice3 yaml may name
# ---------------------------------------------------------------------------------------------

_REQ = object()   # marker: required keyword argument

# target -> (tag kind, {kwarg: default or _REQ}).  "Required" here means: defines the
# architecture or inference behaviour and is given by the official example yaml; training-only
# knobs fall back to upstream's defaults.
_SCHEMAS: Dict[str, Tuple[str, Dict[str, Any]]] = {
    "cosyvoice.llm.llm.CosyVoice3LM": ("new", {
        "llm_input_size": _REQ, "llm_output_size": _REQ, "speech_token_size": _REQ, "llm": _REQ,
        "sampling": _REQ, "length_normalized_loss": True, "lsm_weight": 0.0, "mix_ratio": [5, 15]}),
    "cosyvoice.llm.llm.Qwen2Encoder": ("new", {"pretrain_path": _REQ}),
    "cosyvoice.utils.common.ras_sampling": ("name", {
        "top_p": 0.8, "top_k": 25, "win_size": 10, "tau_r": 0.1}),
    "cosyvoice.flow.flow.CausalMaskedDiffWithDiT": ("new", {
        "input_size": _REQ, "output_size": _REQ, "spk_embed_dim": _REQ, "output_type": "mel",
        "vocab_size": _REQ, "input_frame_rate": _REQ, "only_mask_loss": True, "token_mel_ratio": _REQ,
        "pre_lookahead_len": _REQ, "pre_lookahead_layer": _REQ, "decoder": _REQ, "decoder_conf": None}),
    "cosyvoice.transformer.upsample_encoder.PreLookaheadLayer": ("new", {
        "in_channels": _REQ, "channels": _REQ, "pre_lookahead_len": _REQ}),
    "cosyvoice.flow.flow_matching.CausalConditionalCFM": ("new", {
        "in_channels": _REQ, "cfm_params": _REQ, "n_spks": 1, "spk_emb_dim": 64, "estimator": _REQ}),
    "omegaconf.DictConfig": ("new", {"content": _REQ}),
    "cosyvoice.flow.DiT.dit.DiT": ("new", {
        "dim": _REQ, "depth": _REQ, "heads": _REQ, "dim_head": _REQ, "dropout": 0.1, "ff_mult": _REQ,
        "mel_dim": _REQ, "mu_dim": None, "long_skip_connection": False, "spk_dim": _REQ,
        "out_channels": _REQ, "static_chunk_size": _REQ, "num_decoding_left_chunks": _REQ}),
    "cosyvoice.hifigan.generator.CausalHiFTGenerator": ("new", {
        "in_channels": _REQ, "base_channels": _REQ, "nb_harmonics": _REQ, "sampling_rate": _REQ,
        "nsf_alpha": _REQ, "nsf_sigma": _REQ, "nsf_voiced_threshold": _REQ, "upsample_rates": _REQ,
        "upsample_kernel_sizes": _REQ, "istft_params": _REQ, "resblock_kernel_sizes": _REQ,
        "resblock_dilation_sizes": _REQ, "source_resblock_kernel_sizes": _REQ,
        "source_resblock_dilation_sizes": _REQ, "lrelu_slope": _REQ, "audio_limit": _REQ,
        "conv_pre_look_right": _REQ, "f0_predictor": _REQ}),
    "cosyvoice.hifigan.f0_predictor.CausalConvRNNF0Predictor": ("new", {
        "num_class": 1, "in_channels": _REQ, "cond_channels": _REQ}),
    "matcha.utils.audio.mel_spectrogram": ("name", {
        "n_fft": _REQ, "num_mels": _REQ, "sampling_rate": _REQ, "hop_size": _REQ, "win_size": _REQ,
        "fmin": _REQ, "fmax": _REQ, "center": False}),
    "cosyvoice.tokenizer.tokenizer.get_qwen_tokenizer": ("name", {
        "token_path": _REQ, "skip_special_tokens": True, "version": _REQ}),
}

# Known and accepted, but not needed for inference (training, GAN and dataset machinery).
_SEED_FUNCS = ("random.seed", "numpy.random.seed", "torch.manual_seed", "torch.cuda.manual_seed_all")
_IGNORED = {
    "cosyvoice.hifigan.hifigan.HiFiGan": "new",
    "cosyvoice.hifigan.discriminator.MultipleDiscriminator": "new",
    "cosyvoice.hifigan.discriminator.MultiResSpecDiscriminator": "new",
    "cosyvoice.hifigan.discriminator.MultiResolutionDiscriminator": "new",
    "matcha.hifigan.models.MultiPeriodDiscriminator": "new",
    **{f: "apply" for f in _SEED_FUNCS},
}
_IGNORED_PREFIXES = {"cosyvoice.dataset.processor.": "name"}


def _known_kind(target: str) -> Optional[str]:
    if target in _SCHEMAS:
        return _SCHEMAS[target][0]
    if target in _IGNORED:
        return _IGNORED[target]
    for prefix, kind in _IGNORED_PREFIXES.items():
        if target.startswith(prefix) and target[len(prefix):].isidentifier():
            return kind
    return None


class _Interp:
    """Turns the resolved tree into dataclasses, with file/line/key-path errors."""

    def __init__(self, file: str, doc: dict, top_lines: Optional[Dict[str, int]] = None):
        self.file = file
        self.doc = doc
        self.top_lines = top_lines or {}
        self.order: List[Tuple[str, str]] = []
        self.seeds: List[Tuple[str, int]] = []
        self._seen: set = set()
        self._walk(doc, "")

    # --- whole-document checks ---
    def _walk(self, v: Any, path: str) -> None:
        """Post-order, document-order walk: checks every tag target and records the
        order in which HyperPyYAML would construct !new / !apply objects."""
        if isinstance(v, _Tagged):
            if id(v) in self._seen:
                return
            self._seen.add(id(v))
            kind = _known_kind(v.target)
            if kind is None:
                raise _err(self.file, v.line, v.path,
                           f"unknown class/function {v.target!r} in !{v.kind}: (known: "
                           + ", ".join(sorted(set(_SCHEMAS) | set(_IGNORED))) + ")")
            if kind != v.kind:
                raise _err(self.file, v.line, v.path, f"{v.target} must be used with !{kind}:, not !{v.kind}:")
            for i, a in enumerate(v.args):
                self._walk(a, f"{v.path}[{i}]")
            for k, a in v.kwargs.items():
                self._walk(a, f"{v.path}.{k}")
            if v.kind in ("new", "apply"):
                self.order.append((v.path, v.target))
            if v.kind == "apply" and v.target in _SEED_FUNCS:
                if len(v.args) != 1 or v.kwargs or type(v.args[0]) is not int:
                    raise _err(self.file, v.line, v.path, f"{v.target} expects one integer seed")
                self.seeds.append((v.target, v.args[0]))
        elif isinstance(v, dict):
            for k, a in v.items():
                self._walk(a, f"{path}.{k}" if path else k)
        elif isinstance(v, list):
            for i, a in enumerate(v):
                self._walk(a, f"{path}[{i}]")

    # --- typed accessors ---
    def top(self, key: str, what: str) -> Any:
        if key not in self.doc:
            raise _err(self.file, None, key, f"missing required top-level key (expected {what})")
        return self.doc[key]

    def node(self, v: Any, path: str, target: str, line: Optional[int] = None) -> Dict[str, Any]:
        kind, schema = _SCHEMAS[target]
        if not isinstance(v, _Tagged):
            raise _err(self.file, line, path, f"expected !{kind}:{target}, found {_describe(v)}")
        if v.target != target:
            raise _err(self.file, v.line, path, f"expected !{kind}:{target}, found !{v.kind}:{v.target}")
        if v.args:
            raise _err(self.file, v.line, path, f"{target} takes keyword arguments (a mapping), not a list")
        unknown = [k for k in v.kwargs if k not in schema]
        if unknown:
            raise _err(self.file, v.kw_lines.get(unknown[0], v.line), f"{path}.{unknown[0]}",
                       f"unknown keyword argument of {target} (accepted: {', '.join(schema)})")
        out: Dict[str, Any] = {"__line__": v.line, "__lines__": v.kw_lines}
        for k, default in schema.items():
            if k in v.kwargs:
                out[k] = v.kwargs[k]
            elif default is _REQ:
                raise _err(self.file, v.line, f"{path}.{k}", f"missing required key of {target}")
            else:
                out[k] = default
        return out

    def line_of(self, n: Dict[str, Any], key: str) -> Optional[int]:
        return n["__lines__"].get(key, n["__line__"])

    def int_(self, n: Dict[str, Any], key: str, path: str, lo: Optional[int] = None,
             hi: Optional[int] = None) -> int:
        v = n[key]
        if type(v) is not int:
            raise _err(self.file, self.line_of(n, key), f"{path}.{key}", f"expected an integer, found {_describe(v)}")
        _range(self, v, n, key, path, lo, hi)
        return v

    def float_(self, n: Dict[str, Any], key: str, path: str, lo: Optional[float] = None,
               hi: Optional[float] = None, lo_open: bool = False) -> float:
        v = n[key]
        if type(v) not in (int, float) or not math.isfinite(v):
            raise _err(self.file, self.line_of(n, key), f"{path}.{key}", f"expected a finite number, found {_describe(v)}")
        v = float(v)
        if lo_open and lo is not None and not v > lo:
            raise _err(self.file, self.line_of(n, key), f"{path}.{key}", f"expected a value > {lo}, found {v}")
        _range(self, v, n, key, path, None if lo_open else lo, hi)
        return v

    def bool_(self, n: Dict[str, Any], key: str, path: str) -> bool:
        v = n[key]
        if type(v) is not bool:
            raise _err(self.file, self.line_of(n, key), f"{path}.{key}", f"expected true/false, found {_describe(v)}")
        return v

    def str_(self, n: Dict[str, Any], key: str, path: str, choices: Optional[Sequence[str]] = None) -> str:
        v = n[key]
        if not isinstance(v, str):
            raise _err(self.file, self.line_of(n, key), f"{path}.{key}", f"expected a string, found {_describe(v)}")
        if choices is not None and v not in choices:
            raise _err(self.file, self.line_of(n, key), f"{path}.{key}",
                       f"expected one of {list(choices)}, found {v!r}")
        return v

    def ints(self, n: Dict[str, Any], key: str, path: str, lo: int = 1, length: Optional[int] = None) -> Tuple[int, ...]:
        v = n[key]
        ok = isinstance(v, list) and all(type(x) is int and x >= lo for x in v) and v
        if not ok or (length is not None and len(v) != length):
            want = f"a non-empty list of integers >= {lo}" + (f" of length {length}" if length is not None else "")
            raise _err(self.file, self.line_of(n, key), f"{path}.{key}", f"expected {want}, found {_describe(v)}")
        return tuple(v)

    def int_lists(self, n: Dict[str, Any], key: str, path: str, length: int) -> Tuple[Tuple[int, ...], ...]:
        v = n[key]
        ok = (isinstance(v, list) and len(v) == length
              and all(isinstance(r, list) and r and all(type(x) is int and x >= 1 for x in r) for r in v))
        if not ok:
            raise _err(self.file, self.line_of(n, key), f"{path}.{key}",
                       f"expected a list of {length} non-empty lists of integers >= 1, found {_describe(v)}")
        return tuple(tuple(r) for r in v)

    def fail(self, n: Optional[Dict[str, Any]], key: str, path: str, msg: str) -> ConfigError:
        line = self.line_of(n, key) if n is not None else None
        return _err(self.file, line, f"{path}.{key}" if key else path, msg)


def _range(ip: _Interp, v: float, n: Dict[str, Any], key: str, path: str,
           lo: Optional[float], hi: Optional[float]) -> None:
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        raise _err(ip.file, ip.line_of(n, key), f"{path}.{key}", f"value {v} out of range, expected {rng}")


def _describe(v: Any) -> str:
    if isinstance(v, _Tagged):
        return f"!{v.kind}:{v.target}"
    if v is None:
        return "null"
    return f"{type(v).__name__} {v!r}"[:120]


# ---------------------------------------------------------------------------------------------
# Qwen2 config.json
# ---------------------------------------------------------------------------------------------

def _json_line(text: str, key: str) -> Optional[int]:
    m = re.search(r'"%s"\s*:' % re.escape(key), text)
    return text.count("\n", 0, m.start()) + 1 if m else None


# CosyVoice3's added text tokens end at id 151923 (spec §3.2); the table must cover them.
MIN_TEXT_VOCAB = 151924


def qwen2_config_from_dict(d: Dict[str, Any], file: str = "<config.json>", text: str = "") -> Qwen2Config:
    """Validate a Qwen2 ``config.json`` dict.  ``text`` (the file's text) lets errors name lines."""
    def fail(key: str, msg: str) -> ConfigError:
        return _err(file, _json_line(text, key) if text else None, key, msg)

    def get(key: str, kind: type, lo: Optional[float] = None, default: Any = _REQ, lo_open: bool = False) -> Any:
        if key not in d or d[key] is None and default is not _REQ:
            if default is _REQ:
                raise fail(key, f"missing required key (expected {kind.__name__})")
            return default
        v = d[key]
        if kind is float and type(v) in (int, float):
            v = float(v)
        if type(v) is not kind or (kind is float and not math.isfinite(v)):
            raise fail(key, f"expected {kind.__name__}, found {_describe(v)}")
        if lo is not None and (v <= lo if lo_open else v < lo):
            raise fail(key, f"value {v} out of range, expected {'>' if lo_open else '>='} {lo}")
        return v

    if d.get("model_type", "qwen2") != "qwen2":
        raise fail("model_type", f"expected 'qwen2', found {d.get('model_type')!r}")
    hidden = get("hidden_size", int, 1)
    heads = get("num_attention_heads", int, 1)
    kv = get("num_key_value_heads", int, 1)
    if heads % kv:
        raise fail("num_key_value_heads", f"{kv} does not divide num_attention_heads={heads}")
    head_dim = get("head_dim", int, 2, default=None)
    if head_dim is None:
        if hidden % heads:
            raise fail("num_attention_heads", f"{heads} does not divide hidden_size={hidden}")
        head_dim = hidden // heads
    if head_dim % 2:
        raise fail("head_dim", f"head_dim must be even for RoPE, found {head_dim}")
    act = get("hidden_act", str, default="silu")
    if act != "silu":
        raise fail("hidden_act", f"expected 'silu', found {act!r}")
    if d.get("use_sliding_window"):
        raise fail("use_sliding_window", "sliding-window attention is not supported (expected false)")
    if d.get("rope_scaling") not in (None, {}):
        raise fail("rope_scaling", "RoPE scaling is not supported (expected null)")
    vocab = get("vocab_size", int, MIN_TEXT_VOCAB)
    return Qwen2Config(
        hidden_size=hidden,
        num_hidden_layers=get("num_hidden_layers", int, 1),
        num_attention_heads=heads,
        num_key_value_heads=kv,
        head_dim=head_dim,
        intermediate_size=get("intermediate_size", int, 1),
        rope_theta=get("rope_theta", float, 0.0, lo_open=True),
        rms_norm_eps=get("rms_norm_eps", float, 0.0, lo_open=True),
        vocab_size=vocab,
        # transformers' Qwen2Config defaults tie_word_embeddings to False
        tie_word_embeddings=get("tie_word_embeddings", bool, default=False),
        max_position_embeddings=get("max_position_embeddings", int, 1),
        hidden_act=act,
    )


def read_qwen2_config(path: PathLike) -> Qwen2Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the Qwen2 config: {e}") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise _err(str(path), e.lineno, "", f"invalid JSON: {e.msg}") from None
    if not isinstance(d, dict):
        raise _err(str(path), 1, "", "expected a JSON object")
    return qwen2_config_from_dict(d, str(path), text)


# ---------------------------------------------------------------------------------------------
# Interpretation
# ---------------------------------------------------------------------------------------------

def _interpret(ip: _Interp, qwen: Qwen2Config) -> CosyVoice3Config:
    doc = ip.doc
    F = ip.file

    def top_int(key: str, lo: int, default: Any = _REQ) -> int:
        if key not in doc:
            if default is _REQ:
                raise _err(F, None, key, "missing required key (expected an integer)")
            return default
        v = doc[key]
        if type(v) is not int or v < lo:
            raise _err(F, ip.top_lines.get(key), key, f"expected an integer >= {lo}, found {_describe(v)}")
        return v

    sample_rate = top_int("sample_rate", 1)

    # ---- LLM ----
    n = ip.node(ip.top("llm", "!new:cosyvoice.llm.llm.CosyVoice3LM"), "llm", "cosyvoice.llm.llm.CosyVoice3LM")
    enc = ip.node(n["llm"], "llm.llm", "cosyvoice.llm.llm.Qwen2Encoder", ip.line_of(n, "llm"))
    pretrain = enc["pretrain_path"]
    if not isinstance(pretrain, str):
        raise ip.fail(enc, "pretrain_path", "llm.llm", f"expected a string, found {_describe(pretrain)}")
    smp = ip.node(n["sampling"], "llm.sampling", "cosyvoice.utils.common.ras_sampling", ip.line_of(n, "sampling"))
    sampling = SamplingConfig(
        top_p=ip.float_(smp, "top_p", "llm.sampling", 0.0, 1.0, lo_open=True),
        top_k=ip.int_(smp, "top_k", "llm.sampling", 1),
        win_size=ip.int_(smp, "win_size", "llm.sampling", 1),
        tau_r=ip.float_(smp, "tau_r", "llm.sampling", 0.0, 1.0, lo_open=True))
    llm = LLMConfig(
        llm_input_size=ip.int_(n, "llm_input_size", "llm", 1),
        llm_output_size=ip.int_(n, "llm_output_size", "llm", 1),
        speech_token_size=ip.int_(n, "speech_token_size", "llm", 1),
        mix_ratio=ip.ints(n, "mix_ratio", "llm", 1, 2),  # type: ignore[arg-type]
        length_normalized_loss=ip.bool_(n, "length_normalized_loss", "llm"),
        lsm_weight=ip.float_(n, "lsm_weight", "llm", 0.0, 1.0),
        sampling=sampling, qwen=qwen, qwen_pretrain_path=pretrain)
    for k in ("llm_input_size", "llm_output_size"):
        if getattr(llm, k) != qwen.hidden_size:
            raise ip.fail(n, k, "llm", f"must equal the Qwen2 hidden_size {qwen.hidden_size}, found {getattr(llm, k)}")

    # ---- flow ----
    FT = "cosyvoice.flow.flow.CausalMaskedDiffWithDiT"
    n = ip.node(ip.top("flow", "!new:" + FT), "flow", FT)
    pl = ip.node(n["pre_lookahead_layer"], "flow.pre_lookahead_layer",
                 "cosyvoice.transformer.upsample_encoder.PreLookaheadLayer", ip.line_of(n, "pre_lookahead_layer"))
    pre = PreLookaheadConfig(
        in_channels=ip.int_(pl, "in_channels", "flow.pre_lookahead_layer", 1),
        channels=ip.int_(pl, "channels", "flow.pre_lookahead_layer", 1),
        pre_lookahead_len=ip.int_(pl, "pre_lookahead_len", "flow.pre_lookahead_layer", 1))
    dn = ip.node(n["decoder"], "flow.decoder", "cosyvoice.flow.flow_matching.CausalConditionalCFM",
                 ip.line_of(n, "decoder"))
    cp = ip.node(dn["cfm_params"], "flow.decoder.cfm_params", "omegaconf.DictConfig", ip.line_of(dn, "cfm_params"))
    content = cp["content"]
    if not isinstance(content, dict):
        raise ip.fail(cp, "content", "flow.decoder.cfm_params", f"expected a mapping, found {_describe(content)}")
    # Spec gap: the CFM parameters are an omegaconf dict; upstream reads solver, t_scheduler,
    # training_cfg_rate and inference_cfg_rate as attributes (sigma_min falls back to Matcha's
    # 1e-4).  We require only what inference uses; the training-only ones get defaults.
    cfm_defaults = {"sigma_min": 1e-4, "training_cfg_rate": 0.0, "reg_loss_type": "l1"}
    cpath = "flow.decoder.cfm_params.content"
    cc: Dict[str, Any] = {"__line__": ip.line_of(cp, "content"), "__lines__": {}}
    for k in ("solver", "t_scheduler", "inference_cfg_rate", "sigma_min", "training_cfg_rate", "reg_loss_type"):
        if k in content:
            cc[k] = content[k]
        elif k in cfm_defaults:
            cc[k] = cfm_defaults[k]
        else:
            raise _err(F, cc["__line__"], f"{cpath}.{k}", "missing required key of the CFM parameters")
    dpath = "flow.decoder.estimator"
    de = ip.node(dn["estimator"], dpath, "cosyvoice.flow.DiT.dit.DiT", ip.line_of(dn, "estimator"))
    mel_dim = ip.int_(de, "mel_dim", dpath, 1)
    if de["mu_dim"] is None:
        de["mu_dim"] = mel_dim
    ff_mult = ip.float_(de, "ff_mult", dpath, 0.0, lo_open=True)
    dit = DiTConfig(
        dim=ip.int_(de, "dim", dpath, 1), depth=ip.int_(de, "depth", dpath, 1),
        heads=ip.int_(de, "heads", dpath, 1), dim_head=ip.int_(de, "dim_head", dpath, 2),
        ff_mult=int(ff_mult) if ff_mult == int(ff_mult) else ff_mult,
        mel_dim=mel_dim, mu_dim=ip.int_(de, "mu_dim", dpath, 1), spk_dim=ip.int_(de, "spk_dim", dpath, 1),
        out_channels=ip.int_(de, "out_channels", dpath, 1),
        static_chunk_size=ip.int_(de, "static_chunk_size", dpath, 1),
        num_decoding_left_chunks=ip.int_(de, "num_decoding_left_chunks", dpath),
        dropout=ip.float_(de, "dropout", dpath, 0.0, 1.0),
        long_skip_connection=ip.bool_(de, "long_skip_connection", dpath))
    if dit.dim_head % 2:
        raise ip.fail(de, "dim_head", dpath, f"must be even (RoPE rotates pairs), found {dit.dim_head}")
    if dit.dim % dit.conv_pos_groups:
        raise ip.fail(de, "dim", dpath, f"must be a multiple of {dit.conv_pos_groups} (grouped conv position "
                      f"embedding), found {dit.dim}")
    if dit.long_skip_connection:
        raise ip.fail(de, "long_skip_connection", dpath, "long_skip_connection=True is not supported (expected false)")
    cfm = CFMConfig(
        in_channels=ip.int_(dn, "in_channels", "flow.decoder", 1),
        n_spks=ip.int_(dn, "n_spks", "flow.decoder", 0),
        spk_emb_dim=ip.int_(dn, "spk_emb_dim", "flow.decoder", 1),
        sigma_min=ip.float_(cc, "sigma_min", cpath, 0.0),
        solver=ip.str_(cc, "solver", cpath, ["euler"]),
        t_scheduler=ip.str_(cc, "t_scheduler", cpath, ["cosine", "linear"]),
        training_cfg_rate=ip.float_(cc, "training_cfg_rate", cpath, 0.0, 1.0),
        inference_cfg_rate=ip.float_(cc, "inference_cfg_rate", cpath, 0.0),
        reg_loss_type=ip.str_(cc, "reg_loss_type", cpath))
    flow = FlowConfig(
        input_size=ip.int_(n, "input_size", "flow", 1),
        output_size=ip.int_(n, "output_size", "flow", 80, 80),   # solve_euler hard-codes 80 channels
        spk_embed_dim=ip.int_(n, "spk_embed_dim", "flow", 1),
        output_type=ip.str_(n, "output_type", "flow", ["mel"]),
        vocab_size=ip.int_(n, "vocab_size", "flow", 1),
        input_frame_rate=ip.int_(n, "input_frame_rate", "flow", 1),
        only_mask_loss=ip.bool_(n, "only_mask_loss", "flow"),
        token_mel_ratio=ip.int_(n, "token_mel_ratio", "flow", 1),
        pre_lookahead_len=ip.int_(n, "pre_lookahead_len", "flow", 1),
        pre_lookahead=pre, cfm=cfm, dit=dit)
    checks = [
        (pl, "in_channels", "flow.pre_lookahead_layer", pre.in_channels, flow.input_size, "flow.input_size"),
        (pl, "pre_lookahead_len", "flow.pre_lookahead_layer", pre.pre_lookahead_len, flow.pre_lookahead_len,
         "flow.pre_lookahead_len"),
        (de, "mel_dim", dpath, dit.mel_dim, flow.output_size, "flow.output_size"),
        (de, "out_channels", dpath, dit.out_channels, flow.output_size, "flow.output_size"),
        (de, "mu_dim", dpath, dit.mu_dim, flow.input_size, "flow.input_size (mu is the token encoding)"),
        (de, "spk_dim", dpath, dit.spk_dim, flow.output_size, "flow.output_size (the projected speaker)"),
    ]
    for node_, key, path, got, want, what in checks:
        if got != want:
            raise ip.fail(node_, key, path, f"must equal {what} = {want}, found {got}")

    # ---- HiFT ----
    HT = "cosyvoice.hifigan.generator.CausalHiFTGenerator"
    n = ip.node(ip.top("hift", "!new:" + HT), "hift", HT)
    fp = ip.node(n["f0_predictor"], "hift.f0_predictor", "cosyvoice.hifigan.f0_predictor.CausalConvRNNF0Predictor",
                 ip.line_of(n, "f0_predictor"))
    f0 = F0PredictorConfig(
        num_class=ip.int_(fp, "num_class", "hift.f0_predictor", 1, 1),
        in_channels=ip.int_(fp, "in_channels", "hift.f0_predictor", 1),
        cond_channels=ip.int_(fp, "cond_channels", "hift.f0_predictor", 1))
    ist = n["istft_params"]
    if not isinstance(ist, dict) or set(ist) != {"n_fft", "hop_len"}:
        raise ip.fail(n, "istft_params", "hift", f"expected a mapping with n_fft and hop_len, found {_describe(ist)}")
    ist_n = {"__line__": ip.line_of(n, "istft_params"), "__lines__": {}, **ist}
    ups = ip.ints(n, "upsample_rates", "hift", 1)
    nup = len(ups)
    hift = HiFTConfig(
        in_channels=ip.int_(n, "in_channels", "hift", 1),
        base_channels=ip.int_(n, "base_channels", "hift", 1),
        nb_harmonics=ip.int_(n, "nb_harmonics", "hift", 0),
        sampling_rate=ip.int_(n, "sampling_rate", "hift", 1),
        nsf_alpha=ip.float_(n, "nsf_alpha", "hift", 0.0),
        nsf_sigma=ip.float_(n, "nsf_sigma", "hift", 0.0),
        nsf_voiced_threshold=ip.float_(n, "nsf_voiced_threshold", "hift", 0.0),
        upsample_rates=ups,
        upsample_kernel_sizes=ip.ints(n, "upsample_kernel_sizes", "hift", 1, nup),
        istft_n_fft=ip.int_(ist_n, "n_fft", "hift.istft_params", 2),
        istft_hop_len=ip.int_(ist_n, "hop_len", "hift.istft_params", 1),
        resblock_kernel_sizes=ip.ints(n, "resblock_kernel_sizes", "hift", 1),
        resblock_dilation_sizes=(),   # filled below (needs the kernel count)
        source_resblock_kernel_sizes=ip.ints(n, "source_resblock_kernel_sizes", "hift", 1, nup),
        source_resblock_dilation_sizes=ip.int_lists(n, "source_resblock_dilation_sizes", "hift", nup),
        lrelu_slope=ip.float_(n, "lrelu_slope", "hift", 0.0),
        audio_limit=ip.float_(n, "audio_limit", "hift", 0.0, 1.0, lo_open=True),
        conv_pre_look_right=ip.int_(n, "conv_pre_look_right", "hift", 0),
        f0_predictor=f0)
    object.__setattr__(hift, "resblock_dilation_sizes",
                       ip.int_lists(n, "resblock_dilation_sizes", "hift", len(hift.resblock_kernel_sizes)))
    if hift.sampling_rate == 22050:
        raise ip.fail(n, "sampling_rate", "hift", "22050 selects upstream's SineGen v1 source, which CosyVoice3 "
                      "does not use and this reference does not implement")
    if hift.sampling_rate != sample_rate:
        raise ip.fail(n, "sampling_rate", "hift", f"must equal sample_rate = {sample_rate}, found {hift.sampling_rate}")
    if hift.base_channels % (2 ** nup):
        raise ip.fail(n, "base_channels", "hift", f"must be divisible by 2**{nup}, found {hift.base_channels}")
    if hift.istft_n_fft % 2:
        raise _err(F, ist_n["__line__"], "hift.istft_params.n_fft", f"must be even, found {hift.istft_n_fft}")
    if hift.in_channels != flow.output_size:
        raise ip.fail(n, "in_channels", "hift", f"must equal flow.output_size = {flow.output_size}, found {hift.in_channels}")
    if f0.in_channels != hift.in_channels:
        raise ip.fail(fp, "in_channels", "hift.f0_predictor", f"must equal hift.in_channels = {hift.in_channels}")
    # ---- mel feature extractor (prompt features) ----
    MT = "matcha.utils.audio.mel_spectrogram"
    n = ip.node(ip.top("feat_extractor", "!name:" + MT), "feat_extractor", MT)
    fmax = n["fmax"]
    feat = FeatConfig(
        n_fft=ip.int_(n, "n_fft", "feat_extractor", 1),
        num_mels=ip.int_(n, "num_mels", "feat_extractor", 1),
        sampling_rate=ip.int_(n, "sampling_rate", "feat_extractor", 1),
        hop_size=ip.int_(n, "hop_size", "feat_extractor", 1),
        win_size=ip.int_(n, "win_size", "feat_extractor", 1),
        fmin=ip.float_(n, "fmin", "feat_extractor", 0.0),
        fmax=None if fmax is None else ip.float_(n, "fmax", "feat_extractor", 0.0, lo_open=True),
        center=ip.bool_(n, "center", "feat_extractor"))
    if feat.win_size > feat.n_fft:
        raise ip.fail(n, "win_size", "feat_extractor", f"must be <= n_fft = {feat.n_fft}, found {feat.win_size}")
    if feat.fmax is not None and not (feat.fmin < feat.fmax <= feat.sampling_rate / 2):
        raise ip.fail(n, "fmax", "feat_extractor", f"expected fmin < fmax <= sampling_rate/2, found {feat.fmax}")
    if feat.sampling_rate != sample_rate:
        raise ip.fail(n, "sampling_rate", "feat_extractor", f"must equal sample_rate = {sample_rate}")
    if feat.num_mels != flow.output_size:
        raise ip.fail(n, "num_mels", "feat_extractor", f"must equal flow.output_size = {flow.output_size}")
    if feat.hop_size != hift.samples_per_frame:
        raise ip.fail(n, "hop_size", "feat_extractor",
                      f"must equal the vocoder's samples per frame prod(upsample_rates)*hop_len = "
                      f"{hift.samples_per_frame}, found {feat.hop_size}")
    if feat.hop_size * flow.input_frame_rate * flow.token_mel_ratio != sample_rate:
        raise ip.fail(n, "hop_size", "feat_extractor",
                      f"hop_size * flow.input_frame_rate * token_mel_ratio must equal sample_rate = {sample_rate}")

    # ---- tokenizer ----
    TT = "cosyvoice.tokenizer.tokenizer.get_qwen_tokenizer"
    n = ip.node(ip.top("get_tokenizer", "!name:" + TT), "get_tokenizer", TT)
    allowed = ip.top("allowed_special", "a string such as 'all'")
    if not isinstance(allowed, str):
        raise _err(F, None, "allowed_special", f"expected a string, found {_describe(allowed)}")
    tok = TokenizerConfig(
        token_path=ip.str_(n, "token_path", "get_tokenizer"),
        skip_special_tokens=ip.bool_(n, "skip_special_tokens", "get_tokenizer"),
        version=ip.str_(n, "version", "get_tokenizer", ["cosyvoice3"]),
        allowed_special=allowed)

    token_frame_rate = top_int("token_frame_rate", 1, flow.input_frame_rate)
    token_mel_ratio = top_int("token_mel_ratio", 1, flow.token_mel_ratio)
    if dit.static_chunk_size % flow.token_mel_ratio:
        raise ip.fail(de, "static_chunk_size", dpath,
                      f"must be a multiple of token_mel_ratio = {flow.token_mel_ratio}, found {dit.static_chunk_size}")
    chunk_size = top_int("chunk_size", 1, dit.static_chunk_size // flow.token_mel_ratio)
    left = doc.get("num_decoding_left_chunks", dit.num_decoding_left_chunks)
    if type(left) is not int:
        raise _err(F, None, "num_decoding_left_chunks", f"expected an integer, found {_describe(left)}")

    # ---- construction order (RNG offsets of the fixed noise buffers) ----
    msgs: List[str] = []
    targets = [t for _, t in ip.order]
    rng_ok = True
    try:
        i0 = targets.index(EXPECTED_RNG_ORDER[0])
        i1 = targets.index(EXPECTED_RNG_ORDER[-1])
        if tuple(targets[i0:i1 + 1]) != EXPECTED_RNG_ORDER:
            rng_ok = False
            msgs.append("construction order between the CFM and HiFT is "
                        + " -> ".join(t.rsplit(".", 1)[-1] for t in targets[i0:i1 + 1])
                        + ", expected " + " -> ".join(t.rsplit(".", 1)[-1] for t in EXPECTED_RNG_ORDER)
                        + "; upstream's HiFT source-noise buffer would come from a different RNG offset")
    except ValueError:
        rng_ok = False
        msgs.append("the CFM is not constructed before HiFT; upstream's fixed noise buffers would differ")
    for m in msgs:
        warnings.warn(f"{F}: {m}", stacklevel=3)

    return CosyVoice3Config(
        source=F, sample_rate=sample_rate, token_frame_rate=token_frame_rate, token_mel_ratio=token_mel_ratio,
        chunk_size=chunk_size, num_decoding_left_chunks=left, llm=llm, flow=flow, hift=hift, feat=feat,
        tokenizer=tok, seeds=tuple(ip.seeds), construction_order=tuple(ip.order), rng_order_ok=rng_ok,
        warnings=tuple(msgs))


def load_config(yaml_path: PathLike, qwen: Union[Qwen2Config, PathLike, None] = None,
                overrides: Optional[Dict[str, Any]] = None, text: Optional[str] = None) -> CosyVoice3Config:
    """Parse ``cosyvoice3.yaml``.

    ``qwen`` is a :class:`Qwen2Config`, a path to ``config.json``, or None to read
    ``<qwen_pretrain_path>/config.json`` (``qwen_pretrain_path`` as overridden, like
    upstream's ``CosyVoice3`` does with ``<model_dir>/CosyVoice-BlankEN``).
    ``text`` parses the given text instead of reading ``yaml_path`` (used in messages).
    """
    file = str(yaml_path)
    if text is None:
        try:
            text = Path(yaml_path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"{file}: cannot read: {e}") from None
    doc, top_lines = _parse_yaml(text, file, overrides)
    ip = _Interp(file, doc, top_lines)
    if not isinstance(qwen, Qwen2Config):
        if qwen is None:
            n = ip.node(ip.top("llm", "!new:cosyvoice.llm.llm.CosyVoice3LM"), "llm", "cosyvoice.llm.llm.CosyVoice3LM")
            enc = ip.node(n["llm"], "llm.llm", "cosyvoice.llm.llm.Qwen2Encoder", ip.line_of(n, "llm"))
            base = enc["pretrain_path"]
            if not isinstance(base, str) or not base:
                raise ip.fail(enc, "pretrain_path", "llm.llm",
                              "is empty; pass the Qwen2 config.json or override qwen_pretrain_path")
            qwen = Path(base) / "config.json"
        qwen = read_qwen2_config(qwen)
    return _interpret(ip, qwen)


def load_model_dir(model_dir: PathLike) -> CosyVoice3Config:
    """Read ``<model_dir>/cosyvoice3.yaml`` with ``qwen_pretrain_path`` set to
    ``<model_dir>/CosyVoice-BlankEN`` (what upstream's ``CosyVoice3`` does)."""
    model_dir = Path(model_dir)
    blank = model_dir / "CosyVoice-BlankEN"
    return load_config(model_dir / "cosyvoice3.yaml", blank / "config.json",
                       overrides={"qwen_pretrain_path": str(blank)})
