#!/usr/bin/env bash
# The report on large certification tables (issue 14): ROWS synthetic example rows in RUNS runs written with
# Spark, then the report built from them REPS times on local[2] (ReportBench). One JSON line per repetition.
# Usage: jobs/bench-report.sh [ROWS] [RUNS] [REPS]     (defaults 1000000, 2, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/classpath-test.txt >/dev/null
opens=$(sed -n 's:.*<spark.opens>\(.*\)</spark.opens>.*:\1:p' pom.xml)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck disable=SC2086
SPARK_LOCAL_IP=127.0.0.1 java -Xmx6g $opens -Dlog4j2.configurationFile="$(pwd)/conf/log4j2.properties" \
  -cp "target/classes:$(cat target/classpath-test.txt)" org.rollspark.bench.ReportBench "${1:-1000000}" "${2:-2}" "${3:-3}" "$out" 2>/dev/null
