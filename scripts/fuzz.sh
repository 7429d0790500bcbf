#!/usr/bin/env bash
# Runs the libFuzzer targets (docs/fuzzing.md): `make fuzz` calls it after building them.
#   usage: scripts/fuzz.sh BUILD_DIR SECONDS JOBS [TARGET...]   (default: every target)
# Each target starts from its seed corpus and regression inputs (tests/fuzz/corpus/<t>/,
# tests/fuzz/regressions/<t>/) plus what earlier runs in BUILD_DIR learned, runs SECONDS, and prints
# one summary line: executions, executions/s, coverage (cov: edges, ft: features), corpus size.
# JOBS targets run at a time. Exits non-zero when any target finds a crash, leak, timeout or OOM;
# the input is left in BUILD_DIR/fuzz-work/artifacts/<t>/ and the log's end is printed.
set -uo pipefail
[[ $# -ge 3 ]] || { echo "usage: scripts/fuzz.sh BUILD_DIR SECONDS JOBS [TARGET...]" >&2; exit 2; }
# A missing build directory would make every path below relative to / (and write /fuzz-work).
build=$(cd "$1" 2>/dev/null && pwd) || { echo "scripts/fuzz.sh: $1: no such build directory (make build-fuzz)" >&2; exit 2; }
secs=$2 jobs=$3
shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(audio voice_file bundle_config npy tokenizer normalizer)
work=$build/fuzz-work
mkdir -p "$work"

run_one() {
  local t=$1 corpus=$work/corpus/$1 artifacts=$work/artifacts/$1
  mkdir -p "$corpus" "$artifacts"
  for seeds in "$root/tests/fuzz/corpus/$t" "$root/tests/fuzz/regressions/$t"; do
    [[ -d $seeds ]] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null
  done
  local dict=()
  [[ -f $root/tests/fuzz/$t.dict ]] && dict=(-dict="$root/tests/fuzz/$t.dict")
  # 2 GB RSS / 1 GB per allocation: an input that makes the reader allocate more is a finding.
  "$build/bin/fuzz_$t" "$corpus" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$work/$t.log" 2>&1
  local rc=$?
  local execs rate cov ft units
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$work/$t.log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$work/$t.log" | tail -n 1 | cut -d' ' -f2)
  units=$(find "$corpus" -type f | wc -l)
  printf '[fuzz] %-14s %s  %10s execs  %7s exec/s  cov %5s  ft %6s  corpus %5s  (%s s)\n' "$t" \
    "$([[ $rc -eq 0 ]] && echo ok || echo FAIL)" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$units" "$secs"
  if [[ $rc -ne 0 ]]; then
    echo "[fuzz] $t failed (exit $rc); input in $artifacts/; end of $work/$t.log:"
    tail -n 40 "$work/$t.log"
    return 1
  fi
}
export LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0"
export -f run_one
export root build secs work
start=$(date +%s)
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'
status=$?
echo "[fuzz] ${#targets[@]} targets, ${secs} s each, $jobs at a time: $(( $(date +%s) - start )) s"
exit $status
