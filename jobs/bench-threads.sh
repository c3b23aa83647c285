#!/usr/bin/env bash
# Threads per task (issue 16): the main job and the paper's recipe with every task's ND4J and OpenBLAS
# sized to its task slot (the default since TaskThreads) against the previous behaviour, where every task
# used all the machine's cores (spark.roll.threadsPerTask = the core count), alternating in one invocation.
# No OMP_NUM_THREADS is set. The paper recipe runs its first 215 rounds (13,760 training images) of the
# full set (jobs/fetch-mnist.sh first).
# Usage: jobs/bench-threads.sh [repeats]      (prints one line per run: mode, job, seconds, ex/s)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-2}
cores=$(nproc)
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$repeats"); do
  for mode in all-cores per-slot; do
    conf=()
    [ "$mode" = all-cores ] && conf=(--conf "spark.roll.threadsPerTask=$cores")
    t0=$(date +%s.%N)
    ./run-cluster.sh "${conf[@]}" compare output.dir="$out/main-$mode-$r" >"$out/log" 2>&1
    t1=$(date +%s.%N)
    rate=$(grep -o '[0-9.]* ex/s' "$out/log" | awk '{s += $1; n++} END {if (n) printf "%.0f", s / n}')
    printf '%s main-job %.1f s, training %s ex/s (mean of its epochs)\n' "$mode" "$(echo "$t1 - $t0" | bc)" "$rate"
    t0=$(date +%s.%N)
    ./run-cluster.sh "${conf[@]}" train -c conf/mnist-paper.conf train.epochs=1 data.trainLimit=14760 \
      data.validation=1000 output.dir="$out/paper-$mode-$r" >"$out/log" 2>&1
    t1=$(date +%s.%N)
    rate=$(grep -o '[0-9.]* ex/s' "$out/log" | tail -1)
    printf '%s paper-recipe %.1f s, training %s\n' "$mode" "$(echo "$t1 - $t0" | bc)" "$rate"
  done
done
