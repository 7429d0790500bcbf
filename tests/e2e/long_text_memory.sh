#!/usr/bin/env bash
# long_text_memory.sh BENCH BUNDLE PROMPT_WAV OUT_DIR - issue 14, "bounded memory": the peak RSS of
# a long text (here ~8 kB, 20+ segments) stays within 50 MB of a one-sentence run. The bound is the
# issue's requirement, not a measured value. Measured (tiny model): one sentence 99.4 MB, this text
# 136.2 MB (+36.8) with the shared arena (RuntimeConfig defaults) and long segments vocoded in windows
# (the 90 kB text: +47.0 MB, a benchmark in docs/memory.md); earlier, with an arena per graph
# (bench_long_text --per-graph-arenas) 104.0 and 174.5 MB (+70.5): the test fails on that
# (docs/memory.md). Peak RSS repeats within 0.1-2 MB between runs.
set -euo pipefail
bench=$1 bundle=$2 prompt=$3 out=$4
mkdir -p "$out"
subjects=("The committee" "A small dog" "Our neighbour" "The old train" "Every student" "The river" "My sister")
verbs=("walked quietly past" "looked carefully at" "arrived late for" "talked at length about" "painted a picture of")
objects=("the bright red house on the corner" "the meeting that started at ten thirty" "twenty-three blue umbrellas"
  "the festival in early March" "the quiet library" "the garden behind the school" "the mountain road")
text=""
i=0
while ((${#text} < 8000)); do
  text+="${subjects[i % 7]} ${verbs[i % 5]} ${objects[(i * 3) % 7]}. "
  ((i % 4 == 3)) && text+=$'\n'
  i=$((i + 1))
done
printf '%s' "$text" >"$out/long.txt"
printf '%s' "Hello! This sentence is spoken in a voice cloned from a three second prompt." >"$out/one.txt"

run() {  # prints the bench line; fails the test if the bench fails
  "$bench" "$bundle" "$prompt" "Front center." "$out/$1.txt" "$out/$1.wav"
}
one=$(run one)
long=$(run long)
echo "one sentence: $one"
echo "long text:    $long"
peak() { sed -n 's/.*peak RSS \([0-9.]*\) MB.*/\1/p' <<<"$1"; }
segments() { sed -n 's/.* \([0-9]*\) segments,.*/\1/p' <<<"$1"; }
p1=$(peak "$one") p2=$(peak "$long") n=$(segments "$long")
[[ -n "$p1" && -n "$p2" && -n "$n" ]] || { echo "FAIL: cannot read the bench's output"; exit 1; }
((n >= 20)) || { echo "FAIL: the long text gave $n segments, expected >= 20 (the check would be vacuous)"; exit 1; }
awk -v a="$p1" -v b="$p2" 'BEGIN {
  d = b - a; printf "peak RSS: one sentence %.1f MB, long text %.1f MB, difference %.1f MB (limit 50)\n", a, b, d
  exit (d <= 50) ? 0 : 1 }' || { echo "FAIL: long-text memory grew more than 50 MB over one sentence"; exit 1; }
