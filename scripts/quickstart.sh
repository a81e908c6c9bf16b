#!/usr/bin/env bash
# README quick-start command (1): installs what is needed, builds qforge, and runs the main job on the
# small model bundled in the repo: quantize it to W4A16 (compressed-tensors, for vLLM) and to Q4_K_M (GGUF, for
# llama.cpp), and measure the damage of each against the original (perplexity and KL-divergence on text bundled
# in the repo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
qforge=./build/tools/qforge/qforge
out=build/quickstart/TinyStories-656K-W4A16
gguf=build/quickstart/TinyStories-656K-Q4_K_M.gguf
$qforge inspect models/TinyStories-656K
$qforge quantize models/TinyStories-656K -o "$out" --scheme W4A16 --force
$qforge eval "$out" --base models/TinyStories-656K --text data/tinystories_sample.txt --ctx 128
$qforge convert models/TinyStories-656K -o "$gguf" --type Q4_K_M
$qforge eval "$gguf" --base models/TinyStories-656K --text data/tinystories_sample.txt --ctx 128
