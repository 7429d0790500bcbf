"""Strict loading of the released ``llm.pt``, ``flow.pt`` and ``hift.pt``, and weight-norm folding.

All three files are plain state dicts loaded upstream with ``strict=True``; the key names
and shapes are listed in spec-verification §3.A (llm.pt 293 keys including the tied
``llm.model.lm_head.weight``; flow.pt 330 keys including the persistent buffer
``decoder.estimator.rotary_embed.inv_freq``; hift.pt 328 keys with weight-norm
parametrizations).

* A missing key, an unexpected key or a wrong shape raises :class:`CheckpointError`, which
  names the file, the key, and the expected and found shapes (all problems are listed).
* HiFT: ``<m>.parametrizations.weight.original0`` (g, [out, 1, 1]) and ``original1`` (v,
  [out, in, k]) -- or the legacy ``<m>.weight_g`` / ``<m>.weight_v`` -- are folded into
  ``<m>.weight = g * v / ||v||`` (norm over all dims but 0, no epsilon).  A leading
  ``generator.`` prefix (a HiFiGan checkpoint) is stripped.
* Models are built on the ``meta`` device and the loaded tensors become their parameters
  directly, so the weights exist once in memory (the 2 GB llm.pt is not copied).
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union

import torch
from torch import nn

from . import hparams
from .hparams import CosyVoice3Config, FlowConfig, HiFTConfig, LLMConfig
from .models import CausalHiFTGenerator, CausalMaskedDiffWithDiT, CosyVoice3LM, weight_norm_module_names

__all__ = ["CheckpointError", "torch_load", "fold_weight_norm", "unfold_weight_norm", "state_shapes",
           "released_state_shapes", "fold_hift_state", "load_state_strict", "load_llm", "load_flow",
           "load_hift", "load_model_dir", "LoadedModel", "WN_G", "WN_V"]

PathLike = Union[str, Path]
WN_G = ".parametrizations.weight.original0"
WN_V = ".parametrizations.weight.original1"
_LEGACY_G = ".weight_g"
_LEGACY_V = ".weight_v"
_MAX_LISTED = 25


class CheckpointError(ValueError):
    """A checkpoint does not match the model's released key names or shapes."""


def _shape(t) -> List[int]:
    return list(t.shape)


def torch_load(path: PathLike) -> Dict[str, torch.Tensor]:
    """``torch.load(path, map_location="cpu")`` with ``weights_only=True`` when supported;
    the result must be a flat ``{str: Tensor}`` dict."""
    kwargs = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = True
    try:
        obj = torch.load(str(path), **kwargs)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except Exception as e:  # unpickling errors come in many types
        raise CheckpointError(f"{path}: cannot load: {type(e).__name__}: {e}") from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: expected a state dict (a mapping), found {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path}: expected a flat {{name: tensor}} state dict; entry {bad[0]!r} is not one")
    return dict(obj)


