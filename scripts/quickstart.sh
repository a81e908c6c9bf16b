#!/usr/bin/env bash
# README quick-start command (1): installs what is needed, builds qforge, and runs the main job on the
# small model bundled in the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
./build/tools/qforge/qforge inspect models/TinyStories-656K
