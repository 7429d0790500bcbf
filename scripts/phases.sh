#!/usr/bin/env bash
# phases.sh LABEL NAME COMMAND [NAME COMMAND]... - run COMMANDs in order (each with bash -c), print
# how long each took and the total. The first one that fails stops the sequence: its name, time and
# exit status are printed with the times so far, and that status is returned.
# `make demo`, `make test` and the other public targets are such sequences (see the Makefile).
set -uo pipefail
label=$1; shift
(( $# % 2 == 0 )) || { echo "usage: $0 LABEL NAME COMMAND [NAME COMMAND]..." >&2; exit 2; }

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t_start=$(now)
summary=()
report() {  # report [FAILED-NAME] -> one line with every phase time and the total
  local line
  line=$(IFS=','; echo "${summary[*]}")
  echo "[$label] phase times:${line//,/;} - total $(seconds "$t_start" "$(now)") s${1:+ (failed in '$1')}"
}
while (( $# )); do
  name=$1 cmd=$2; shift 2
  t0=$(now)
  bash -eo pipefail -c "$cmd"
  status=$?
  summary+=(" $name $(seconds "$t0" "$(now)") s")
  if (( status != 0 )); then
    echo "[$label] FAILED in phase '$name' (exit status $status): $cmd" >&2
    report "$name" >&2
    exit "$status"
  fi
done
report
