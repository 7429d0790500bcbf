"""Shared helpers for the frontend/sampling/noise/ort tests (no pytest fixtures, no conftest).

Importing this module puts ``python/`` on sys.path so ``cosyvoice_export`` imports without an
installed package or a conftest.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PYTHON_DIR.parent
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

THIRD_PARTY = REPO_ROOT / "third_party"
QWEN2_TOKENIZER_JSON = THIRD_PARTY / "qwen2-tokenizer" / "tokenizer.json"
HF_NODE_TOKENIZERS = THIRD_PARTY / "node" / "tokenizers" / "index.js"
ORT_HEADER = THIRD_PARTY / "onnxruntime" / "include" / "onnxruntime_c_api.h"
ALSA_SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")   # Debian alsa-utils: a recorded voice


def node_binary():
    return shutil.which("node") or shutil.which("nodejs")


def c_compiler():
    return shutil.which("cc") or shutil.which("gcc")


def cxx_compiler():
    return shutil.which("c++") or shutil.which("g++")


def run_node(script: str, payload, timeout: float = 120.0):
    """Run a Node script that reads JSON from argv[2] and prints JSON to stdout."""
    with tempfile.TemporaryDirectory() as d:
        inp = Path(d) / "in.json"
        inp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        js = Path(d) / "run.js"
        js.write_text(script, encoding="utf-8")
        r = subprocess.run([node_binary(), str(js), str(inp)], capture_output=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("node failed (%d): %s" % (r.returncode, r.stderr.decode("utf-8", "replace")))
        return json.loads(r.stdout.decode("utf-8"))


def compile_and_run(source: str, lang: str = "c", args=(), timeout: float = 60.0) -> str:
    """Compile a small C/C++ program with the system compiler and return its stdout."""
    cc = c_compiler() if lang == "c" else cxx_compiler()
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / ("prog.c" if lang == "c" else "prog.cpp")
        src.write_text(source)
        exe = Path(d) / "prog"
        flags = ["-O1", "-std=c11"] if lang == "c" else ["-O1", "-std=c++17"]
        subprocess.run([cc, *flags, str(src), "-o", str(exe)], check=True, capture_output=True, timeout=timeout)
        r = subprocess.run([str(exe), *map(str, args)], check=True, capture_output=True, timeout=timeout)
        return r.stdout.decode()


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
