#!/usr/bin/env bash
# Scheduled batch evaluation: certify a saved model over a dataset into the long-lived certification
# tables under OUTPUT/certification, partitioned by run_date and run_id. Idempotent: a rerun of the same
# date and run id replaces that run's partitions and nothing else (certify.replace = true), so a
# scheduler may retry freely. Each run's partition gets examples and summary Parquet parts, _SUCCESS
# and runs/.../_run.json, whose status and exitCode agree with this script's exit code:
#   0 succeeded, 2 usage or setting error, 3 input error (missing or malformed data or model), 1 failure.
#
# Usage: jobs/certify-scheduled.sh MODEL_DIR RUN_DATE [RUN_ID] [KEY=VALUE ...]
#   MODEL_DIR  a model folder (model.json + .npy), e.g. runs/models/20261124-ab12-roll
#   RUN_DATE   the logical date of the run, YYYY-MM-DD (cron: $(date -u +%F); Airflow: {{ ds }})
#   RUN_ID     default: scheduled-<model folder name>
#   settings   e.g. data.format=cifar10 data.test=hdfs:///cifar/test_batch.bin output.dir=hdfs:///roll/runs
# Environment: RUN_CLUSTER_ARGS, options for run-cluster.sh (e.g. "--target yarn --deploy-mode client").
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
model=$1
date=$2
shift 2
id="scheduled-$(basename "$model")"
if [ $# -gt 0 ] && [[ "$1" != *=* ]]; then
  id=$1
  shift
fi
if ! [[ "$date" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
  echo "certify-scheduled: RUN_DATE '$date' is not YYYY-MM-DD" >&2
  exit 2
fi
# shellcheck disable=SC2086
exec ./run-cluster.sh ${RUN_CLUSTER_ARGS:-} certify --model "$model" output.runDate="$date" output.runId="$id" \
  certify.replace=true "$@"
