#!/usr/bin/env bash
# Installs the independent reference implementations the tests compare against, from the npm registry:
# llama.cpp's prebuilt CPU backend (node-llama-cpp, pinned) and the JS port of Hugging Face tokenizers.
# Idempotent. Nothing here is linked into qforge.
set -euo pipefail
cd "$(dirname "$0")/../tests/oracle"
if [ -f node_modules/.qforge-oracles-ok ] && cmp -s package-lock.json node_modules/.qforge-lock-copy; then
  echo "install-oracles: already installed"
  exit 0
fi
npm ci --omit=optional --no-audit --no-fund
cp package-lock.json node_modules/.qforge-lock-copy
touch node_modules/.qforge-oracles-ok
