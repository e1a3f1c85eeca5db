#!/usr/bin/env bash
# CPU speed of Forge's interpreter, of the same model compiled by `forge
# compile`, and (where given) of llama.cpp's llama-bench, on `forge synth`
# models of real shapes, measured side by side in one run.
#
# Usage: bench/cpu_bench.sh [-t THREADS] [-r REPS] [--cpu CPU] [--llama-bench PATH] [--models DIR]
#   Models are written by `forge synth` into DIR (default /tmp/forge-bench-models) and compiled
#   there (`forge compile --cpu CPU`, default native: the program is built for this machine, as
#   llama.cpp is) when missing or older than forge. llama-bench is llama.cpp's, built outside this repository
#   (docs/performance.md says how).
# Prints a Markdown table: pp512 and tg128 tokens/s of each, tg as a fraction of the bandwidth roof
# (weight bytes read per token over this machine's measured read bandwidth), and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 reps=3 llama_bench="" models=/tmp/forge-bench-models cpu=native
while [ $# -gt 0 ]; do
  case $1 in
    -t) threads=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    --cpu) cpu=$2; shift 2 ;;
    --llama-bench) llama_bench=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
forge=$PWD/build/forge
data=$PWD/../shared/data
mkdir -p "$models"
py() { python3 -c "$1"; }
# Median of the tokens/s a compiled program prints over `reps` runs.
compiled_tps() {  # program args... -> "pp tg"
  local out vals=()
  for _ in $(seq "$reps"); do
    out=$("$@" 2>/dev/null)
    vals+=("$(echo "$out" | sed -n 's/.*prompt [0-9]* tokens \([0-9.]*\) tok\/s, generation [0-9]* tokens \([0-9.]*\) tok\/s.*/\1 \2/p')")
  done
  printf '%s\n' "${vals[@]}" | sort -n -k2 | sed -n "$(( (reps + 1) / 2 ))p"
}
ids=$(py "import random; random.seed(1); print(','.join(str(random.randrange(1000, 20000)) for _ in range(512)))")

cases=("smollm2-135m Q8_0" "smollm2-135m Q4_0" "llama-3.2-1b Q4_0" "llama-3.2-1b Q4_K_M")
echo "| model | type | interp pp512 | interp tg128 | tg/roof | compiled pp512 | compiled tg128 | compiled tg/roof | compiled/interp pp | compiled/interp tg | llama.cpp pp512 | llama.cpp tg128 | compiled/llama.cpp pp | compiled/llama.cpp tg |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in "${cases[@]}"; do
  set -- $c
  preset=$1 type=$2
  file="$models/$preset-$type.gguf"
  prog="$models/$preset-$type.compiled-$cpu"
  [ -f "$file" ] || "$forge" synth --preset "$preset" --type "$type" -o "$file" --data "$data" >/dev/null 2>&1
  if [ ! -x "$prog/model" ] || [ "$prog/model" -ot "$forge" ]; then
    "$forge" compile -m "$file" --target cpu -o "$prog" --max-context 1024 --max-batch 512 -t "$threads" --cpu "$cpu" >&2
  fi
  j=$("$forge" bench -m "$file" -p 512 -n 128 -r "$reps" -t "$threads" --roof --json 2>/dev/null)
  ipp=$(echo "$j" | py 'import json,sys; d=json.load(sys.stdin); print("%.1f" % [r for r in d["results"] if r["test"]=="pp512"][0]["tokens_per_second"])')
  itg=$(echo "$j" | py 'import json,sys; d=json.load(sys.stdin); print("%.2f" % [r for r in d["results"] if r["test"]=="tg128"][0]["tokens_per_second"])')
  roof=$(echo "$j" | py 'import json,sys; d=json.load(sys.stdin); print(d["tg_roof_tokens_per_second"])')
  iroof=$(py "print('%.0f%%' % (100*$itg/$roof))")
  cpp=$(compiled_tps "$prog/model" --tokens "$ids" --bench -n 1 --greedy -t "$threads" | cut -d' ' -f1)
  ctg=$(compiled_tps "$prog/model" --tokens 1 --bench -n 128 --greedy -t "$threads" | cut -d' ' -f2)
  croof=$(py "print('%.0f%%' % (100*$ctg/$roof))")
  ipr=$(py "print('%.2fx' % ($cpp/$ipp))")
  itr=$(py "print('%.2fx' % ($ctg/$itg))")
  lpp="-" ltg="-" rpp="-" rtg="-"
  if [ -n "$llama_bench" ]; then
    lj=$("$llama_bench" -m "$file" -t "$threads" -p 512 -n 128 -r "$reps" -o json 2>/dev/null)
    lpp=$(echo "$lj" | py 'import json,sys; d=json.load(sys.stdin); print("%.1f" % [r for r in d if r["n_prompt"]>0][0]["avg_ts"])')
    ltg=$(echo "$lj" | py 'import json,sys; d=json.load(sys.stdin); print("%.2f" % [r for r in d if r["n_gen"]>0][0]["avg_ts"])')
    rpp=$(py "print('%.2fx' % ($cpp/$lpp))")
    rtg=$(py "print('%.2fx' % ($ctg/$ltg))")
  fi
  echo "| $preset | $type | $ipp | $itg | $iroof | $cpp | $ctg | $croof | $ipr | $itr | $lpp | $ltg | $rpp | $rtg |"
done
