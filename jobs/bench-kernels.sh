#!/usr/bin/env bash
# The core benchmark (CoreBench: the paper's 784-300-300-300-300-10 net, float32, batch 64, 1 thread) under every
# OpenBLAS core type that passes the self-test on this machine (the kernel command's list, the tool's choice
# first), alternating, ROUNDS times: the median of each figure per core type and its ratio to the choice.
# Usage: jobs/bench-kernels.sh [rounds=3] [seconds-per-rep=2] [core types... (default: every one that passes)]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-2}
shift $(( $# < 2 ? $# : 2 ))
mvn -q -B -DskipTests compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/classpath.txt >/dev/null
cp="target/classes:$(cat target/classpath.txt)"
if [ $# -gt 0 ]; then
  cores=("$@")
else
  mapfile -t cores < <(env -u OPENBLAS_CORETYPE java -cp "$cp" org.rollspark.cli.Kernel --passing 2>/dev/null)
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  for core in "${cores[@]}"; do
    OPENBLAS_CORETYPE=$core OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
      java -Xmx4g -cp "$cp" org.rollspark.bench.CoreBench 5 "$secs" 2>/dev/null | tail -1 >> "$out/$core"
  done
done
python3 - "$out" "${cores[@]}" <<'PY'
import json, statistics, sys, os
out, cores = sys.argv[1], sys.argv[2:]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {cpu}, {os.cpu_count()} cores; 1 thread; medians of {len(open(os.path.join(out, cores[0])).readlines())} rounds")
med = {c: {k: statistics.median(float(json.loads(l)[k]) for l in open(os.path.join(out, c)) if l.strip())
           for k in ("vanilla", "roll", "certify")} for c in cores}
print(f"{'core type':<14}{'vanilla ex/s':>14}{'ROLL ex/s':>12}{'certify ex/s':>14}   ratios to {cores[0]} (the choice)")
for c in cores:
    m = med[c]
    print(f"{c:<14}{m['vanilla']:>14.0f}{m['roll']:>12.1f}{m['certify']:>14.1f}   "
          + " ".join(f"{m[k] / med[cores[0]][k]:.3f}" for k in ("vanilla", "roll", "certify")))
PY
