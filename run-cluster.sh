#!/usr/bin/env bash
# Submit roll jobs to Spark with the shaded jar.
#
#   ./run-cluster.sh                                   # local mode: train vanilla and ROLL on the bundled
#                                                      # MNIST slice, certify both, print them side by side
#   ./run-cluster.sh [options] [COMMAND [ARGS...]]     # COMMAND: compare (default), train, certify, sweep
#   ./run-cluster.sh kernel [--refresh]                # the OpenBLAS core types this machine runs, self-tested
#                                                      # and timed, and the one the jobs will use
#
# Options (before the command):
#   --target local|standalone|yarn|k8s   where to run (default local)
#   --master URL                         local[N] | spark://HOST:7077 | yarn | k8s://https://HOST:PORT
#   --deploy-mode client|cluster         default client (the driver reads data/ and writes runs/ locally;
#                                        in cluster mode give data.dir and output.dir on a shared file system)
#   --conf KEY=VALUE                     any Spark setting, repeatable (e.g. spark.executor.memory=4g)
#   --image NAME                         k8s: spark.kubernetes.container.image
# Everything after the command goes to it: --config FILE, --dry-run, --model DIR, key=value settings.
# Examples:
#   ./run-cluster.sh train -c conf/mnist-paper.conf
#   ./run-cluster.sh --target standalone --master spark://10.0.0.5:7077 --conf spark.executor.cores=1 compare
#   ./run-cluster.sh certify --model runs/models/<run>-roll data.dir=data/full/mnist
# Without a Spark distribution (no spark-submit on PATH, no SPARK_HOME), Spark's own SparkSubmit runs
# from the Maven-resolved Spark jars. Exit codes are the job's: 0 ok, 2 usage/settings, 3 input, 1 failure.
set -euo pipefail
cd "$(dirname "$0")"

target=local
master=""
deploy=client
image=""
confs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=$2; shift 2 ;;
    --master) master=$2; shift 2 ;;
    --deploy-mode) deploy=$2; shift 2 ;;
    --conf) confs+=(--conf "$2"); shift 2 ;;
    --image) image=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- compare

case "$target" in
  local) master=${master:-local[2]} ;;
  standalone) [[ "$master" == spark://* ]] || { echo "run-cluster: --target standalone needs --master spark://HOST:PORT" >&2; exit 2; } ;;
  yarn) master=yarn ;;
  k8s)
    [[ "$master" == k8s://* ]] || { echo "run-cluster: --target k8s needs --master k8s://https://HOST:PORT" >&2; exit 2; }
    [ -n "$image" ] || { echo "run-cluster: --target k8s needs --image (a Spark 3.5 image)" >&2; exit 2; }
    confs+=(--conf "spark.kubernetes.container.image=$image") ;;
  *) echo "run-cluster: unknown --target '$target' (local, standalone, yarn, k8s)" >&2; exit 2 ;;
esac

# The shaded jar: built once, rebuilt when sources or the pom are newer.
jar=$(ls target/roll-spark-*-spark.jar 2>/dev/null | head -1 || true)
if [ -z "$jar" ] || [ -n "$(find src pom.xml -newer "$jar" -type f 2>/dev/null | head -1)" ]; then
  echo "run-cluster: building the shaded jar (mvn package)..." >&2
  mvn -q -B -DskipTests package >&2
  jar=$(ls target/roll-spark-*-spark.jar | head -1)
fi

# Spark's own jars: from a Spark distribution (spark-submit on PATH, or SPARK_HOME), else Maven-resolved
# (provided scope). The kernel choice below runs with them too (ND4J logs through Spark's slf4j).
submit=""
if command -v spark-submit >/dev/null 2>&1; then
  submit=$(command -v spark-submit)
elif [ -n "${SPARK_HOME:-}" ] && [ -x "$SPARK_HOME/bin/spark-submit" ]; then
  submit=$SPARK_HOME/bin/spark-submit
fi
if [ -n "$submit" ]; then
  spark_cp="${SPARK_HOME:-$(cd "$(dirname "$(readlink -f "$submit")")/.." && pwd)}/jars/*"
else
  cp_file=target/spark-classpath.txt
  if [ ! -s "$cp_file" ] || [ pom.xml -nt "$cp_file" ]; then
    mvn -q -B dependency:build-classpath -Dmdep.includeScope=provided -Dmdep.outputFile="$cp_file" >&2
  fi
  spark_cp=$(cat "$cp_file")
fi

# The OpenBLAS core type (README, "BLAS kernels"), chosen before any JVM that computes starts (OpenBLAS reads it
# once, when it loads): the fastest that passes the self-test here (probed once per machine, cached), an
# OPENBLAS_CORETYPE you set if it passes, or blas.coreType; exit 1 when none can be used as asked.
kernel=(java -Xmx512m -Dlog4j2.configurationFile="$(pwd)/conf/log4j2.properties" -cp "$jar:$spark_cp"
  org.rollspark.cli.Kernel)
if [ "$1" = kernel ]; then
  shift
  exec "${kernel[@]}" "$@"
fi
core=$("${kernel[@]}" --pick -- "$@") || exit $?
export OPENBLAS_CORETYPE=$core
executor_core=""
for c in "${confs[@]}"; do
  case "$c" in spark.executorEnv.OPENBLAS_CORETYPE=*) executor_core=given ;; esac
done
# executors get the same core type unless you gave them one; each checks that its CPU runs it and self-tests it
[ -n "$executor_core" ] || confs+=(--conf "spark.executorEnv.OPENBLAS_CORETYPE=$core")
confs+=(--conf "spark.yarn.appMasterEnv.OPENBLAS_CORETYPE=$core" --conf "spark.kubernetes.driverEnv.OPENBLAS_CORETYPE=$core")

# libnd4j's OpenMP threads must not spin on shared cores (2-4x slower otherwise).
confs+=(--conf spark.executorEnv.OMP_WAIT_POLICY=PASSIVE --conf spark.yarn.appMasterEnv.OMP_WAIT_POLICY=PASSIVE)
export OMP_WAIT_POLICY=PASSIVE
args=(--master "$master" --deploy-mode "$deploy" --class org.rollspark.cli.Main "${confs[@]}" "$jar" "$@")

if [ -n "$submit" ]; then
  exec "$submit" "${args[@]}"
fi
# No Spark distribution: Spark's SparkSubmit from the Maven-resolved jars (provided scope).
opens="-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false"
export SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:--Xmx6g} $opens -Dlog4j2.configurationFile="$(pwd)/conf/log4j2.properties" \
  -cp "$spark_cp" org.apache.spark.deploy.SparkSubmit "${args[@]}"
