#!/usr/bin/env bash
# expect.sh EXIT_CODE REGEX [COUNT] -- COMMAND [ARGS...]
# Runs COMMAND; passes when it exits with EXIT_CODE and its stdout+stderr matches REGEX (grep -E):
# at least one line, or exactly COUNT lines when COUNT is given ("reported once" checks).
set -u
want_code=$1 regex=$2
shift 2
want_count=""
if [[ "${1:-}" != "--" && "${1:-}" =~ ^[0-9]+$ ]]; then want_count=$1; shift; fi
[[ "${1:-}" == "--" ]] && shift
output=$("$@" 2>&1)
code=$?
status=0
if [[ "$code" != "$want_code" ]]; then
  echo "FAIL: exit code $code, expected $want_code"; status=1
fi
count=$(grep -Ec -- "$regex" <<<"$output")
if [[ -z "$want_count" && "$count" == 0 ]]; then
  echo "FAIL: output does not match /$regex/"; status=1
elif [[ -n "$want_count" && "$count" != "$want_count" ]]; then
  echo "FAIL: $count lines match /$regex/, expected $want_count"; status=1
fi
echo "---- output of: $*"
echo "$output"
exit $status
