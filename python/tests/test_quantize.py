"""The ``quantize`` command and the ``variants`` section (docs/bundle.md §7) on the tiny model."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cosyvoice_export.export import variants as V
from cosyvoice_export.quantize import parse_spec

PY_DIR = Path(__file__).resolve().parents[1]


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=str(PY_DIR) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "cosyvoice_export", *map(str, args)], cwd=str(PY_DIR), env=env,
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def base_bundle(tmp_path_factory):
    """`make tiny-model`'s bundle when COSYVOICE_TINY points at it, else a fresh export."""
    env = os.environ.get("COSYVOICE_TINY")
    if env and (Path(env) / "bundle" / "config.json").is_file():
        return Path(env) / "bundle"
    ckpt = tmp_path_factory.mktemp("qtiny") / "model"
    r = _cli("tiny", "--out", ckpt)
    assert r.returncode == 0, r.stderr
    out = tmp_path_factory.mktemp("qexport") / "bundle"
    r = _cli("export", "--checkpoint", ckpt, "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def _snapshot(d: Path):
    return {p.relative_to(d).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in d.rglob("*") if p.is_file()}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def quantized(base_bundle, tmp_path_factory):
    before = _snapshot(base_bundle)
    out = tmp_path_factory.mktemp("quantized") / "bundle"
    r = _cli("quantize", base_bundle, "--out", out, "--llm", "fp32,panel,int8,int4", "--quiet")
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    assert _snapshot(base_bundle) == before, "quantize --out touched the source bundle"
    return out


def test_out_bundle_complete_and_valid(base_bundle, quantized):
    cfg = json.loads((quantized / "config.json").read_text(encoding="utf-8"))
    base = json.loads((base_bundle / "config.json").read_text(encoding="utf-8"))
    assert cfg["format_version"] == "1.1"
    V.validate(cfg)
    for rel, e in cfg["files"].items():
        p = quantized / rel
        assert p.is_file() and p.stat().st_size == e["bytes"], rel
        if rel not in base["files"]:
            assert _sha(p) == e["sha256"], rel
    # the base graphs and fields are unchanged; the variants add files
    assert {k: v for k, v in cfg["llm"].items()} == base["llm"]
    assert set(base["files"]) < set(cfg["files"])
    llm = {v["name"]: v for v in cfg["variants"]["llm"]}
    assert list(llm) == ["int4", "int8", "fp32-panel", "fp32-fused"]      # fastest first
    assert llm["fp32-fused"]["gate"]["status"] == llm["fp32-panel"]["gate"]["status"] == "parity"
    assert llm["fp32-panel"]["precision"] == "fp32" and llm["fp32-panel"]["providers"] == ["cpu"]
    assert llm["fp32-panel"]["quantization"]["products"] == "org.cosyvoice_ort.PanelMatMul"
    assert llm["int4"]["gate"]["status"] == llm["int8"]["gate"]["status"] == "untested"
    assert llm["int4"]["files"] == {"file": "llm/llm_fused_int4.onnx", "text_embedding": "llm/text_embedding_fp16.npy"}
    assert "llm/llm_fused_int4.onnx.data" in cfg["files"]
    assert llm["int4"]["quantization"]["bits"] == 4 and llm["int4"]["quantization"]["symmetric"] is True
    chk = cfg["checks"]
    for rel in ("llm/llm_fused_fp32.onnx", "llm/llm_fused_fp32_panel.onnx"):
        fused = chk[rel]                                 # within the derived bound it records (tol_fused_fp32)
        assert fused["max_rel_diff"] <= float(fused["tolerance"]["logits"].split("<=")[1]), rel
    for rel in ("llm/llm_fused_int8.onnx", "llm/llm_fused_int4.onnx"):
        assert "informational" in chk[rel]["tolerance"] and 0 <= chk[rel]["top1_agreement"] <= 1


def test_in_place_then_refuses_existing_names(base_bundle, tmp_path):
    work = tmp_path / "b"
    shutil.copytree(base_bundle, work, copy_function=os.link)
    r = _cli("quantize", work, "--llm", "int4", "--quiet")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((work / "config.json").read_text(encoding="utf-8"))
    assert [v["name"] for v in cfg["variants"]["llm"]] == ["int4"]
    assert not list(work.glob(".quantize-*")), "temporary directory left behind"
    snap = _snapshot(work)
    r = _cli("quantize", work, "--llm", "int4", "--quiet")
    assert r.returncode == 1 and "already has variant(s) llm/int4" in r.stderr and "--force" in r.stderr
    assert _snapshot(work) == snap
    r = _cli("quantize", work, "--llm", "int8", "--block-size", "64", "--quiet")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((work / "config.json").read_text(encoding="utf-8"))
    assert [v["name"] for v in cfg["variants"]["llm"]] == ["int4", "int8"]
    assert cfg["variants"]["llm"][1]["quantization"]["block_size"] == 64
    # added later, fp32-panel still comes before fp32-fused: --precision fp32 takes the first
    for llm in ("fp32", "panel"):
        r = _cli("quantize", work, "--llm", llm, "--quiet")
        assert r.returncode == 0, r.stderr
    cfg = json.loads((work / "config.json").read_text(encoding="utf-8"))
    assert [v["name"] for v in cfg["variants"]["llm"]] == ["int4", "int8", "fp32-panel", "fp32-fused"]


def test_bad_arguments(base_bundle, tmp_path):
    r = _cli("quantize", base_bundle, "--out", tmp_path / "x", "--llm", "int3")
    assert r.returncode == 1 and "int3" in r.stderr and not (tmp_path / "x").exists()
    r = _cli("quantize", tmp_path / "nowhere", "--out", tmp_path / "y")
    assert r.returncode == 1 and "config.json" in r.stderr
    assert not list(tmp_path.glob(".*partial*"))


def test_parse_spec():
    fams = {"llm": ("fp32", "int8", "int4"), "flow": ("int8", "fp16")}
    assert parse_spec("int8", fams) == {"llm": ["int8"], "flow": ["int8"]}
    assert parse_spec("llm=int4+int8,flow=fp16", fams) == {"llm": ["int4", "int8"], "flow": ["fp16"]}
    for bad in ("int2", "hift=int8", "flow=int4"):
        with pytest.raises(ValueError):
            parse_spec(bad, fams)


def _config_with(variant, family="llm", fmt="1.1"):
    return {"format_version": fmt, "files": {"llm/a.onnx": {"bytes": 1, "sha256": ""}}, "variants": {family: [variant]}}


GOOD = {"name": "int4", "precision": "int4", "providers": ["cpu"], "files": {"file": "llm/a.onnx"},
        "gate": {"status": "untested"}}


@pytest.mark.parametrize("change,where", [
    ({}, None),
    ({"precision": "int3"}, "precision"),
    ({"name": "Int 4"}, "name"),
    ({"providers": ["tpu"]}, "providers"),
    ({"files": {"estimator": "llm/a.onnx"}}, "files.estimator"),
    ({"files": {"file": "llm/missing.onnx"}}, "files.file"),
    ({"gate": {"status": "ok"}}, "gate.status"),
    ({"gate": {"status": "passed", "score": 1}}, "gate.score"),
    ({"speedup": {"cpu": -1}}, "speedup"),
    ({"extra": 1}, "extra"),
])
def test_validate_variants(change, where):
    v = dict(GOOD, **change)
    if where is None:
        V.validate(_config_with(v))
        return
    with pytest.raises(V.VariantError, match=f"variants.llm\\[0\\].{where.split('.')[0]}"):
        V.validate(_config_with(v))


def test_validate_section_level():
    with pytest.raises(V.VariantError, match="format_version"):
        V.validate(_config_with(GOOD, fmt="1.0"))
    with pytest.raises(V.VariantError, match="unknown family"):
        V.validate(_config_with(GOOD, family="vocoder"))
    cfg = _config_with(GOOD)
    cfg["variants"]["llm"].append(dict(GOOD))
    with pytest.raises(V.VariantError, match="duplicate"):
        V.validate(cfg)
    cfg = {"format_version": "1.0", "files": {"llm/a.onnx": {"bytes": 1}}}
    V.add(cfg, "llm", dict(GOOD))
    assert cfg["format_version"] == "1.1" and V.find(cfg, "llm", "int4")["precision"] == "int4"
