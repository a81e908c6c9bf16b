#!/usr/bin/env bash
# README quick-start command (2): installs everything, builds, and runs all tests twice: a release build,
# then an AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/install-oracles.sh
export QFORGE_PROGRESS=0
bash scripts/build.sh release
ctest --test-dir build --output-on-failure -j "$(nproc)"
bash scripts/build.sh asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -LE no_sanitizer
