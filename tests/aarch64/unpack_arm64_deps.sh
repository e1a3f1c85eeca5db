#!/usr/bin/env bash
# Unpacks Debian's arm64 builds of the tokenizer's libraries (libpcre2-dev,
# libutf8proc-dev, zlib1g-dev: static archives, headers, .pc files) under
# PREFIX, for cross-building compiled programs for AArch64
# (cmake/aarch64-toolchain.cmake, -DFORGE_AARCH64_DEPS=PREFIX).
#
# It leaves the machine's dpkg alone (no `dpkg --add-architecture`, nothing
# installed): apt reads the arm64 package lists into a private folder and
# downloads the three .deb files, which are unpacked with dpkg-deb -x. On a
# machine where the multiarch packages are installed instead
# (apt-get install libpcre2-dev:arm64 libutf8proc-dev:arm64 zlib1g-dev:arm64),
# this script is not needed.
#
# Usage: tests/aarch64/unpack_arm64_deps.sh /opt/forge-aarch64-deps
set -euo pipefail
PREFIX="${1:?usage: $0 PREFIX}"
PACKAGES=(libpcre2-dev libutf8proc-dev zlib1g-dev)

if [ -f "$PREFIX/.complete" ]; then
  echo "unpack_arm64_deps: $PREFIX already holds ${PACKAGES[*]} (arm64)"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial"
APT=(apt-get -q -o "APT::Architectures::=arm64" -o "Dir::State::Lists=$work/lists"
     -o "Dir::Cache::archives=$work/archives" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
     -o "Debug::NoLocking=1")
"${APT[@]}" update > "$work/update.log" 2>&1 || { cat "$work/update.log"; exit 1; }
cd "$work"
"${APT[@]}" download "${PACKAGES[@]/%/:arm64}"
mkdir -p "$PREFIX"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$PREFIX"; done
touch "$PREFIX/.complete"
echo "unpack_arm64_deps: unpacked ${PACKAGES[*]} (arm64) under $PREFIX"
