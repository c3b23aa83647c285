#!/usr/bin/env bash
# A large IDX test set for the scale benchmark (issue 16): N MNIST test images with seeded noise,
# uncompressed, in OUT_DIR. Usage: jobs/make-noisy-idx.sh N OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >/dev/null
java -cp "target/classes:$(cat target/classpath.txt)" org.rollspark.bench.NoisyIdx "$@"
