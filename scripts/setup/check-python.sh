#!/usr/bin/env bash
# Fail, naming each missing one and its Debian package, unless every Python module the exporter,
# the reference and the tests import is importable by PYTHON (default /usr/bin/python3).
#   usage: check-python.sh [PYTHON]     `make deps` installs them (scripts/setup/install-debian-deps.sh)
set -uo pipefail
PY=${1:-/usr/bin/python3}
[[ -x "$PY" ]] || { echo "[python] $PY not found: run 'make deps'" >&2; exit 1; }
"$PY" - <<'PYCODE'
import importlib, sys
# module -> Debian package providing it (keep in step with install-debian-deps.sh)
PKG = {"torch": "python3-torch", "torchaudio": "python3-torchaudio", "onnx": "python3-onnx",
       "numpy": "python3-numpy", "yaml": "python3-yaml", "regex": "python3-regex",
       "soundfile": "python3-soundfile", "pytest": "python3-pytest", "inflect": "python3-inflect"}
missing = []
for mod, pkg in PKG.items():
    try:
        importlib.import_module(mod)
    except Exception as e:  # ImportError, or a broken install raising something else
        missing.append((mod, pkg, f"{type(e).__name__}: {e}"))
for mod, pkg, why in missing:
    print(f"[python] {sys.executable} cannot import {mod} ({why}); Debian package {pkg}", file=sys.stderr)
if missing:
    print("[python] run 'make deps', or: apt-get install --no-install-recommends "
          + " ".join(p for _, p, _ in missing), file=sys.stderr)
    sys.exit(1)
PYCODE
