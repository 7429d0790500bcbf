"""The ``variants`` section of ``config.json`` (docs/bundle.md §7): quantized / fused / half
precision alternatives of a family's files, with the A/B gate's verdict.

A bundle without variants is format 1.0; one with variants is 1.1 (:data:`FORMAT_WITH_VARIANTS`).
:func:`validate` checks the section the way the C++ loader does (same messages, field paths);
:func:`add` inserts or replaces one variant.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional

FORMAT_WITHOUT_VARIANTS = "1.0"
FORMAT_WITH_VARIANTS = "1.1"

# family (a top-level config section) -> its fields that name files (dotted: nested objects)
FAMILY_FILE_KEYS: Dict[str, tuple] = {
    "llm": ("file", "text_embedding", "speech_embedding"),
    "flow": ("encoder", "estimator", "estimator_chunk.file"),
    "hift": ("f0", "generator"),
    "frontend": ("speech_tokenizer.file", "campplus.file"),
}
PRECISIONS = ("fp32", "fp16", "int8", "int4")
GATE_STATUSES = ("untested", "passed", "failed", "parity")
PROVIDERS = ("cpu", "cuda", "webgpu")
VARIANT_KEYS = {"name", "precision", "providers", "files", "quantization", "speedup", "gate"}
GATE_KEYS = {"status", "provider", "tool", "date", "cases", "figures", "thresholds", "report"}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class VariantError(ValueError):
    """The variants section does not follow docs/bundle.md §7."""


def _fail(path: str, msg: str) -> None:
    raise VariantError(f"config.json: field {path}: {msg}")


def validate(config: dict) -> None:
    """Checks ``config["variants"]`` (if any) and that the format version fits it."""
    variants = config.get("variants")
    fmt = config.get("format_version")
    if variants is None:
        return
    if fmt != FORMAT_WITH_VARIANTS:
        _fail("format_version", f"a bundle with variants is format {FORMAT_WITH_VARIANTS}, got {fmt!r}")
    if not isinstance(variants, dict):
        _fail("variants", "expected an object of family -> list of variants")
    files = config.get("files", {})
    for family, entries in variants.items():
        where = f"variants.{family}"
        if family not in FAMILY_FILE_KEYS:
            _fail(where, f"unknown family; expected one of {', '.join(FAMILY_FILE_KEYS)}")
        if not isinstance(entries, list) or not entries:
            _fail(where, "expected a non-empty list of variants")
        names = set()
        for i, v in enumerate(entries):
            _validate_one(v, family, f"{where}[{i}]", files)
            if v["name"] in names:
                _fail(f"{where}[{i}].name", f"duplicate variant name {v['name']!r}")
            names.add(v["name"])


def _validate_one(v: dict, family: str, where: str, files: dict) -> None:
    if not isinstance(v, dict):
        _fail(where, "expected an object")
    unknown = sorted(set(v) - VARIANT_KEYS)
    if unknown:
        _fail(f"{where}.{unknown[0]}", "unknown key")
    for key in ("name", "precision", "providers", "files", "gate"):
        if key not in v:
            _fail(f"{where}.{key}", "missing")
    if not isinstance(v["name"], str) or not NAME_RE.match(v["name"]):
        _fail(f"{where}.name", f"expected [a-z0-9][a-z0-9_-]* (at most 40 characters), got {v['name']!r}")
    if v["precision"] not in PRECISIONS:
        _fail(f"{where}.precision", f"expected one of {', '.join(PRECISIONS)}, got {v['precision']!r}")
    provs = v["providers"]
    if not isinstance(provs, list) or not provs or any(p not in PROVIDERS for p in provs):
        _fail(f"{where}.providers", f"expected a non-empty list of {', '.join(PROVIDERS)}, got {provs!r}")
    fm = v["files"]
    if not isinstance(fm, dict) or not fm:
        _fail(f"{where}.files", "expected a non-empty object of field -> file")
    for key, rel in fm.items():
        if key not in FAMILY_FILE_KEYS[family]:
            _fail(f"{where}.files.{key}", f"not a file field of {family}; expected one of "
                                          f"{', '.join(FAMILY_FILE_KEYS[family])}")
        if not isinstance(rel, str) or rel not in files:
            _fail(f"{where}.files.{key}", f"{rel!r} is not listed in files")
    sp = v.get("speedup", {})
    if not isinstance(sp, dict) or any(p not in PROVIDERS or not isinstance(x, (int, float)) or x <= 0
                                       for p, x in sp.items()):
        _fail(f"{where}.speedup", "expected an object of provider -> positive number")
    gate = v["gate"]
    if not isinstance(gate, dict) or gate.get("status") not in GATE_STATUSES:
        _fail(f"{where}.gate.status", f"expected one of {', '.join(GATE_STATUSES)}")
    unknown = sorted(set(gate) - GATE_KEYS)
    if unknown:
        _fail(f"{where}.gate.{unknown[0]}", "unknown key")


def add(config: dict, family: str, variant: dict) -> dict:
    """Inserts ``variant`` into ``config`` (replacing one of the same name), sets the format version
    to 1.1 and validates; returns ``config``."""
    fam = config.setdefault("variants", {}).setdefault(family, [])
    fam[:] = [v for v in fam if v.get("name") != variant["name"]] + [variant]
    config["format_version"] = FORMAT_WITH_VARIANTS
    validate(config)
    return config


def untested_gate() -> dict:
    return {"status": "untested"}


def find(config: dict, family: str, name: str) -> Optional[dict]:
    for v in config.get("variants", {}).get(family, []):
        if v["name"] == name:
            return v
    return None


def files_of(config: dict) -> List[str]:
    """Every file some variant names."""
    return sorted({rel for fam in config.get("variants", {}).values() for v in fam for rel in v["files"].values()})
