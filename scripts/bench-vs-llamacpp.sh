#!/usr/bin/env bash
# Decode and prefill tokens/s of qforge vs llama.cpp (node-llama-cpp 3.21.1's prebuilt CPU backend) on the
# same GGUF files of a random-weight llama-3.2-1b (`qforge synth`): F16, Q8_0 and Q4_K_M, run A/B in one go so
# the ratios share the machine's state.
#
#   scripts/bench-vs-llamacpp.sh [BUILD_DIR] [WORK_DIR]      env: THREADS=2 PROMPT=64 DECODE=16 TYPES="Q8_0 Q4_K_M"
#
# Needs scripts/install-oracles.sh (node_modules), ~6 GB of disk in WORK_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
WORK_DIR=${2:-${TMPDIR:-/tmp}/qforge-bench-llamacpp}
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-64}
DECODE=${DECODE:-16}
TYPES=${TYPES:-"Q8_0 Q4_K_M"}
QFORGE=$BUILD_DIR/tools/qforge/qforge
export QFORGE_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS QFORGE_PROGRESS=0
mkdir -p "$WORK_DIR"
MODEL=$WORK_DIR/llama-3.2-1b
[[ -f $MODEL/config.json ]] || "$QFORGE" synth --shape llama-3.2-1b -o "$MODEL" --force
echo "llama-3.2-1b synth (random weights), $THREADS threads, prompt $PROMPT tokens (+BOS), decode $DECODE tokens"
printf '%-7s %12s %12s %12s %12s %8s\n' type qf_prefill lc_prefill qf_decode lc_decode decode_ratio
for t in $TYPES; do
  g=$WORK_DIR/llama-3.2-1b-$t.gguf
  [[ -f $g ]] || "$QFORGE" convert "$MODEL" -o "$g" --type "$t" >/dev/null
  out=$("$QFORGE" generate "$g" --random-prompt "$PROMPT" -n "$DECODE" --ignore-eos 2>&1 >/dev/null)
  qp=$(sed -n 's/^prefill: .*= \([0-9.]*\) tokens\/s/\1/p' <<<"$out")
  qd=$(sed -n 's/^decode: .*= \([0-9.]*\) tokens\/s/\1/p' <<<"$out")
  lc=$(node tests/oracle/decode_speed.mjs "$g" "$PROMPT" "$DECODE" "$THREADS")
  lp=$(sed 's/.*"prefill_tok_s":\([0-9.]*\).*/\1/' <<<"$lc")
  ld=$(sed 's/.*"decode_tok_s":\([0-9.]*\).*/\1/' <<<"$lc")
  printf '%-7s %12.2f %12.2f %12.2f %12.2f %8.3f\n' "$t" "$qp" "$lp" "$qd" "$ld" "$(awk -v a="$qd" -v b="$ld" 'BEGIN{print a/b}')"
done
