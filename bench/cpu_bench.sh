#!/usr/bin/env bash
# CPU speed of Forge's interpreter (and, where given, llama.cpp's llama-bench)
# on `forge synth` models of real shapes, measured side by side in one run.
#
# Usage: bench/cpu_bench.sh [-t THREADS] [-r REPS] [--llama-bench PATH] [--models DIR]
#   Models are written by `forge synth` into DIR (default /tmp/forge-bench-models) if missing.
#   llama-bench is llama.cpp's, built outside this repository (see docs/performance.md).
# Prints a Markdown table: pp512 and tg128 tokens/s, tg as a fraction of the
# bandwidth roof (weight bytes per token over measured read bandwidth), and
# the ratio to llama.cpp.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 reps=3 llama_bench="" models=/tmp/forge-bench-models
while [ $# -gt 0 ]; do
  case $1 in
    -t) threads=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    --llama-bench) llama_bench=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
forge=build/forge
data=../shared/data
mkdir -p "$models"
cases=("smollm2-135m Q8_0" "smollm2-135m Q4_0" "llama-3.2-1b Q4_0")
echo "| model | type | forge pp512 | forge tg128 | tg / roof | llama.cpp pp512 | llama.cpp tg128 | pp ratio | tg ratio |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for c in "${cases[@]}"; do
  set -- $c
  preset=$1 type=$2
  file="$models/$preset-$type.gguf"
  [ -f "$file" ] || "$forge" synth --preset "$preset" --type "$type" -o "$file" --data "$data" >/dev/null 2>&1
  j=$("$forge" bench -m "$file" -p 512 -n 128 -r "$reps" -t "$threads" --roof --json 2>/dev/null)
  fpp=$(echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.1f" % [r for r in d["results"] if r["test"]=="pp512"][0]["tokens_per_second"])')
  ftg=$(echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % [r for r in d["results"] if r["test"]=="tg128"][0]["tokens_per_second"])')
  froof=$(echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.0f%%" % (100*[r for r in d["results"] if r["test"]=="tg128"][0]["fraction_of_roof"]))')
  lpp="-" ltg="-" rpp="-" rtg="-"
  if [ -n "$llama_bench" ]; then
    lj=$("$llama_bench" -m "$file" -t "$threads" -p 512 -n 128 -r "$reps" -o json 2>/dev/null)
    lpp=$(echo "$lj" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.1f" % [r for r in d if r["n_prompt"]>0][0]["avg_ts"])')
    ltg=$(echo "$lj" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % [r for r in d if r["n_gen"]>0][0]["avg_ts"])')
    rpp=$(python3 -c "print('%.2fx' % ($fpp/$lpp))")
    rtg=$(python3 -c "print('%.2fx' % ($ftg/$ltg))")
  fi
  echo "| $preset | $type | $fpp | $ftg | $froof | $lpp | $ltg | $rpp | $rtg |"
done
