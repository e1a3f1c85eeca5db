#!/bin/bash
# One device call: checks compiled CUDA models against the CPU interpreter on
# the GPU machine, then times forge synth models. Run from the repository root
# on the GPU machine, after bench/cuda/prepare.sh filled .gpu-data here:
#   bash bench/cuda/gpu_check.sh [check] [check-fuse] [check-gemm] [kernels] [speed] [speed-small] [selfcheck] [modes] [ab] [fuse] [profile] [timeline]
# (check-fuse and check-gemm need check in the same call: it reuses its programs and logits;
# modes, selfcheck, ab, fuse, profile and timeline need speed: they use its programs;
# SPEED_PRESETS="llama-3.2-3b ..." limits speed to those presets)
# Prints a table per part; JSON lines and logs go to $OUT (or /tmp/forge-gpu).
#
# The forge binary and the static libraries a generated project links were
# built on the development machine (Debian 12; the GPU machine runs a newer
# glibc), with the few shared libraries and -dev packages the GPU image lacks
# (utf8proc, pcre2 headers, cpp-httplib) carried in .gpu-data.
set -u
ROOT=$(pwd)
D=$ROOT/.gpu-data
OUT=${OUT:-/tmp/forge-gpu}
W=/tmp/forge-gpu-work
mkdir -p "$OUT" "$W"
PARTS="${*:-check speed}"

