#!/usr/bin/env bash
# Runs every test: the main build's suite, then the sanitizer build's suite
# (the format layer under ASan+UBSan, and the GGUF fuzzer for 60 s).
# Run scripts/setup.sh first. Exit status is non-zero if any test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS="${FORGE_JOBS:-2}"
status=0
cmake --build build -j"$JOBS" || exit 1
cmake --build build-asan -j"$JOBS" || exit 1
echo "== tests (build/)"
ctest --test-dir build --output-on-failure -j"$JOBS" || status=1
echo "== sanitizer tests and fuzzing (build-asan/)"
ctest --test-dir build-asan --output-on-failure -j"$JOBS" || status=1
if [ $status -eq 0 ]; then echo "test.sh: all test suites passed"; else echo "test.sh: FAILED"; fi
exit $status
