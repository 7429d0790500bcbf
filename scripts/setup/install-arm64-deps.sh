#!/usr/bin/env bash
# Install what the aarch64 cross build and its emulated tests need (`make cross-arm64`,
# `make test-arm64`), only what is missing:
#   - the arm64 architecture in dpkg (Debian multiarch), so that `:arm64` -dev packages install
#     next to the amd64 ones (all of them are Multi-Arch: same; headers are shared, libraries go to
#     /usr/lib/aarch64-linux-gnu);
#   - crossbuild-essential-arm64 (aarch64-linux-gnu-g++) and qemu-user-static (runs the aarch64
#     test programs; called explicitly, so no binfmt_misc registration is needed).
# Idempotent: when everything is present it returns in well under a second. Fails loudly (exit 1)
# when something is missing and cannot be installed.
#   usage: install-arm64-deps.sh [--check]   (--check: list what is missing, install nothing)
set -euo pipefail
log() { printf '[deps-arm64] %s\n' "$*" >&2; }

HOST_PKGS=(crossbuild-essential-arm64 qemu-user-static)
# The same libraries install-debian-deps.sh installs for the native build (link-libs.sh), for arm64.
source "$(dirname "${BASH_SOURCE[0]}")/link-libs.sh"
ARM64_PKGS=("${LINK_LIBS[@]}")

want=("${HOST_PKGS[@]}")
for p in "${ARM64_PKGS[@]}"; do want+=("$p:arm64"); done
missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
has_arch() { dpkg --print-foreign-architectures | grep -qx arm64; }

if ((${#missing[@]} == 0)) && has_arch; then
  log "Debian packages for the aarch64 build: all present"; exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  has_arch || log "dpkg has no arm64 architecture (dpkg --add-architecture arm64)"
  ((${#missing[@]} == 0)) || log "missing Debian packages: ${missing[*]}"
  exit 1
fi
command -v dpkg >/dev/null && command -v apt-get >/dev/null \
  || { log "this needs Debian's dpkg/apt (multiarch); on other systems see docs/platforms.md"; exit 1; }
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { log "need root or sudo to install: ${missing[*]}"; exit 1; }
  SUDO="sudo"
fi
t0=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
if ! has_arch; then
  log "adding the arm64 architecture to dpkg and refreshing the package lists (~10 MB)"
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
fi
log "installing ${#missing[@]} Debian packages: ${missing[*]}"
# :arm64 packages must match their amd64 twins' versions; refresh the lists if that fails.
if ! $SUDO "${APT[@]}" install "${missing[@]}"; then
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
  $SUDO "${APT[@]}" install "${missing[@]}" \
    || { log "cannot install ${missing[*]} (is the Debian mirror reachable and does it carry arm64?)"; exit 1; }
fi
log "installed in $(( $(date +%s) - t0 )) s"
