#!/usr/bin/env bash
# Prefill and decode tokens/s of the forward pass on a random-weight llama-3.2-1b (`qforge synth`), with
# BF16 weights (as synthesized) and F32 weights (converted at load), on THREADS threads (default 2).
#
#   scripts/bench-engine.sh [BUILD_DIR] [WORK_DIR]
#   env: THREADS=2 PROMPT=128 (prompt tokens) DECODE=32 (generated tokens)
#
# Needs ~2.5 GB of disk in WORK_DIR and ~8 GB of RAM for the F32 run.
set -euo pipefail
BUILD_DIR=${1:-build}
WORK_DIR=${2:-${TMPDIR:-/tmp}/qforge-bench-engine}
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-128}
DECODE=${DECODE:-32}
QFORGE=$BUILD_DIR/tools/qforge/qforge
[[ -x $QFORGE ]] || { echo "bench-engine: $QFORGE not built" >&2; exit 1; }

MODEL=$WORK_DIR/llama-3.2-1b
if [[ ! -f $MODEL/config.json ]]; then
  mkdir -p "$WORK_DIR"
  "$QFORGE" synth --shape llama-3.2-1b -o "$MODEL" --force
fi

export QFORGE_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS QFORGE_PROGRESS=0
echo "llama-3.2-1b synth, $THREADS threads, prompt $PROMPT tokens (+BOS), decode $DECODE tokens"
for w in bf16 f32; do
  out=$("$QFORGE" generate "$MODEL" --random-prompt "$PROMPT" -n "$DECODE" --ignore-eos --weights "$w" 2>&1 >/dev/null)
  prefill=$(sed -n 's/^prefill: .*= \([0-9.]*\) tokens\/s/\1/p' <<<"$out")
  decode=$(sed -n 's/^decode: .*= \([0-9.]*\) tokens\/s/\1/p' <<<"$out")
  printf '%-5s prefill %8s tokens/s   decode %8s tokens/s\n' "$w" "$prefill" "$decode"
done
