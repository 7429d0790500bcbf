#!/usr/bin/env bash
# check-fresh-machine.sh [REF] - the README's quick start on a brand-new Debian 12 machine.
#
# Builds a minimal Debian 12 (bookworm) root with `debootstrap --variant=minbase` plus only git, make
# and ca-certificates, clones this repository's commit REF (default HEAD: what is committed, never the
# work tree) into it, and runs the README's two commands inside it with chroot, as root:
#     make demo    then    make test
# It exits with the status of the first that fails, after printing the time of every phase; with
# status 75 when this machine cannot build a root at all (not root, no mount, debootstrap or the
# mirror unavailable, no git checkout): nothing about the project was tested then, and .ci/run
# runs `make test` on the machine itself instead, saying why.
#
# What the root gets from the host, and nothing else (no caches, no build trees, no environment):
#   * the Debian mirror this host's apt uses (its /etc/apt/sources.list.d/*.sources, or the first
#     mirror of /etc/apt/sources.list), and /etc/resolv.conf (debootstrap copies it, for DNS);
#   * behind a TLS-inspecting proxy, what the host uses to reach the package registries: its extra
#     trusted CA certificates (/usr/local/share/ca-certificates/*.crt, installed in the root with
#     update-ca-certificates) and its npm configuration files (/etc/npmrc, ~/.npmrc) bound read-only;
#     http_proxy/https_proxy/no_proxy (either case) when set.
#
#   usage: sudo scripts/check-fresh-machine.sh [REF]
#   env:   FRESH_WORKDIR    directory for the root (default: a new /var/tmp/cosyvoice-fresh.XXXXXX)
#          KEEP_ROOT=1      keep the root afterwards (default: unmount and delete it on every exit path)
#          FRESH_APT_CACHE  a directory of downloaded .deb files kept between runs (created if absent;
#                           unset: none). debootstrap (--cache-dir) and apt in the root read and fill
#                           it, so a second run does not download the same ~580 MB (~990 files)
#                           again (47 s at 11.7 MB/s here; more on a slow link). It changes
#                           nothing that is proven: both install only the versions the mirror's
#                           signed indexes name and verify every cached file's checksum against them
#                           (a stale or corrupt file is downloaded again). .ci/run sets it.
# Needs root (debootstrap, mount, chroot), about 8 GB of disk and network access to the mirror and npm.
set -euo pipefail

SUITE=bookworm
INCLUDE=git,make,ca-certificates
log() { printf '[fresh] %s\n' "$*"; }
die() { printf '[fresh] error: %s\n' "$*" >&2; exit 1; }
cannot() { printf '[fresh] cannot build a fresh root here: %s\n' "$*" >&2; exit 75; }

[[ $(id -u) -eq 0 ]] || cannot "needs root (debootstrap, mount and chroot): run it with sudo"
unshare -m mount -t tmpfs none /mnt 2>/dev/null || cannot "mounting is not allowed (a container without CAP_SYS_ADMIN?)"
src=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel 2>/dev/null) || cannot "$(dirname "$0")/.. is not a git checkout"

ref=${1:-HEAD}
commit=$(git -C "$src" rev-parse --verify --quiet "$ref^{commit}") || die "'$ref' is not a commit of $src"

# ---- phase timing ----------------------------------------------------------------------------
t_start=$(date +%s)
times=()
phase_done() { times+=("$1 $(( $(date +%s) - $2 )) s"); }
summary() {
  local line
  line=$(printf '%s; ' "${times[@]}")
  log "phase times: ${line%; } - total $(( $(date +%s) - t_start )) s"
}

# ---- the root and its mounts; cleaned up on every exit path ----------------------------------
own_work=
if [[ -z "${FRESH_WORKDIR:-}" ]]; then own_work=1; fi
work=${FRESH_WORKDIR:-$(mktemp -d /var/tmp/cosyvoice-fresh.XXXXXX)}
mkdir -p "$work"
root=$(realpath "$work")/root
[[ ! -e "$root" ]] || die "$root exists already: remove it or choose another FRESH_WORKDIR"

mounts_under_root() {  # mount points at or below $root, deepest first
  awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
child=
cleanup() {
  local status=$? m
  trap - EXIT INT TERM
  if [[ -n "$child" ]]; then  # a command still running in the root (interrupted): end its process group
    kill -TERM -- "-$child" 2>/dev/null || true
    sleep 3
    kill -KILL -- "-$child" 2>/dev/null || true
  fi
  while read -r m; do
    [[ -n "$m" ]] && { umount "$m" 2>/dev/null || umount -l "$m" || true; }
  done < <(mounts_under_root)
  if [[ -n "$(mounts_under_root)" ]]; then
    log "still mounted under $root, NOT deleting it:"; mounts_under_root >&2
  elif [[ -z "${KEEP_ROOT:-}" ]]; then
    rm -rf "$root"
    if [[ -n "$own_work" ]]; then rm -rf "$work"; fi
  else
    log "kept the root: $root"
  fi
  summary
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. debootstrap --------------------------------------------------------------------------
host_mirror() {
  local m
  m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n "$m" ]] || m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
                        /etc/apt/sources.list 2>/dev/null || true)
  echo "${m:-http://deb.debian.org/debian}"
}
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap on this host"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends debootstrap \
    || { apt-get -o DPkg::Lock::Timeout=600 update -q \
         && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends debootstrap; } \
    || cannot "debootstrap is not installed and apt-get could not install it"