for f in "$D"/debs/*.deb; do dpkg -x "$f" /; done
cp --update=none "$D"/lib/libutf8proc.so.2 /usr/lib/x86_64-linux-gnu/libutf8proc.so.2.6.0  # the -dev package's link target
[ -e /usr/lib/x86_64-linux-gnu/libutf8proc.so.2 ] || ln -s libutf8proc.so.2.6.0 /usr/lib/x86_64-linux-gnu/libutf8proc.so.2
export LD_LIBRARY_PATH=$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Generated projects find cpp-httplib through pkg-config (the compiled runtime
# serves): the GPU image has no -dev package for it, so a minimal .pc over the
# carried library (model.cu and main.cpp do not include httplib.h).
PC=/tmp/forge-pc
mkdir -p $PC && ln -sf "$D/lib/libcpp-httplib.so.0.11" $PC/libcpp-httplib.so
printf 'Name: cpp-httplib\nDescription: carried\nVersion: 0.11.4\nLibs: -L%s -lcpp-httplib\nCflags:\n' $PC >$PC/cpp-httplib.pc
export PKG_CONFIG_PATH=$PC${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
# The carried build names its libraries by the development machine's paths.
mkdir -p /work
[ -e /work/main ] || ln -s "$ROOT" /work/main
if [ -f "$D/source-path" ]; then  # the build's source tree, when it was not this checkout
  mkdir -p "$(dirname "$(cat "$D/source-path")")" && ln -sfn "$D/source" "$(cat "$D/source-path")"
fi
B=$(cat "$D/build-name" 2>/dev/null || echo build-cuda)  # the build prepare.sh copied
[ -e "$ROOT/$B" ] || ln -s "$D/build-cuda" "$ROOT/$B"
FORGE=$ROOT/$B/forge
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
$FORGE --help >/dev/null 2>&1 || { echo "forge does not run here:"; ldd "$FORGE" | grep "not found"; exit 1; }

nvcc -O2 -arch=sm_90 bench/cuda/bandwidth.cu -o "$W/bandwidth" && "$W/bandwidth" | tee "$OUT/bandwidth.json"

# compile NAME MODEL CTX BATCH: emit and build one CUDA project into $W/NAME (sm_90 SASS;
# the carried forge may predate the codegen fix that puts --cuda-arch before project()).
compile() {
  local dir=$W/$1
  rm -rf "$dir"
  $FORGE compile -m "$2" -o "$dir" --target cuda --max-context "$3" --max-batch "$4" --emit-only >"$dir.log" 2>&1 &&
    cmake -S "$dir" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >>"$dir.log" 2>&1 &&
    cmake --build "$dir/build" >>"$dir.log" 2>&1 || { echo "$1: build failed"; tail -30 "$dir.log"; }
}
export -f compile
export FORGE W

TOK=1,15,200,42,7,99,100,5,64,128,3,250  # ids every test vocabulary (512) holds
if [[ " $PARTS " == *" check "* ]]; then
  F=$D/fixtures
  : >"$W/models.txt"
  echo "stories260K $D/stories260K.gguf" >>"$W/models.txt"
  for arch in llama qwen2 gemma gemma2 gemma3 phi3 stablelm stablelm-par mistral llama-tied-rope3; do
    [ -f "$F/$arch/model-f16.gguf" ] || continue
    echo "$arch-f16 $F/$arch/model-f16.gguf" >>"$W/models.txt"
    [ -f "$F/$arch/model-q8_0.gguf" ] && echo "$arch-q8_0 $F/$arch/model-q8_0.gguf" >>"$W/models.txt"
    for t in Q4_0 Q4_K_M; do  # the fixtures have these for llama-k only: quantize the F16 file here
      $FORGE quantize "$F/$arch/model-f16.gguf" "$W/$arch-$t.gguf" --type $t >/dev/null 2>&1 &&
        echo "$arch-$t $W/$arch-$t.gguf" >>"$W/models.txt"
    done
  done
  for t in f16 bf16 q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K_M Q5_K_M Q6_K; do
    echo "llama-k-$t $F/llama-k/model-$t.gguf" >>"$W/models.txt"
  done
  echo "== building $(wc -l <"$W/models.txt") CUDA programs"
  awk '{print $1, $2}' "$W/models.txt" | xargs -P 14 -n 2 bash -c 'compile "$0" "$1" 256 16' 2>&1 | tail -40
  : >"$OUT/check.jsonl"
  : >"$OUT/check-decode.jsonl"
  while read -r name model; do
    dir=$W/$name
    $FORGE logits -m "$model" --tokens $TOK --positions all --json >"$W/$name.il.json" 2>"$W/$name.il.err"
    FORGE_CUDA_KV_F32=1 "$dir/model" --tokens $TOK --logits >"$W/$name.cl.json" 2>"$W/$name.cl.err" || head -3 "$W/$name.cl.err"
    # the same logits one token a step: the decode kernels and their fusions
    FORGE_CUDA_KV_F32=1 FORGE_CUDA_STEP_TOKENS=1 "$dir/model" --tokens $TOK --logits >"$W/$name.dl.json" 2>"$W/$name.dl.err" ||
      head -3 "$W/$name.dl.err"
    $FORGE run -m "$model" -p "Once upon a time" --greedy -n 24 --ignore-eos --json --no-stats >"$W/$name.ir.json" 2>/dev/null
    "$dir/model" -p "Once upon a time" --greedy -n 24 --ignore-eos --json --no-stats >"$W/$name.cr.json" 2>"$W/$name.cr.err"
    # drawn with a seed, default sampling (top-k 40: the GPU hands the host its 41 highest logits)
    $FORGE run -m "$model" -p "Once upon a time" --seed 7 -n 24 --ignore-eos --json --no-stats >"$W/$name.is.json" 2>/dev/null
    "$dir/model" -p "Once upon a time" --seed 7 -n 24 --ignore-eos --json --no-stats >"$W/$name.cs.json" 2>"$W/$name.cs.err"
    FORGE_CUDA_TOP_LOGITS=0 "$dir/model" -p "Once upon a time" --seed 7 -n 24 --ignore-eos --json --no-stats \
      >"$W/$name.ca.json" 2>"$W/$name.ca.err"
    python3 bench/cuda/compare.py "$name" "$W/$name.il.json" "$W/$name.cl.json" "$W/$name.ir.json" "$W/$name.cr.json" \
      "$W/$name.is.json" "$W/$name.cs.json" "$W/$name.ca.json" | tee -a "$OUT/check.jsonl" >/dev/null
    python3 bench/cuda/compare.py "$name" "$W/$name.il.json" "$W/$name.dl.json" "$W/$name.ir.json" "$W/$name.cr.json" |
      tee -a "$OUT/check-decode.jsonl" >/dev/null
  done <"$W/models.txt"
  # Bad input: another model's weights, and the context limit.
  "$W/llama-f16/model" "$W/llama-q8_0/weights.bin" -p hi -n 2 2>&1 | tail -1 | tee "$OUT/errors.txt"
  "$W/stories260K/model" --tokens "$(python3 -c 'print(",".join(["5"]*300))')" --logits 2>&1 | tail -1 | tee -a "$OUT/errors.txt"
  python3 bench/cuda/table.py check "$OUT/check.jsonl"
  echo "== the same, the prompt one token a step (FORGE_CUDA_STEP_TOKENS=1: the decode kernels)"
  python3 bench/cuda/table.py check "$OUT/check-decode.jsonl"
  # Other samplers that draw from the GPU's selection (Sampler::top_needed): top-p or min-p
  # without top-k (the 128 highest logits and the row's softmax mass; where those do not decide
  # the token, the whole row), penalties with top-k or greedy (one candidate more a penalized
  # token). The program's tokens from the GPU's selection must equal those from all its logits.
  echo "== other samplers, 24 tokens, seed 7: the program's tokens from the GPU's selection against those from all its logits (must be equal), and against the interpreter's"
  : >"$OUT/check-samplers.txt"
  for name in stories260K llama-q8_0 llama-k-Q4_0 qwen2-Q4_K_M gemma2-f16; do
    model=$(awk -v n="$name" '$1 == n {print $2}' "$W/models.txt")
    [ -n "$model" ] || continue
    for s in "--top-k 0 --top-p 0.9" "--top-k 0 --top-p 1 --min-p 0.2" "--top-k 0 --top-p 0.5 --temp 0.7" \
      "--repeat-penalty 1.3 --presence-penalty 0.5" "--greedy --frequency-penalty 1.5"; do
      run=(-p "Once upon a time" --seed 7 -n 24 --ignore-eos --json --no-stats $s)
      $FORGE run -m "$model" "${run[@]}" >"$W/$name.xs.json" 2>/dev/null
      "$W/$name/model" "${run[@]}" >"$W/$name.xg.json" 2>/dev/null
      FORGE_CUDA_TOP_LOGITS=0 "$W/$name/model" "${run[@]}" >"$W/$name.xa.json" 2>/dev/null
      python3 -c '
import json, sys
def tokens(p):
    try:
        return json.load(open(p))["tokens"]
    except Exception:
        return None
i, g, a = (tokens(p) for p in sys.argv[3:6])
top = "missing run" if g is None or a is None else ("equal" if g == a else "DIFFER")
print("%-16s %-46s top: %-11s interpreter: %s" % (sys.argv[1], sys.argv[2], top,
      "missing run" if i is None or g is None else ("equal" if i == g else "differ")))
' "$name" "$s" "$W/$name.xs.json" "$W/$name.xg.json" "$W/$name.xa.json" | tee -a "$OUT/check-samplers.txt"
    done
  done
  echo "$(grep -c 'top: equal' "$OUT/check-samplers.txt") of $(wc -l <"$OUT/check-samplers.txt") runs: the GPU's selection gives the tokens all the logits give"
fi

# The prompt one token a step again, every program built with the decode
# fusions up to 64 values (codegen's FORGE_CUDA_FUSE_WIDTH): the fixtures'
# FFNs (128-512 wide) then take matvec_glu (the GLU in the gate/up blocks),
# which the default fusion width leaves to real-sized models.
if [[ " $PARTS " == *" check-fuse "* ]]; then  # after check
  awk '{print $1, $2}' "$W/models.txt" | FORGE_CUDA_FUSE_WIDTH=64 xargs -P 14 -n 2 bash -c 'compile "$0-f64" "$1" 256 16' 2>&1 | tail -20
  : >"$OUT/check-fuse.jsonl"
  while read -r name model; do
    FORGE_CUDA_KV_F32=1 FORGE_CUDA_STEP_TOKENS=1 "$W/$name-f64/model" --tokens $TOK --logits >"$W/$name.fl.json" 2>"$W/$name.fl.err" ||
      head -3 "$W/$name.fl.err"
    python3 bench/cuda/compare.py "$name" "$W/$name.il.json" "$W/$name.fl.json" "$W/$name.ir.json" "$W/$name.cr.json" |
      tee -a "$OUT/check-fuse.jsonl" >/dev/null
  done <"$W/models.txt"
  echo "== one token a step, decode fusions up to 64 values (FORGE_CUDA_FUSE_WIDTH=64; greedy column: the default build's run)"
  python3 bench/cuda/table.py check "$OUT/check-fuse.jsonl"
fi

# The same prompt logits with every prefill step through cuBLAS (the 12-token
# check above stays under the GEMM's default minimum of 16 rows), per mode.
if [[ " $PARTS " == *" check-gemm "* ]]; then
  GEMM_MODES=${GEMM_MODES:-mmq f32}  # tf32 f16 bf16: measured once, far off (docs/cuda.md)
  for mode in $GEMM_MODES; do
    : >"$OUT/check-gemm-$mode.jsonl"
    while read -r name model; do
      FORGE_CUDA_GEMM=$mode FORGE_CUDA_GEMM_MIN_ROWS=1 FORGE_CUDA_KV_F32=1 "$W/$name/model" --tokens $TOK --logits \
        >"$W/$name.gl.json" 2>"$W/$name.gl.err" || head -3 "$W/$name.gl.err"
      python3 bench/cuda/compare.py "$name" "$W/$name.il.json" "$W/$name.gl.json" "$W/$name.ir.json" "$W/$name.cr.json" |
        tee -a "$OUT/check-gemm-$mode.jsonl" >/dev/null
    done <"$W/models.txt"
    echo "== prefill through cuBLAS, FORGE_CUDA_GEMM=$mode (greedy column: the default build's run)"
    python3 bench/cuda/table.py check "$OUT/check-gemm-$mode.jsonl" | tail -1
  done
  python3 bench/cuda/table.py check-modes "$OUT/check.jsonl" $(for m in $GEMM_MODES; do echo "$OUT/check-gemm-$m.jsonl"; done)
fi

if [[ " $PARTS " == *" speed"* ]]; then
  presets="${SPEED_PRESETS:-smollm2-135m smollm2-360m llama-3.2-1b llama-3.2-3b}"
  [[ " $PARTS " == *" speed-small "* ]] && presets="smollm2-135m"
  : >"$W/speed.txt"
  for p in $presets; do
    for t in Q8_0 Q4_0; do
      echo "$p-$t" >>"$W/speed.txt"
    done
  done
  # Synth models are generated here (never carried), two at a time.
  xargs -P 4 -I{} sh -c 'n={}; $FORGE synth --preset ${n%-*} --type ${n##*-} --vocab generated -o $W/$n.gguf -t 4 >$W/$n.synth.log 2>&1 || tail -3 $W/$n.synth.log' <"$W/speed.txt"
  xargs -P 8 -I{} bash -c 'compile {}-cuda $W/{}.gguf 1024 512' <"$W/speed.txt"
  : >"$OUT/speed.jsonl"
  while read -r n; do
    ls -l "$W/$n.gguf" | awk '{printf "{\"name\": \"%s\", \"gguf_bytes\": %s}\n", "'"$n"'", $5}' >>"$OUT/speed.jsonl"
    "$W/$n-cuda/model" --gpu-bench --pp 512 --tg 128 --reps 3 --profile >>"$OUT/speed.jsonl" 2>>"$OUT/speed.err" ||
      tail -2 "$OUT/speed.err"
  done <"$W/speed.txt"
  python3 bench/cuda/table.py speed "$OUT/speed.jsonl" "$OUT/bandwidth.json"
fi

if [[ " $PARTS " == *" kernels "* ]]; then
  # The prefill kernels against the kernels they replace, at the models' shapes.
  nvcc -std=c++20 -O2 -arch=sm_90 -Isrc bench/cuda/kernel_check.cu -o "$W/kernel_check" && "$W/kernel_check" |
    tee "$OUT/kernel_check.txt"
fi

if [[ " $PARTS " == *" selfcheck "* ]]; then  # after speed, on its programs
  # Whole synth models, 20 prompt positions: the prefill path (mmq,
  # attention_prefill) and the matrix-vector path, each against the
  # interpreter (F32 KV cache as forge logits). These deep random models are
  # chaotic under activation quantization (one level flipping moves the
  # logits), so this shows both paths' distance, not a kernel's error: that
  # is the kernels part.
  T20=$TOK,11,12,13,14,17,19,23,29
  echo "== synth models, 20 positions, worst rel RMS against the interpreter"
  for n in smollm2-135m-Q8_0 smollm2-135m-Q4_0; do
    $FORGE logits -m "$W/$n.gguf" --tokens $T20 --positions all --json >"$W/$n.il.json" 2>/dev/null
    FORGE_CUDA_KV_F32=1 FORGE_CUDA_GEMM=off "$W/$n-cuda/model" --tokens $T20 --logits >"$W/$n.off.json" 2>/dev/null
    FORGE_CUDA_KV_F32=1 FORGE_CUDA_GEMM_MIN_ROWS=1 "$W/$n-cuda/model" --tokens $T20 --logits >"$W/$n.mmq.json" 2>/dev/null
    for v in off mmq; do
      python3 bench/cuda/compare.py "$n-$v" "$W/$n.il.json" "$W/$n.$v.json" /nonexistent /nonexistent |
        python3 -c 'import json,sys; r=json.load(sys.stdin); print("%-24s %s" % (r["model"], r.get("logits_rel_rms", r.get("error"))))'
    done
  done
fi

# tg128 PROGRAM [VAR=VALUE ...]: the program's generation tok/s (a short prefill, 3 repetitions).
tg128() {
  local prog=$1
  shift
  env "$@" "$prog" --gpu-bench --pp 16 --tg 128 --reps 3 2>>"$OUT/speed.err" |
    python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["tg_tok_s"])'
}

if [[ " $PARTS " == *" ab "* ]]; then  # after speed, on its programs
  # Generation by default and with each setting of AB (environment
  # assignments, space-separated; default: without programmatic dependent
  # launch, launch.cuh), same programs, one after the other.
  AB=${AB:-FORGE_CUDA_PDL=0}
  echo "== tg128 tok/s: default, then $AB"
  while read -r n; do
    line=$(printf '%-22s %10s' "$n" "$(tg128 "$W/$n-cuda/model")")
    for v in $AB; do line="$line $(printf '%10s' "$(tg128 "$W/$n-cuda/model" "$v")")"; done
    echo "$line"
  done <"$W/speed.txt" | tee "$OUT/ab.txt"
fi

if [[ " $PARTS " == *" fuse "* ]]; then  # after speed, on its models
  # Generation with the decode fusions up to FUSE_WIDTH values (codegen's
  # FORGE_CUDA_FUSE_WIDTH; the default build: norms up to kDecodeNormMaxWidth,
  # GLUs into ffn_down up to kDecodeGluMaxWidth, cuda_codegen.cpp).
  FW=${FUSE_WIDTH:-8192}
  FORGE_CUDA_FUSE_WIDTH=$FW xargs -P 8 -I{} bash -c 'compile {}-fuse $W/{}.gguf 1024 512' <"$W/speed.txt"
  echo "== tg128 tok/s: default fusion width, then up to $FW values"
  while read -r n; do
    printf '%-22s %10s %10s\n' "$n" "$(tg128 "$W/$n-cuda/model")" "$(tg128 "$W/$n-fuse/model")"
  done <"$W/speed.txt" | tee "$OUT/fuse.txt"
fi

if [[ " $PARTS " == *" profile "* ]]; then  # after speed, on its programs
  # Nsight Compute's duration of each kernel of one one-token step (the
  # warm-up prefill of --gpu-bench --pp 1: the decode step's kernels, launched
  # one by one) against the decode graph's time a token (speed's tg128).
  NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
  for n in ${PROFILE_MODELS:-smollm2-135m-Q8_0 llama-3.2-1b-Q8_0}; do
    "$NCU" --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv --print-units base -c 400 \
      "$W/$n-cuda/model" --gpu-bench --pp 1 --tg 1 --reps 1 >"$OUT/ncu-$n.csv" 2>"$OUT/ncu-$n.err" || tail -3 "$OUT/ncu-$n.err"
    python3 bench/cuda/table.py ncu "$OUT/ncu-$n.csv" "$OUT/speed.jsonl" "$n"
  done
fi

if [[ " $PARTS " == *" timeline "* ]]; then  # after speed, on its programs
  # The decode step as the graph runs it: each kernel's time and the gaps
  # between kernels, from CUPTI's records (bench/cuda/timeline.cpp, preloaded).
  g++ -O2 -shared -fPIC bench/cuda/timeline.cpp -I/usr/local/cuda/include -L/usr/local/cuda/lib64 -lcupti \
    -o "$W/timeline.so" || exit 1
  for n in ${TIMELINE_MODELS:-smollm2-135m-Q8_0 llama-3.2-1b-Q8_0}; do
    FORGE_TIMELINE="$W/timeline-$n.tsv" LD_PRELOAD="$W/timeline.so" \
      "$W/$n-cuda/model" --gpu-bench --pp 16 --tg 128 --reps 2 >/dev/null 2>>"$OUT/speed.err"
    python3 bench/cuda/table.py timeline "$W/timeline-$n.tsv" "$n" | tee -a "$OUT/timeline.txt"
  done
fi

if [[ " $PARTS " == *" modes "* ]]; then  # after speed, on its programs
  # Prefill speed by GEMM mode (and with the matrix-vector kernels: off).
  : >"$OUT/modes.jsonl"
  while read -r n; do
    for mode in off mmq f32 tf32 f16 bf16; do
      FORGE_CUDA_GEMM=$mode "$W/$n-cuda/model" --gpu-bench --pp 512 --tg 1 --reps 2 2>>"$OUT/speed.err" |
        python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(json.dumps({"name": "'"$n"'", "mode": "'"$mode"'", "pp_tok_s": r["pp_tok_s"]}))' >>"$OUT/modes.jsonl"
    done
  done <"$W/speed.txt"
  python3 bench/cuda/table.py modes "$OUT/modes.jsonl"
fi
