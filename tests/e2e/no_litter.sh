#!/usr/bin/env bash
# no_litter.sh CLI ARGS... -- runs the CLI (e.g. `tts ... -o OUT`) with an empty HOME, TMPDIR and
# XDG directories and a fresh working directory, and fails if anything was written anywhere but
# the output: the fresh directories must stay empty, and - where strace works - no file outside
# the output's directory may be created, opened for writing, renamed or removed (that catches
# /tmp, $HOME and absolute paths alike). The literal word OUTDIR in ARGS is replaced by a fresh
# output directory, which must end up holding exactly one file.
# ONNX Runtime's telemetry also stays quiet under CI variables, so they are removed here: the test
# must see what a user's shell would do.
set -u
root=$(mktemp -d "${TMPDIR:-/tmp}/cosyvoice-litter.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{home,tmp,xdg-cache,xdg-config,xdg-data,xdg-state,xdg-runtime,cwd,out}
chmod 700 "$root/xdg-runtime"
args=()
for a in "$@"; do args+=("${a//OUTDIR/$root/out}"); done

run_env=(env -u CI -u TF_BUILD -u GITHUB_ACTIONS -u GITLAB_CI -u JENKINS_URL -u BUILDKITE -u CIRCLECI
  -u TRAVIS -u ORT_DISABLE_TELEMETRY -u ORT_RUNNING_UNIT_TESTS -u COSYVOICE_ORT_TELEMETRY
  HOME="$root/home" TMPDIR="$root/tmp" XDG_CACHE_HOME="$root/xdg-cache" XDG_CONFIG_HOME="$root/xdg-config"
  XDG_DATA_HOME="$root/xdg-data" XDG_STATE_HOME="$root/xdg-state" XDG_RUNTIME_DIR="$root/xdg-runtime")
status=0
tracer=()
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
  tracer=(strace -f -qq -o "$root/trace.log" -e trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,truncate,symlink,link)
else
  echo "note: strace unavailable; checking the fresh directories only"
fi
(cd "$root/cwd" && "${run_env[@]}" "${tracer[@]}" "${args[@]}") >"$root/output.log" 2>&1
code=$?
cat "$root/output.log"
if [[ $code -ne 0 ]]; then echo "FAIL: exit code $code"; status=1; fi

for d in home tmp xdg-cache xdg-config xdg-data xdg-state xdg-runtime cwd; do
  left=$(find "$root/$d" -mindepth 1 | sed "s|^$root/||")
  if [[ -n "$left" ]]; then echo "FAIL: written under \$$d:"; echo "$left"; status=1; fi
done
outputs=$(find "$root/out" -mindepth 1 | wc -l)
if [[ $outputs -ne 1 ]]; then echo "FAIL: expected exactly one output file, found:"; find "$root/out"; status=1; fi

if [[ -f "$root/trace.log" ]]; then
  # successful calls that write: creating/truncating/appending opens, and every directory or name change
  # (the output directory itself is opened O_TMPFILE for the unnamed temporary file linked into place)
  writes=$(grep -vE ' = -1 |<unfinished|resumed>' "$root/trace.log" |
    grep -E 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND|creat\(|mkdir|rename|unlink|rmdir|truncate|symlink|link\(' |
    grep -vE "\"$root/out(/|\")|\"/dev/(null|tty|pts/|shm/)|\"/proc/self/" || true)
  if [[ -n "$writes" ]]; then echo "FAIL: files written outside the output directory:"; echo "$writes"; status=1; fi
fi
[[ $status -eq 0 ]] && echo "ok: nothing written but $(find "$root/out" -mindepth 1 -printf '%f')"
exit $status
