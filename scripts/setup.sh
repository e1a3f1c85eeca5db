#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Forge: installs the Debian packages the
# project needs (only what is missing; `apt-get update` only when something is),
# then configures and builds everything. Idempotent; run as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  clang-14 libclang-rt-14-dev          # libFuzzer + sanitizers for the GGUF fuzzer
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  libpcre2-dev libutf8proc-dev libssl-dev zlib1g-dev
  g++-aarch64-linux-gnu qemu-user      # AArch64 cross build, run under qemu in tests
  chromium                             # server tests: the chat page in headless Chromium
)
# Node.js and npm for the server tests' openai client: Debian's packages unless
# the machine already has both commands (e.g. Node.js from NodeSource, whose
# package includes npm and conflicts with Debian's npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then PACKAGES+=(nodejs npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# Server tests' npm packages (openai@6, playwright-core; no browser download:
# the page test drives Debian's /usr/bin/chromium), from the lockfile. Skipped
# when node_modules is already newer than the lockfile.
NODE_DIR=tests/server/node
if [ ! -f "$NODE_DIR/node_modules/.package-lock.json" ] ||
   [ "$NODE_DIR/package-lock.json" -nt "$NODE_DIR/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in $NODE_DIR"
  (cd "$NODE_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
else
  echo "setup: npm packages present"
fi

# arm64 builds of pcre2/utf8proc/zlib for `forge compile --cpu aarch64` (unpacked, nothing installed)
tests/aarch64/unpack_arm64_deps.sh /opt/forge-aarch64-deps

JOBS="${FORGE_JOBS:-2}"

# Main build: GCC, Release.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$JOBS"

# Sanitizer build: clang with ASan+UBSan for the format layer's tests, and the
# libFuzzer target for the GGUF reader.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DFORGE_SANITIZE=ON
cmake --build build-asan -j"$JOBS"
echo "setup: done"