def fold_weight_norm(g: torch.Tensor, v: torch.Tensor, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """``W = g * v / ||v||`` with the L2 norm over all dims but 0 and no epsilon.

    Computed in float64 and rounded once to ``dtype`` (default ``v.dtype``).  Upstream
    recomputes W from (g, v) in the module's dtype on every forward (float32, float64 for
    the F0 predictor); rounding a float64 result instead differs by at most 1 ulp."""
    out = dtype or v.dtype
    v64 = v.to(torch.float64)
    norm = v64.reshape(v64.shape[0], -1).norm(p=2, dim=1)
    w = v64 * (g.to(torch.float64).reshape(-1) / norm).reshape((-1,) + (1,) * (v.dim() - 1))
    return w.to(out)


def unfold_weight_norm(w: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The (g [out, 1, ..], v) pair torch's ``weight_norm`` creates from a weight: g = ||w||, v = w."""
    g = w.reshape(w.shape[0], -1).norm(p=2, dim=1).reshape((-1,) + (1,) * (w.dim() - 1))
    return g.to(w.dtype), w.clone()


def state_shapes(model: nn.Module) -> "OrderedDict[str, Tuple[List[int], torch.dtype]]":
    """Keys of ``model.state_dict()`` (works on meta modules) -> (shape, dtype)."""
    return OrderedDict((k, (_shape(v), v.dtype)) for k, v in model.state_dict(keep_vars=True).items())


def released_state_shapes(model: nn.Module) -> "OrderedDict[str, List[int]]":
    """The key -> shape list of the released checkpoint for ``model``, in upstream's order.
    For HiFT, each weight-normed ``<m>.weight`` becomes ``<m>.bias`` followed by
    ``<m>.parametrizations.weight.original0`` [out, 1, 1] and ``original1`` (the weight shape),
    which is where torch's parametrization puts them in ``state_dict()``."""
    shapes = state_shapes(model)
    if not isinstance(model, CausalHiFTGenerator):
        return OrderedDict((k, s) for k, (s, _) in shapes.items())
    wn = set(weight_norm_module_names(model))
    out: "OrderedDict[str, List[int]]" = OrderedDict()
    for k, (s, _) in shapes.items():
        mod, _, name = k.rpartition(".")
        if mod in wn and name == "weight":
            continue
        out[k] = s
        if mod in wn and name == "bias":
            w = shapes[mod + ".weight"][0]
            out[mod + WN_G] = [w[0]] + [1] * (len(w) - 1)
            out[mod + WN_V] = w
    return out


def fold_hift_state(state: Mapping[str, torch.Tensor], model: CausalHiFTGenerator, source: str) -> Dict[str, torch.Tensor]:
    """Map a released hift state dict onto ``model``'s folded keys (strips ``generator.``,
    accepts parametrization and legacy weight-norm keys).  Missing/unexpected/shape problems
    of the weight-norm pairs raise :class:`CheckpointError`; the rest is left to
    :func:`load_state_strict`."""
    exp = state_shapes(model)
    wn = set(weight_norm_module_names(model))
    out: Dict[str, torch.Tensor] = {}
    pairs: Dict[str, Dict[str, Tuple[str, torch.Tensor]]] = {}
    problems: List[str] = []
    for key, t in state.items():
        # upstream does key.replace('generator.', '') anywhere in the key; only a leading prefix
        # can occur in a generator or HiFiGan state dict, so only that is stripped here
        k = key[len("generator."):] if key.startswith("generator.") else key
        for suffix, role in ((WN_G, "g"), (WN_V, "v"), (_LEGACY_G, "g"), (_LEGACY_V, "v")):
            if k.endswith(suffix):
                mod = k[: -len(suffix)]
                if mod not in wn:
                    problems.append(f"unexpected key '{key}' (shape {_shape(t)}): '{mod}' has no weight norm")
                else:
                    slot = pairs.setdefault(mod, {})
                    if role in slot:
                        problems.append(f"key '{key}': weight norm {role} of '{mod}' given twice "
                                        f"(also as '{slot[role][0]}')")
                    slot[role] = (key, t)
                break
        else:
            if k in out:
                problems.append(f"key '{key}' given twice (with and without the 'generator.' prefix)")
            out[k] = t
    for mod in wn:
        wshape = exp[mod + ".weight"][0]
        dtype = exp[mod + ".weight"][1]
        gshape = [wshape[0]] + [1] * (len(wshape) - 1)
        slot = pairs.get(mod, {})
        if mod + ".weight" in out:
            problems.append(f"unexpected key '{mod}.weight' (shape {_shape(out[mod + '.weight'])}): the release "
                            f"stores this conv weight-normed as '{mod}{WN_G}' / '{mod}{WN_V}'")
            del out[mod + ".weight"]
        ok = True
        for role, suffix, want in (("g", WN_G, gshape), ("v", WN_V, wshape)):
            if role not in slot:
                problems.append(f"missing key '{mod}{suffix}' (expected shape {want})")
                ok = False
                continue
            key, t = slot[role]
            got = _shape(t)
            if got != want and not (role == "g" and got == want[:1]):
                problems.append(f"key '{key}': expected shape {want}, found {got}")
                ok = False
        if ok:
            out[mod + ".weight"] = fold_weight_norm(slot["g"][1], slot["v"][1], dtype)
    if problems:
        raise _problems(source, problems)
    return out


def _problems(source: str, problems: List[str]) -> CheckpointError:
    listed = problems[:_MAX_LISTED]
    more = f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
    return CheckpointError(f"{source}: {len(problems)} problem(s) loading the state dict:\n  "
                           + "\n  ".join(listed) + more)


def _set_tensor(model: nn.Module, key: str, t: torch.Tensor) -> None:
    mod_path, _, name = key.rpartition(".")
    owner = model.get_submodule(mod_path) if mod_path else model
    if name in owner._parameters:
        setattr(owner, name, nn.Parameter(t, requires_grad=False))
    elif name in owner._buffers:
        setattr(owner, name, t)
    else:  # cannot happen for keys taken from state_dict()
        raise KeyError(key)


def load_state_strict(model: nn.Module, state: Mapping[str, torch.Tensor], source: str,
                      tied: Optional[Mapping[str, str]] = None) -> nn.Module:
    """Put ``state`` into ``model`` (typically built on ``meta``) by assignment, strictly.

    Every key of ``model.state_dict()`` must be present with the same shape and no other key
    may be.  Floating tensors are converted to the parameter's dtype (float64 for the F0
    predictor).  ``tied`` maps alias keys to their source key (e.g. the tied lm_head); an
    alias must be present and hold the same values, and is not assigned separately.
    """
    tied = dict(tied or {})
    exp = state_shapes(model)
    problems: List[str] = []
    for k, (s, _) in exp.items():
        if k not in state:
            problems.append(f"missing key '{k}' (expected shape {s})")
    for k, t in state.items():
        if k not in exp:
            problems.append(f"unexpected key '{k}' (shape {_shape(t)})")
            continue
        s, dt = exp[k]
        if _shape(t) != s:
            problems.append(f"key '{k}': expected shape {s}, found {_shape(t)}")
        elif not t.is_floating_point():
            problems.append(f"key '{k}': expected a floating-point tensor, found {t.dtype}")
    for alias, src in tied.items():
        if alias in state and src in state and not problems:
            a, b = state[alias], state[src]
            same = a.data_ptr() == b.data_ptr() and a.stride() == b.stride()
            if not same and not torch.equal(a.to(b.dtype), b):
                problems.append(f"key '{alias}': must equal '{src}' (tie_word_embeddings is true), but differs")
    if problems:
        raise _problems(source, problems)
    for k, (s, dt) in exp.items():
        if k in tied:
            continue
        t = state[k]
        _set_tensor(model, k, t if t.dtype == dt else t.to(dt))
    if hasattr(model, "tie_weights"):
        model.tie_weights()
    left = [n for n, p in list(model.named_parameters()) + list(model.named_buffers()) if p.is_meta]
    if left:
        raise CheckpointError(f"{source}: internal error, tensors left unloaded: {left[:5]}")
    model.eval()
    return model


def _tied_keys(model: CosyVoice3LM) -> Dict[str, str]:
    return dict(CosyVoice3LM.TIED_KEYS) if model.cfg.qwen.tie_word_embeddings else {}


def load_llm(path_or_state: Union[PathLike, Mapping[str, torch.Tensor]], cfg: LLMConfig,
             source: Optional[str] = None) -> CosyVoice3LM:
    state, source = _state(path_or_state, source)
    model = CosyVoice3LM(cfg, device="meta")
    return load_state_strict(model, state, source, _tied_keys(model))


def load_flow(path_or_state: Union[PathLike, Mapping[str, torch.Tensor]], cfg: FlowConfig,
              source: Optional[str] = None) -> CausalMaskedDiffWithDiT:
    state, source = _state(path_or_state, source)
    return load_state_strict(CausalMaskedDiffWithDiT(cfg, device="meta"), state, source)


def load_hift(path_or_state: Union[PathLike, Mapping[str, torch.Tensor]], cfg: HiFTConfig,
              source: Optional[str] = None) -> CausalHiFTGenerator:
    state, source = _state(path_or_state, source)
    model = CausalHiFTGenerator(cfg, device="meta")
    return load_state_strict(model, fold_hift_state(state, model, source), source)


def _state(path_or_state, source: Optional[str]) -> Tuple[Mapping[str, torch.Tensor], str]:
    if isinstance(path_or_state, (str, Path)):
        return torch_load(path_or_state), source or str(path_or_state)
    return path_or_state, source or "<state dict>"


@dataclass
class LoadedModel:
    config: CosyVoice3Config
    llm: Optional[CosyVoice3LM]
    flow: Optional[CausalMaskedDiffWithDiT]
    hift: Optional[CausalHiFTGenerator]


def load_model_dir(model_dir: PathLike, components: Iterable[str] = ("llm", "flow", "hift")) -> LoadedModel:
    """Read the config of a released (or ``tiny``) model directory and load the chosen components."""
    model_dir = Path(model_dir)
    cfg = hparams.load_model_dir(model_dir)
    comps = set(components)
    unknown = comps - {"llm", "flow", "hift"}
    if unknown:
        raise ValueError(f"unknown components {sorted(unknown)}")
    llm = load_llm(model_dir / "llm.pt", cfg.llm) if "llm" in comps else None
    flow = load_flow(model_dir / "flow.pt", cfg.flow) if "flow" in comps else None
    hift = load_hift(model_dir / "hift.pt", cfg.hift) if "hift" in comps else None
    return LoadedModel(cfg, llm, flow, hift)
