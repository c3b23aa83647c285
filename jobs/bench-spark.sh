#!/usr/bin/env bash
# Parameter averaging on Spark local mode: this project (rounds as one Spark job each, and as barrier
# stages) against DL4J's ParameterAveragingTrainingMaster on the same 784-300-300-10 MLP with the same knobs
# (batchSizePerWorker 32, averagingFrequency 1 and 5, Nesterov SGD), one core per worker; the local trainer
# on one core; and ROLL scaling from one to two workers.
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
# the local trainer on one core over a worker's share: the reference for throughput per worker core
run local vanilla 2 3 9000 1
for f in 1 5; do
  run dl4j vanilla 2 3 9000 $f
  for mode in tasks barrier; do
    run ours vanilla 2 3 9000 $f $mode
  done
done
for f in 1 5; do
  for mode in tasks barrier; do
    for w in 1 2; do
      run ours roll $w 4 3000 $f $mode
    done
  done
done
