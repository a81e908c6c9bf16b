#!/usr/bin/env bash
# GPTQ benchmark (issue 5): (1) one llama-3.1-8b-shaped layer: Hessian accumulation, factorisation (once per
# distinct input: q/k/v share one, gate/up share one) and the column loop timed separately per Linear;
# (2) time and peak RSS of the sequential pipeline on a 4-layer random llama-3.1-8b (VmRSS/VmHWM after every
# Linear; /usr/bin/time -v when installed).
#
#   scripts/bench-gptq.sh [BUILD_DIR] [WORK_DIR]
#   env: THREADS=2 TOKENS=2048 LINEARS=q,k,v,o,gate,up,down SAMPLES=8 SEQ_LEN=512 PARTS=layer,model
# The build needs -DQFORGE_BUILD_BENCH=ON. Part (2) needs ~4 GB of disk (BF16 4-layer model with the full
# embedding and lm_head) in WORK_DIR.
set -euo pipefail
BUILD_DIR=${1:-build}
WORK_DIR=${2:-${TMPDIR:-/tmp}/qforge-bench-gptq}
PARTS=${PARTS:-layer,model}
export QFORGE_THREADS=${THREADS:-2} OPENBLAS_NUM_THREADS=${THREADS:-2}
BENCH=$BUILD_DIR/bench/gptq_bench
QFORGE=$BUILD_DIR/tools/qforge/qforge
[[ -x $BENCH ]] || { echo "bench-gptq: $BENCH not built (QFORGE_BUILD_BENCH=ON)" >&2; exit 1; }
if [[ ,$PARTS, == *,layer,* ]]; then
  "$BENCH" layer --tokens "${TOKENS:-2048}" --linears "${LINEARS:-q,k,v,o,gate,up,down}"
fi
if [[ ,$PARTS, == *,model,* ]]; then
  MODEL=$WORK_DIR/llama-3.1-8b-4l
  if [[ ! -f $MODEL/config.json ]]; then
    mkdir -p "$WORK_DIR"
    "$QFORGE" synth --shape llama-3.1-8b --layers 4 -o "$MODEL" --force
  fi
  HERE=$(cd "$(dirname "$0")/.." && pwd)
  TIME=()
  [[ -x /usr/bin/time ]] && TIME=(/usr/bin/time -v)
  QFORGE_PROGRESS=0 "${TIME[@]}" "$BENCH" model "$MODEL" --calib "$HERE/../shared/data/wiki.test.raw" \
    --samples "${SAMPLES:-8}" --seq-len "${SEQ_LEN:-512}"
fi
