#!/usr/bin/env bash
# One-off (not in CI): `qforge convert` vs llama.cpp's own `llama_model_quantize` (libllama of node-llama-cpp
# 3.21.1, llama.cpp v0.4.0, dlopened by a small driver built here) on the same F16 GGUF of a full-depth
# random-weight llama-3.2-1b (`qforge synth`), same thread count, run A/B in one go; then checks that the two
# outputs are the same file.
#
#   scripts/bench-convert-vs-llamacpp.sh [BUILD_DIR] [WORK_DIR]      env: THREADS=2 TYPES="Q4_K_M Q8_0" RUNS=1
#
# Needs scripts/install-oracles.sh (node_modules) and ~9 GB of disk in WORK_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
BUILD_DIR=${1:-build}
WORK_DIR=${2:-${TMPDIR:-/tmp}/qforge-bench-convert}
THREADS=${THREADS:-2}
TYPES=${TYPES:-"Q4_K_M"}
RUNS=${RUNS:-1}
QFORGE=$BUILD_DIR/tools/qforge/qforge
export QFORGE_THREADS=$THREADS QFORGE_PROGRESS=0
mkdir -p "$WORK_DIR"
MODEL=$WORK_DIR/llama-3.2-1b
F16=$WORK_DIR/llama-3.2-1b-F16.gguf
[[ -f $MODEL/config.json ]] || "$QFORGE" synth --shape llama-3.2-1b -o "$MODEL" --force
[[ -f $F16 ]] || "$QFORGE" convert "$MODEL" -o "$F16" --type F16 >/dev/null

# The driver: llama_model_quantize(in, out, {ftype, nthread}) through src/pipeline/convert_llama_oracle.h.
DRIVER=$WORK_DIR/llama_quantize_driver
cat >"$WORK_DIR/llama_quantize_driver.cc" <<'EOF'
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "pipeline/convert_llama_oracle.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s IN.gguf OUT.gguf FTYPE THREADS\n", argv[0]);
    return 2;
  }
  qforge::pipeline::testing::LlamaQuantizeOracle oracle;
  auto p = oracle.DefaultParams();
  p.ftype = std::atoi(argv[3]);
  p.nthread = std::atoi(argv[4]);
  const auto t0 = std::chrono::steady_clock::now();
  oracle.Quantize(argv[1], argv[2], p);
  std::printf("%.3f\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}
EOF
g++ -O2 -std=c++20 -I"$REPO/src" -DQFORGE_REPO_DIR="\"$REPO\"" "$WORK_DIR/llama_quantize_driver.cc" -o "$DRIVER" -ldl

ftype_of() {
  case $1 in
    Q8_0) echo 7 ;; Q6_K) echo 18 ;; Q5_K_M) echo 17 ;; Q5_K_S) echo 16 ;; Q4_K_M) echo 15 ;; Q4_K_S) echo 14 ;;
    Q4_0) echo 2 ;; Q3_K_M) echo 12 ;; *) echo "unknown type $1" >&2; exit 1 ;;
  esac
}

now() { date +%s.%N; }
echo "llama-3.2-1b synth (random weights), F16 GGUF in ($(du -h "$F16" | cut -f1)), $THREADS threads, $(nproc) cores"
printf '%-7s %4s %10s %12s %8s %s\n' type run qforge_s llama_cpp_s ratio same_file
for t in $TYPES; do
  for r in $(seq 1 "$RUNS"); do
    ours=$WORK_DIR/qforge-$t.gguf
    ref=$WORK_DIR/llama-$t.gguf
    rm -f "$ours" "$ref"
    t0=$(now)
    "$QFORGE" convert "$F16" -o "$ours" --type "$t" >/dev/null 2>&1
    t1=$(now)
    lc=$("$DRIVER" "$F16" "$ref" "$(ftype_of "$t")" "$THREADS")
    qf=$(echo "$t1 - $t0" | bc -l)
    same=$(cmp -s "$ours" "$ref" && echo yes || echo NO)
    printf '%-7s %4s %10.2f %12.2f %8.2f %s\n' "$t" "$r" "$qf" "$lc" "$(echo "$qf / $lc" | bc -l)" "$same"
  done
done
