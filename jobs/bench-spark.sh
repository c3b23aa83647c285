#!/usr/bin/env bash
# Parameter averaging on Spark local mode: this project against DL4J's ParameterAveragingTrainingMaster
# on the same 784-300-300-10 MLP with the same knobs (batchSizePerWorker 32, averagingFrequency 5,
# Nesterov SGD), one core per worker; and ROLL scaling from one to two workers.
# Usage: jobs/bench-spark.sh     (prints one JSON line per configuration)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/classpath-test.txt >/dev/null
opens=$(sed -n 's:.*<spark.opens>\(.*\)</spark.opens>.*:\1:p' pom.xml)
run() {
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE SPARK_LOCAL_IP=127.0.0.1 \
    java -Xmx6g $opens -cp "target/classes:$(cat target/classpath-test.txt)" org.rollspark.bench.SparkBench "$@" 2>/dev/null | grep '^{'
}
for w in 1 2; do
  run dl4j vanilla $w 3 9000
  run ours vanilla $w 3 9000
done
for f in 5 20; do
  for w in 1 2; do
    run ours roll $w 5 3000 $f
  done
done
