#!/usr/bin/env bash
# Averaging rounds on a real Spark standalone cluster on 127.0.0.1 against local mode, with the same
# `train` job: one master and one worker of 2 cores started from the Maven-resolved Spark jars (as
# StandaloneClusterIT does), two 1-core executors, the paper's averaging knobs (2 workers x batch 32,
# averagingFrequency 1 and 5), vanilla loss, the default 784-300-300-10 net on the bundled MNIST slice.
# Prints per run the training throughput of each epoch after the first and the milliseconds per round.
# Usage: jobs/bench-standalone.sh [examples=9000] [epochs=4]
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-9000}
epochs=${2:-4}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
build() { "$@" > "$work/mvn.log" 2>&1 || { cat "$work/mvn.log" >&2; exit 1; }; }
build mvn -q -B dependency:build-classpath -Dmdep.includeScope=provided -Dmdep.outputFile="$work/spark-cp.txt"
build mvn -q -B -DskipTests package
spark_cp=$(cat "$work/spark-cp.txt")
mkdir -p "$work/spark-home/jars"
tr ':' '\n' < "$work/spark-cp.txt" | while read -r j; do ln -s "$j" "$work/spark-home/jars/"; done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
export SPARK_HOME="$work/spark-home" SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_IP=127.0.0.1 OMP_WAIT_POLICY=PASSIVE
java -Xmx512m -cp "$spark_cp" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$port" \
  --webui-port "$(free_port)" > "$work/master.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 1; done
java -Xmx512m -cp "$spark_cp" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 2 --memory 8g \
  --webui-port "$(free_port)" --work-dir "$work/worker" "spark://127.0.0.1:$port" > "$work/worker.log" 2>&1 &
pids+=($!)
sleep 5
unset SPARK_HOME # run-cluster.sh submits with Spark's own SparkSubmit from the Maven jars
for f in 1 5; do
  for target in local standalone; do
    if [ "$target" = local ]; then
      opts=(--target local --master "local[2]")
    else
      opts=(--target standalone --master "spark://127.0.0.1:$port" --conf spark.executor.cores=1
        --conf spark.cores.max=2 --conf spark.executor.memory=2g)
    fi
    log="$work/$target-$f.log"
    ./run-cluster.sh "${opts[@]}" --conf spark.driver.host=127.0.0.1 train loss.type=vanilla \
      "data.trainLimit=$examples" data.validation=500 "train.epochs=$epochs" spark.numWorkers=2 \
      spark.batchSizePerWorker=32 "spark.averagingFrequency=$f" output.dir="$work/runs" \
      output.runId="bench-$target-$f" > "$log" 2>&1
    python3 - "$log" "$target" "$f" "$examples" <<'PY'
import re, statistics, sys
log, target, f, examples = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
text = open(log).read()
rates = [float(r) for r in re.findall(r"epoch \d+/\d+: .*?([\d.]+) ex/s", text)]
mode = re.search(r"rounds: ([^(]*)", text)
train = examples - 500
rounds = -(-(train // 2) // (32 * f))
after = rates[1:] or rates
med = statistics.median(after)
print(f'{{"target": "{target}", "averagingFrequency": {f}, "rounds": "{mode.group(1).strip() if mode else "?"}", '
      f'"examplesPerSecond": {med:.1f}, "msPerRound": {1000 * train / med / rounds:.2f}, "epochs": {rates}}}')
PY
  done
done
