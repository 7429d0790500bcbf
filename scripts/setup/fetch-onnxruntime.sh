#!/usr/bin/env bash
# Put ONNX Runtime (CPU, linux-x64 or linux-arm64) into PREFIX using only the npm registry and
# Debian's archive.
#
#   library: libonnxruntime.so.1 (official Microsoft build) from the npm package onnxruntime-node
#            (bin/napi-v6/linux/x64/ or .../linux/arm64/). `npm pack` is used: it runs no install
#            scripts. One tarball carries both architectures; ORT_ARCH chooses which library.
#   headers: C/C++ API headers from Debian trixie's libonnxruntime-dev, downloaded through a private
#            apt state under the cache (the machine's /etc/apt and /var/lib/apt are not touched and
#            nothing from trixie is installed). The C API is append-only, so these headers
#            (ORT_API_VERSION 21) work with the newer library.
#   The Debian mirror is the one this machine's apt sources already name.
#
# Users with an official ONNX Runtime release skip this: configure with -DONNXRUNTIME_ROOT=/path
# (or export ONNXRUNTIME_ROOT) pointing at a directory with include/ and lib/.
#
#   usage: fetch-onnxruntime.sh [PREFIX]     (default third_party/onnxruntime)
#   env:   ORT_ARCH=x64|arm64 (default: this machine's; `make cross-arm64` asks for arm64),
#          COSYVOICE_CACHE (default ~/.cache/cosyvoice-ort), FORCE=1 to redo
set -euo pipefail

ORT_NPM_VERSION=1.30.0
if [[ -z "${ORT_ARCH:-}" ]]; then   # default: this machine's architecture
  case "$(uname -m)" in aarch64|arm64) ORT_ARCH=arm64 ;; *) ORT_ARCH=x64 ;; esac
fi
case "$ORT_ARCH" in
  x64)   ORT_LIB_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23 ;;
  arm64) ORT_LIB_SHA256=1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76 ;;
  *) printf '[onnxruntime] ORT_ARCH=%s: expected x64 or arm64\n' "$ORT_ARCH" >&2; exit 2 ;;
esac
ORT_LIB_PATH=package/bin/napi-v6/linux/$ORT_ARCH/libonnxruntime.so.1
HDR_SUITE=trixie
HDR_PKG=libonnxruntime-dev
HDR_VERSION=1.21.0+dfsg-1
HDR_DEB_SHA256=14f7d959d5deacbcf1504830d4189f91fc67382b399ed9ae9d3aa9c4050ced08

PREFIX=${1:-third_party/onnxruntime}
CACHE=${COSYVOICE_CACHE:-$HOME/.cache/cosyvoice-ort}
STAMP="onnxruntime-node@${ORT_NPM_VERSION} + ${HDR_PKG}=${HDR_VERSION}"
[[ "$ORT_ARCH" == x64 ]] || STAMP="$STAMP ($ORT_ARCH)"   # x64 keeps the stamp older checkouts wrote
log() { printf '[onnxruntime] %s\n' "$*" >&2; }

if [[ -z "${FORCE:-}" && -f "$PREFIX/STAMP" && "$(cat "$PREFIX/STAMP")" == "$STAMP" \
      && -f "$PREFIX/lib/libonnxruntime.so.1" && -f "$PREFIX/include/onnxruntime_cxx_api.h" ]]; then
  log "up to date ($PREFIX)"; exit 0
fi
for t in npm apt-get dpkg-deb tar sha256sum; do
  command -v "$t" >/dev/null || { log "missing tool: $t (run scripts/setup/install-debian-deps.sh)"; exit 1; }
done
t0=$(date +%s)
mkdir -p "$CACHE/npm" "$PREFIX"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# 1. library
tgz="$CACHE/npm/onnxruntime-node-${ORT_NPM_VERSION}.tgz"
if [[ ! -s "$tgz" ]]; then
  log "downloading onnxruntime-node@${ORT_NPM_VERSION} from npm (~114 MB, once)"
  ( cd "$tmp" && npm pack --silent "onnxruntime-node@${ORT_NPM_VERSION}" >/dev/null ) \
    || { log "npm pack failed: is the npm registry reachable?"; exit 1; }
  mv "$tmp/onnxruntime-node-${ORT_NPM_VERSION}.tgz" "$tgz"
fi
tar -xzf "$tgz" -C "$tmp" "$ORT_LIB_PATH"
got=$(sha256sum "$tmp/$ORT_LIB_PATH" | cut -d' ' -f1)
if [[ "$got" != "$ORT_LIB_SHA256" ]]; then
  log "checksum mismatch for $ORT_LIB_PATH: got $got, expected $ORT_LIB_SHA256"; rm -f "$tgz"; exit 1
fi
rm -rf "$PREFIX/lib" "$PREFIX/include"; mkdir -p "$PREFIX/lib" "$PREFIX/include"
install -m 0755 "$tmp/$ORT_LIB_PATH" "$PREFIX/lib/"
ln -sfn libonnxruntime.so.1 "$PREFIX/lib/libonnxruntime.so"

# 2. headers from Debian's newer suite, private apt state
A="$CACHE/apt-$HDR_SUITE"
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/debs"
deb=$(ls "$A"/debs/${HDR_PKG}_*.deb 2>/dev/null | head -1 || true)
if [[ -z "$deb" ]]; then
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n "$mirror" ]] || mirror=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [[ -n "$mirror" ]] || { log "cannot find a Debian mirror in this machine's apt sources"; exit 1; }
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $HDR_SUITE main" > "$A/sources.list"
  APT=(-o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
       -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache"
       -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Sandbox::User=root")
  log "fetching $HDR_PKG headers from Debian $HDR_SUITE (signed index, ~10 MB, once)"
  apt-get -qq "${APT[@]}" update
  ( cd "$A/debs" && { apt-get -qq "${APT[@]}" download "${HDR_PKG}=${HDR_VERSION}" 2>/dev/null \
      || { log "$HDR_VERSION no longer in $HDR_SUITE; taking its current version"; apt-get -qq "${APT[@]}" download "$HDR_PKG"; }; } )
  deb=$(ls "$A"/debs/${HDR_PKG}_*.deb | head -1)
fi
deb_sha=$(sha256sum "$deb" | cut -d' ' -f1)
case "$(basename "$deb")" in
  "${HDR_PKG}_${HDR_VERSION}_"*) [[ "$deb_sha" == "$HDR_DEB_SHA256" ]] \
      || { log "checksum mismatch for $deb: got $deb_sha, expected $HDR_DEB_SHA256"; rm -f "$deb"; exit 1; } ;;
  *) log "note: using $(basename "$deb") (verified by apt against the signed index, not by our pin)" ;;
esac
dpkg-deb -x "$deb" "$tmp/dev"
cp -a "$tmp/dev/usr/include/onnxruntime/." "$PREFIX/include/"
api=$(sed -n 's/^#define ORT_API_VERSION \([0-9]*\).*/\1/p' "$PREFIX/include/onnxruntime_c_api.h")
{
  echo "library: npm onnxruntime-node@${ORT_NPM_VERSION} ${ORT_LIB_PATH#package/} sha256 $got"
  echo "headers: $(basename "$deb") sha256 $(sha256sum "$deb" | cut -d' ' -f1) ORT_API_VERSION $api"
  echo "license: MIT (Microsoft onnxruntime)"
} > "$PREFIX/PROVENANCE.txt"
echo "$STAMP" > "$PREFIX/STAMP"
log "ready in $PREFIX ($(( $(date +%s) - t0 )) s; ORT ${ORT_NPM_VERSION} linux-$ORT_ARCH, headers API $api)"