fi
mirror=$(host_mirror)
cache_args=()
if [[ -n "${FRESH_APT_CACHE:-}" ]]; then
  mkdir -p "$FRESH_APT_CACHE/partial" || die "FRESH_APT_CACHE=$FRESH_APT_CACHE: cannot create that directory"
  FRESH_APT_CACHE=$(realpath "$FRESH_APT_CACHE")
  log "package cache: $FRESH_APT_CACHE ($(find "$FRESH_APT_CACHE" -maxdepth 1 -name '*.deb' | wc -l) .deb files)"
  cache_args=(--cache-dir="$FRESH_APT_CACHE")
fi
t=$(date +%s)
log "debootstrap --variant=minbase --include=$INCLUDE ${cache_args[*]} $SUITE $root $mirror"
debootstrap --variant=minbase --include="$INCLUDE" "${cache_args[@]}" "$SUITE" "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; cannot "debootstrap failed (log above)"; }
phase_done debootstrap "$t"
# What Debian's official container image (debian:bookworm) sets: dpkg skips fsync per file. It changes
# no package and no result, only how long unpacking ~800 packages takes.
echo force-unsafe-io > "$root/etc/dpkg/dpkg.cfg.d/unsafe-io"

# ---- 2. what the root needs from the host, and the clone --------------------------------------
t=$(date +%s)
if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then   # the host's mirror, all its suites
  cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/"
  : > "$root/etc/apt/sources.list"
fi
mount -t proc proc "$root/proc"
for d in sys dev; do mount --rbind "/$d" "$root/$d"; mount --make-rslave "$root/$d"; done
if [[ -n "${FRESH_APT_CACHE:-}" ]]; then  # apt in the root keeps what it downloads (its default) there
  mount --bind "$FRESH_APT_CACHE" "$root/var/cache/apt/archives"
fi
certs=(/usr/local/share/ca-certificates/*.crt)
if [[ -e "${certs[0]}" ]]; then
  log "trusting the host's extra CA certificates: ${certs[*]##*/}"
  cp "${certs[@]}" "$root/usr/local/share/ca-certificates/"
fi
chroot "$root" update-ca-certificates >/dev/null
bind_ro() {  # bind_ro HOST_FILE ROOT_PATH
  touch "$root$2"; mount --bind "$1" "$root$2"; mount -o remount,bind,ro "$root$2"
}
[[ -f /etc/npmrc ]] && bind_ro /etc/npmrc /etc/npmrc
[[ -f "$HOME/.npmrc" ]] && bind_ro "$HOME/.npmrc" /root/.npmrc
git clone -q --no-checkout "file://$src" "$root/root/cosyvoice-ort"
if ! git -C "$root/root/cosyvoice-ort" cat-file -e "$commit^{commit}" 2>/dev/null; then
  # a detached HEAD (as in CI) is on no branch: fetch that commit by name
  git -C "$root/root/cosyvoice-ort" fetch -q --upload-pack="git -c uploadpack.allowAnySHA1InWant=true upload-pack" \
    origin "$commit" || die "could not fetch $commit from $src"
fi
git -C "$root/root/cosyvoice-ort" -c advice.detachedHead=false checkout -q --detach "$commit"
log "cloned $src at $(git -C "$src" log -1 --format='%h %s' "$commit")"
phase_done setup "$t"

# ---- 3. the README's commands, as a new user runs them -----------------------------------------
env_in=(HOME=/root LANG=C.UTF-8 TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [[ -n "${!v:-}" ]] && env_in+=("$v=${!v}")
done
in_root() {  # in_root NAME COMMAND: run COMMAND in the clone inside the root, timed
  local t0 status=0
  t0=$(date +%s)
  log "running '$2' in the fresh root"
  # its own session and process group, so that cleanup can end all of it on an interrupt
  setsid chroot "$root" /usr/bin/env -i "${env_in[@]}" /bin/bash -c "cd /root/cosyvoice-ort && $2" &
  child=$!
  wait "$child" || status=$?
  child=
  phase_done "$1" "$t0"
  if (( status != 0 )); then log "FAILED: '$2' exited with status $status at $commit"; exit "$status"; fi
}
in_root demo "make demo"
in_root test "make test"
log "PASSED: make demo and make test on a fresh Debian $SUITE root at $commit"
