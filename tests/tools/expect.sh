#!/usr/bin/env bash
# expect.sh EXIT_CODE REGEX -- COMMAND [ARGS...]
# Runs COMMAND; passes when it exits with EXIT_CODE and its stdout+stderr matches REGEX (grep -E).
set -u
want_code=$1 regex=$2
shift 2
[[ "${1:-}" == "--" ]] && shift
output=$("$@" 2>&1)
code=$?
status=0
if [[ "$code" != "$want_code" ]]; then
  echo "FAIL: exit code $code, expected $want_code"; status=1
fi
if ! grep -Eq -- "$regex" <<<"$output"; then
  echo "FAIL: output does not match /$regex/"; status=1
fi
echo "---- output of: $*"
echo "$output"
exit $status
