"""Shared fixtures.  Run from python/:  /usr/bin/python3 -m pytest -q

``tiny_dir`` writes one tiny model directory per session through the real command line
(``python -m cosyvoice_export tiny``); model-level tests build their weights in memory
from the same generators (no files needed).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PY_DIR = Path(__file__).resolve().parents[1]
if str(PY_DIR) not in sys.path:
    sys.path.insert(0, str(PY_DIR))

import fp32  # noqa: E402  (imports no torch)

# COSYVOICE_TEST_THREADS=N runs the suite with N threads everywhere: OpenBLAS/OpenMP (read when
# torch loads them, hence before the import below; the Makefile exports them too), torch's
# intra-op pool, and every ONNX Runtime session the tests open (fp32.threads()).
TEST_THREADS = fp32.threads()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, str(TEST_THREADS))

import torch  # noqa: E402

from cosyvoice_export import checkpoint, tiny  # noqa: E402

torch.set_num_threads(TEST_THREADS)
TINY_SEED = 0


@pytest.fixture(scope="session")
def tiny_cfg():
    return tiny.config_for(tiny.TINY)


@pytest.fixture(scope="session")
def full_cfg():
    return tiny.config_for(tiny.FULL)


@pytest.fixture(scope="session")
def tiny_llm(tiny_cfg):
    return checkpoint.load_llm(tiny.llm_state(tiny_cfg.llm, TINY_SEED), tiny_cfg.llm)


@pytest.fixture(scope="session")
def tiny_flow(tiny_cfg):
    return checkpoint.load_flow(tiny.flow_state(tiny_cfg.flow, TINY_SEED), tiny_cfg.flow)


@pytest.fixture(scope="session")
def tiny_hift(tiny_cfg):
    return checkpoint.load_hift(tiny.hift_state(tiny_cfg.hift, TINY_SEED), tiny_cfg.hift)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    if not tiny.DEFAULT_TOKENIZER_JSON.is_file():
        pytest.fail(f"{tiny.DEFAULT_TOKENIZER_JSON} is missing: run ./scripts/setup/fetch-npm-assets.sh "
                    f"in the repository root first")
    out = tmp_path_factory.mktemp("tiny") / "model"
    env = dict(os.environ, PYTHONPATH=str(PY_DIR) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "cosyvoice_export", "tiny", "--out", str(out),
                        "--seed", str(TINY_SEED)], cwd=str(PY_DIR), env=env, capture_output=True, text=True)
    assert r.returncode == 0, f"tiny failed:\n{r.stdout}\n{r.stderr}"
    return out


@pytest.fixture(scope="session")
def tiny_bundle(request, tmp_path_factory):
    """The bundle of `make tiny-model` when COSYVOICE_TINY points at it, else a fresh export (once per
    session: test_quant.py and test_winograd.py share it)."""
    env = os.environ.get("COSYVOICE_TINY")
    if env and (Path(env) / "bundle" / "config.json").is_file():
        return Path(env) / "bundle"
    from cosyvoice_export.export.bundle import export_bundle
    out = tmp_path_factory.mktemp("quant") / "bundle"
    export_bundle(request.getfixturevalue("tiny_dir"), out, log=lambda s: None)
    return out


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def ops_library():
    """The ops library of `make build` (libcosyvoice_ops.so: the project's operators): a failure, not
    a skip, when missing, since the variants that use them cannot be made or checked without it
    (test_winograd.py, test_panels.py)."""
    from cosyvoice_export import ort

    try:
        return ort.ops_library_path()
    except FileNotFoundError as e:
        pytest.fail(str(e))
