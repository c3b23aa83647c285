#!/usr/bin/env bash
# The small full-MNIST grid around the paper's Table 1 models (issue 13, docs/RESULTS.md): lambda 1 and 4
# at C 0.25 and C 1 (gamma 100, exact ROLL, 20 epochs, the paper's optimiser from conf/mnist-paper.conf),
# plus the sweep's vanilla baseline, every point certified on the 10,000 test images. The paper's model
# selection (largest validation median eps_2 at vanilla's validation accuracy, and at 1 point below it)
# is made on validation data and printed as a paper-style table at the end.
#
# Sequential mode: each point trains with parameter averaging on the cluster (2 workers x 32, averaged
# every step: the paper's batch of 64) and checkpoints every epoch. The sweep is resumable: a rerun with
# the same run id skips finished points and continues the current one from its newest checkpoint.
# About 2 hours per ROLL point on 2 cores (jobs/fetch-mnist.sh first).
#
# Usage: jobs/paper-grid.sh [OUTPUT_DIR [RUN_ID]]        default: runs, paper-grid
# Environment: RUN_CLUSTER_ARGS, options for run-cluster.sh (e.g. "--master spark://host:7077").
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs}
id=${2:-paper-grid}
# one BLAS thread per worker: 2 workers on 2 cores; more threads only oversubscribe (docs/BENCHMARKS.md)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# long network timeouts, so that pausing the job (kill -STOP) for a while does not get local Spark to
# declare its own executor lost after 120 s without heartbeats
# shellcheck disable=SC2086
exec ./run-cluster.sh ${RUN_CLUSTER_ARGS:-} --conf spark.network.timeout=7200s \
  --conf spark.executor.heartbeatInterval=600s \
  sweep -c conf/mnist-paper.conf output.runId="$id" output.dir="$out" \
  sweep.mode=sequential sweep.certifyTest=all \
  'sweep.grid={"loss.c" = [0.25, 1], "loss.lambda" = [1, 4]}'
