#!/usr/bin/env bash
# Runs a fuzzer for a bounded time over a seed corpus made from the files
# with extension EXT (default gguf) under the shared data (the small ones
# whole, the large ones cut to their first 256 KiB, which still holds their
# metadata or header) plus the fuzz/seeds/ files with that extension.
# Usage: run_fuzz.sh FUZZER SECONDS CORPUS_DIR DATA_DIR [EXT]
set -euo pipefail
fuzzer=$1 seconds=$2 corpus=$3 data=$4 ext=${5:-gguf}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$data" ]; then echo "run_fuzz: test data not found at $data" >&2; exit 1; fi
mkdir -p "$corpus"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
for s in "$here"/seeds/*."$ext"; do
  if [ -e "$s" ]; then cp "$s" "$seeds"/; fi
done
n=0
while IFS= read -r -d '' f; do
  head -c 262144 "$f" > "$seeds/$(echo "$f" | md5sum | cut -c1-16).$ext"
  n=$((n + 1))
done < <(find "$data" -name "*.$ext" -print0)
echo "run_fuzz: $n seed files from $data, running for ${seconds}s"
mkdir -p "$corpus/findings"
"$fuzzer" -max_total_time="$seconds" -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$corpus/findings/" "$corpus" "$seeds"
