#!/usr/bin/env bash
# A large Parquet table for the table scale benchmark (issue 28): N MNIST test images with seeded noise,
# columns features array<float>, label int, id string, as FILES Parquet files (default 64) in OUT_DIR.
# Usage: jobs/make-noisy-table.sh N OUT_DIR [FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >/dev/null
java -Xmx2g --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED -cp "target/classes:$(cat target/classpath.txt)" org.rollspark.bench.NoisyTable "$@"
