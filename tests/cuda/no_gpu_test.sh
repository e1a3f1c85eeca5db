#!/bin/sh
# forge compile --target cuda on stories260K, built with nvcc; the program
# either finds no GPU and says so (exit 1, "no CUDA GPU found"), or runs and
# prints logits JSON. Anything else fails.
set -u
forge=$1 model=$2 dir=$3
[ -f "$model" ] || { echo "missing test data $model (the shared data must be at ../shared/data)"; exit 1; }
rm -rf "$dir"
"$forge" compile -m "$model" -o "$dir" --target cuda --max-context 64 --max-batch 8 || exit 1
out=$("$dir/model" --tokens 1,2,3 --logits 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
  echo "$out" | grep -q "no CUDA GPU found" || { echo "unexpected failure: $out"; exit 1; }
  echo "no GPU: clear error: $out"
else
  echo "$out" | grep -q '"logits"' || { echo "no logits in: $out"; exit 1; }
  echo "GPU present: logits printed"
fi
