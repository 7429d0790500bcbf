"""``variant``: look at one variant of a bundle as a bundle of its own, and record its A/B verdict.

    /usr/bin/python3 -m cosyvoice_export variant view BUNDLE flow/int8 OUT
    /usr/bin/python3 -m cosyvoice_export variant record BUNDLE flow/int8 REPORT_DIR/ab.json

``view`` writes OUT: hard links (copies across file systems) of BUNDLE's files and a format-1.0
``config.json`` whose base fields of the variant's family name the variant's files. It is what
``cosyvoice ab --variant-model`` judges against BUNDLE, and what an engine that does not select
variants (``--precision``) runs.

``record`` writes the verdict of ``cosyvoice ab`` (its ``ab.json``) into the variant's ``gate`` in
BUNDLE's ``config.json`` (docs/bundle.md §7, docs/quantization.md §5): ``passed``, or ``failed`` -
a failed variant stays in the bundle, marked, and ``--precision auto`` never takes it. The
``ab.json`` must judge exactly the variant's family (``families``) and name the thresholds it used.
config.json is replaced atomically; nothing else is written.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
from pathlib import Path
from typing import List, Optional, Tuple

HELP = "view a variant as a bundle (for cosyvoice ab) and record its A/B gate verdict in config.json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    v = sub.add_parser("view", help="write a bundle whose base files of one family are the variant's")
    v.add_argument("bundle", type=Path)
    v.add_argument("variant", help="FAMILY/NAME, e.g. flow/int8")
    v.add_argument("out", type=Path, help="new directory (must not exist unless --force)")
    v.add_argument("--force", action="store_true", help="replace OUT")
    r = sub.add_parser("record", help="write an ab.json verdict into the variant's gate in config.json")
    r.add_argument("bundle", type=Path)
    r.add_argument("variant", help="FAMILY/NAME, e.g. flow/int8")
    r.add_argument("ab_json", type=Path, help="ab.json written by `cosyvoice ab --report DIR`")
    r.add_argument("--provider", default=None,
                   help="execution provider the gate ran on (default: the first of ab.json's providers, else cpu)")


def _parse_name(text: str) -> Tuple[str, str]:
    family, sep, name = text.partition("/")
    if not sep or not family or not name:
        raise ValueError(f"variant {text!r}: expected FAMILY/NAME, e.g. flow/int8")
    return family, name


def _find(config: dict, bundle: Path, text: str) -> Tuple[str, dict]:
    from .export import variants as V

    family, name = _parse_name(text)
    entry = V.find(config, family, name)
    if entry is None:
        have = [f"{f}/{v['name']}" for f, vs in config.get("variants", {}).items() for v in vs]
        raise ValueError(f"{bundle}/config.json: no variant {text} (the bundle has: {', '.join(have) or 'none'})")
    return family, entry


def view_config(config: dict, family: str, entry: dict) -> dict:
    """The config of the view: the family's fields name the variant's files; no variants (1.0)."""
    from .export import variants as V

    out = json.loads(json.dumps(config))
    for key, rel in entry["files"].items():
        section = out[family]
        *parents, leaf = key.split(".")
        for k in parents:
            section = section[k]
        section[leaf] = rel
    out.pop("variants", None)
    out["format_version"] = V.FORMAT_WITHOUT_VARIANTS
    return out


def view(bundle: Path, text: str, out: Path, force: bool = False) -> Path:
    from .quantize import _link_tree, _load_config, _write_config

    config = _load_config(bundle)
    family, entry = _find(config, bundle, text)
    if out.exists():
        if not force:
            raise ValueError(f"{out}: exists (pass --force to replace it)")
        shutil.rmtree(out)
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        _link_tree(bundle, tmp, list(config["files"]))
        os.unlink(tmp / "config.json")          # the link to BUNDLE's config must not be written through
        _write_config(tmp / "config.json", view_config(config, family, entry))
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def gate_from_ab(ab: dict, family: str, provider: str, report: str) -> dict:
    """The ``gate`` object of docs/bundle.md §7 from ``cosyvoice ab``'s ab.json."""
    for key in ("status", "families", "cases", "figures", "thresholds"):
        if key not in ab:
            raise ValueError(f"ab.json: field {key}: missing (expected the file `cosyvoice ab --report` writes)")
    if ab["status"] not in ("passed", "failed"):
        raise ValueError(f"ab.json: field status: expected passed or failed, got {ab['status']!r}")
    if ab["families"] != family:
        raise ValueError(f"ab.json: judged the families {ab['families']!r}, not exactly {family!r}: "
                         f"compare a view of this variant alone (`variant view`) with the fp32 bundle")
    if not ab["figures"] or set(ab["figures"]) != set(ab["thresholds"]):
        raise ValueError("ab.json: fields figures/thresholds: expected the same non-empty set of metrics")
    return {"status": ab["status"], "provider": provider, "tool": ab.get("tool", "cosyvoice ab"),
            "date": ab.get("date") or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cases": int(ab["cases"]), "figures": ab["figures"], "thresholds": ab["thresholds"], "report": report}


def record(bundle: Path, text: str, ab_json: Path, provider: Optional[str] = None) -> dict:
    from .export import variants as V
    from .quantize import _load_config, _write_config

    config = _load_config(bundle)
    family, entry = _find(config, bundle, text)
    with open(ab_json, encoding="utf-8") as f:
        ab = json.load(f)
    report = Path(ab_json).resolve().with_name(ab.get("report", "report.md"))
    provider = provider or str(ab.get("providers", "cpu")).split(",")[0]
    entry["gate"] = gate_from_ab(ab, family, provider, str(report))
    V.validate(config)
    _write_config(bundle / "config.json", config)
    return entry["gate"]


def main(args: argparse.Namespace) -> int:
    from .export.onnx_io import ExportError
    from .export.variants import VariantError

    try:
        if args.action == "view":
            out = view(args.bundle, args.variant, args.out, args.force)
            print(f"wrote {out} ({args.variant} of {args.bundle} as its base files)")
        elif args.action == "record":
            gate = record(args.bundle, args.variant, args.ab_json, args.provider)
            print(f"{args.bundle}/config.json: {args.variant} gate {gate['status']} ({gate['cases']} cases)")
        else:
            print("error: variant: give an action: view or record", file=sys.stderr)
            return 2
    except (ExportError, VariantError, ValueError, OSError, json.JSONDecodeError) as e:
        print(f"error: variant {args.action} failed: {e}", file=sys.stderr)
        return 1
    return 0


__all__: List[str] = ["view", "record", "view_config", "gate_from_ab"]
