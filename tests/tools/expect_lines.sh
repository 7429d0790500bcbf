#!/usr/bin/env bash
# expect_lines.sh EXIT_CODE REGEX COUNT -- COMMAND [ARGS...]
# Runs COMMAND; passes when it exits with EXIT_CODE and exactly COUNT lines of its stdout+stderr
# match REGEX (grep -E): "reported once" checks, which expect.sh's single match cannot make.
set -u
want_code=$1 regex=$2 want_count=$3
shift 3
[[ "${1:-}" == "--" ]] && shift
output=$("$@" 2>&1)
code=$?
status=0
if [[ "$code" != "$want_code" ]]; then
  echo "FAIL: exit code $code, expected $want_code"; status=1
fi
count=$(grep -Ec -- "$regex" <<<"$output")
if [[ "$count" != "$want_count" ]]; then
  echo "FAIL: $count lines match /$regex/, expected $want_count"; status=1
fi
echo "---- output of: $*"
echo "$output"
exit $status
