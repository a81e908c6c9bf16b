#!/usr/bin/env bash
# Prefill / decode tokens/s and peak resident memory of `qforge generate` per weight scheme on a random-weight
# llama-3.2-1b (`qforge synth`, labelled random): BF16 and F32 (dense), W8A16 / W4A16 (g128) / W8A8
# (compressed-tensors, RTN), Q8_0 and Q4_K_M (GGUF) — every quantized scheme runs its native kernels.
#
#   scripts/bench-generate.sh [BUILD_DIR] [WORK_DIR]
#   env: THREADS=2 PROMPT=64 DECODE=32 SCHEMES="bf16 f32 w8a16 w4a16 w8a8 q8_0 q4_k_m"
#
# Needs ~8 GB of disk in WORK_DIR and ~7 GB of RAM (the F32 run).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
WORK_DIR=${2:-${TMPDIR:-/tmp}/qforge-bench-generate}
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-64}
DECODE=${DECODE:-32}
SCHEMES=${SCHEMES:-"bf16 f32 w8a16 w4a16 w8a8 q8_0 q4_k_m"}
QFORGE=$(realpath "$BUILD_DIR/tools/qforge/qforge")
[[ -x $QFORGE ]] || { echo "bench-generate: $QFORGE not built" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench-generate: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
export QFORGE_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS QFORGE_PROGRESS=0
mkdir -p "$WORK_DIR"
BASE=$WORK_DIR/llama-3.2-1b
[[ -f $BASE/config.json ]] || "$QFORGE" synth --shape llama-3.2-1b -o "$BASE" --force >/dev/null

model_for() {  # scheme -> path (built on first use) and extra generate flags
  case $1 in
    bf16) echo "$BASE" ;;
    f32) echo "$BASE --weights f32" ;;
    w8a16|w4a16|w8a8)
      local d=$WORK_DIR/llama-3.2-1b-$1
      [[ -f $d/config.json ]] || "$QFORGE" quantize "$BASE" -o "$d" --scheme "${1^^}" --force >/dev/null
      echo "$d" ;;
    q8_0|q4_k_m)
      local g=$WORK_DIR/llama-3.2-1b-$1.gguf
      [[ -f $g ]] || "$QFORGE" convert "$BASE" -o "$g" --type "${1^^}" >/dev/null
      echo "$g" ;;
    *) echo "bench-generate: unknown scheme $1" >&2; exit 2 ;;
  esac
}

echo "llama-3.2-1b synth (random weights), $THREADS threads, prompt $PROMPT tokens (+BOS), decode $DECODE tokens"
printf '%-8s %14s %14s %12s  %s\n' scheme "prefill tok/s" "decode tok/s" "peak RSS MB" weights
for s in $SCHEMES; do
  read -r path extra <<<"$(model_for "$s")"
  # shellcheck disable=SC2086
  out=$(/usr/bin/time -f 'peak_rss_kb %M' "$QFORGE" generate "$path" $extra --random-prompt "$PROMPT" -n "$DECODE" \
        --ignore-eos 2>&1 >/dev/null)
  p=$(sed -n 's/^prefill: .*= \([0-9.]*\) tokens\/s/\1/p' <<<"$out")
  d=$(sed -n 's/^decode: .*= \([0-9.]*\) tokens\/s/\1/p' <<<"$out")
  rss=$(sed -n 's/^peak_rss_kb \([0-9]*\)/\1/p' <<<"$out")
  w=$(sed -n 's/^weights: //p' <<<"$out")
  printf '%-8s %14s %14s %12d  %s\n' "$s" "$p" "$d" "$((rss / 1024))" "${w:-dense}"
done
