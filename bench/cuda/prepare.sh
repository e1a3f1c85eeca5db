#!/bin/bash
# Fills .gpu-data/ (git-ignored, carried to the GPU machine) for gpu_check.sh:
# the forge binary and the static libraries generated projects link (from
# build-cuda), the shared libraries and -dev packages the GPU image lacks,
# stories260K and the fixtures. Run from the repository root after
# `ninja -C BUILD forge`:  bash bench/cuda/prepare.sh [BUILD (default build-cuda)]
# The build's own name goes to .gpu-data/build-name: its forge binary and
# library list name paths under /work/main/BUILD, which gpu_check.sh links.
set -eu
B=${1:-build-cuda}
D=.gpu-data
rm -rf $D && mkdir -p $D/build-cuda $D/lib $D/debs $D/fixtures
echo "$B" >$D/build-name
# A build configured from another source tree (a snapshot, while others edit
# this checkout) names that tree in the programs it generates: carry its src/.
S_DIR=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' $B/CMakeCache.txt)
if [ "$S_DIR" != "$(pwd)" ]; then
  mkdir -p $D/source && cp -r "$S_DIR/src" $D/source/ && echo "$S_DIR" >$D/source-path
fi
cp $B/forge $B/forge_libraries.cmake $D/build-cuda/
for f in $(grep -o '"[^"]*\.a"' $B/forge_libraries.cmake | tr -d '"'); do
  rel=${f#"$(pwd)"/$B/}
  mkdir -p "$D/build-cuda/$(dirname "$rel")" && cp "$f" "$D/build-cuda/$rel"
done
for l in libutf8proc.so.2 libcpp-httplib.so.0.11 libbrotlidec.so.1 libbrotlienc.so.1 libbrotlicommon.so.1; do
  cp -L /lib/x86_64-linux-gnu/$l $D/lib/
done
(cd $D/debs && apt-get download libpcre2-dev libutf8proc-dev)
S=../shared/data
cp $S/models/stories260K/stories260K.gguf $D/
for a in llama qwen2 gemma gemma2 gemma3 phi3 stablelm stablelm-par mistral llama-tied-rope3; do
  mkdir -p $D/fixtures/$a
  cp $S/fixtures/$a/model-f16.gguf $S/fixtures/$a/model-q8_0.gguf $D/fixtures/$a/ 2>/dev/null || true
done
mkdir -p $D/fixtures/llama-k
for t in f16 bf16 q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K_M Q5_K_M Q6_K; do cp $S/fixtures/llama-k/model-$t.gguf $D/fixtures/llama-k/; done
du -sh $D
