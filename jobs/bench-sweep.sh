#!/usr/bin/env bash
# Parallel against sequential sweeps (issue 13): the same 8-point grid of the default 784-300-300-10 net on
# the bundled MNIST slice (plus the vanilla baseline: 9 models), local[2], one thread per task, modes
# alternating. Each line gives the sweep's own figure (seconds to train the 9 models and certify each on
# validation) and the whole command's wall time (JVM and Spark start, data, test certification included).
# Usage: jobs/bench-sweep.sh [REPS] [EPOCHS] [KEY=VALUE...]     (defaults 3 and 1; settings for both modes,
#        e.g. spark.averagingFrequency=1 for the paper's synchronous recipe)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
epochs=${2:-1}
shift $(( $# > 2 ? 2 : $# ))
mvn -q -B -DskipTests compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/classpath-test.txt >/dev/null
opens=$(sed -n 's:.*<spark.opens>\(.*\)</spark.opens>.*:\1:p' pom.xml)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for rep in $(seq 1 "$reps"); do
  for mode in sequential parallel; do
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    line=$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE SPARK_LOCAL_IP=127.0.0.1 \
      java -Xmx6g $opens -Dlog4j2.configurationFile="$(pwd)/conf/log4j2.properties" \
      -cp "target/classes:$(cat target/classpath-test.txt)" org.rollspark.cli.Main sweep spark.master='local[2]' \
      train.epochs="$epochs" certify.soundnessExamples=0 sweep.mode=$mode \
      'sweep.grid={"loss.lambda" = [0.5, 1], "loss.c" = [0.25, 1], "loss.gamma" = ["100", "max"]}' \
      output.dir="$out/$mode-$rep" output.runId=bench "$@" 2>/dev/null | grep 'models trained and certified' )
    wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    secs=$(sed -n 's/.* in \([0-9.]*\) s .*/\1/p' <<<"$line")
    echo "{\"bench\": \"sweep\", \"mode\": \"$mode\", \"rep\": $rep, \"models\": 9, \"epochs\": $epochs, \"settings\": \"$*\", \"seconds\": $secs, \"command_seconds\": $wall}"
  done
done
