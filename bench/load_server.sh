#!/usr/bin/env bash
# Starts `cosyvoice serve` on a bundle, adds a voice, runs bench/load_server against it, stops it.
#   bench/load_server.sh BUNDLE CLIENTS REQUESTS [load_server options...]
#   env: CLI (build/bin/cosyvoice), LOAD (build/bin/load_server), WORKERS (server --workers), PROMPT,
#        SERVE_ARGS (more `serve` options, e.g. "--precision llm=int4,flow=int8")
# Example (the issue's check on the tiny model): bench/load_server.sh models/tiny/bundle 16 60 \
#   --max-errors 0 --max-rss-growth-mb 50
set -euo pipefail
bundle=$1 clients=$2 requests=$3
shift 3
CLI=${CLI:-build/bin/cosyvoice}
LOAD=${LOAD:-build/bin/load_server}
PROMPT=${PROMPT:-/usr/share/sounds/alsa/Front_Center.wav}
log=$(mktemp)
# shellcheck disable=SC2086  # SERVE_ARGS is a list of options
"$CLI" serve -m "$bundle" --port 0 ${WORKERS:+--workers $WORKERS} --queue $((clients * 2)) ${SERVE_ARGS:-} >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 6000); do  # up to 10 min: a full-size bundle takes a while to load
  port=$(grep -o 'listening on http://[^ ]*:[0-9]*/ ' "$log" | sed 's/.*:\([0-9]*\)\/ $/\1/') || true
  [[ -n "$port" ]] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "server did not start"; cat "$log"; exit 1; }
curl -sS -o /dev/null -F name=front -F "transcript=Front center." -F "audio=@$PROMPT" "http://127.0.0.1:$port/v1/audio/voices"
grep -E 'listening' "$log"
rc=0
"$LOAD" --port "$port" --clients "$clients" --requests "$requests" --voice front --pid $pid "$@" || rc=$?
if [[ $rc -ne 0 ]]; then  # what the server said about the failed requests
  echo "server log (last 40 lines):"
  tail -n 40 "$log"
fi
exit $rc
