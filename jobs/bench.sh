#!/usr/bin/env bash
# Core benchmark: the paper's MNIST net (784-300-300-300-300-10, float32, batch 64).
# Runs this project's CoreBench and, when PyTorch is installed, ../shared/bench/roll_reference.py
# (the paper's algorithm in PyTorch, same machine, same moment), alternating, ROUNDS times at 1 and
# at 2 threads, then prints the median of each figure and the ratios.
# Usage: jobs/bench.sh [rounds=3] [seconds-per-rep=2]
# PyTorch reference (Debian): apt-get install -y --no-install-recommends python3-torch libopenblas0-openmp
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-2}
mvn -q -B -DskipTests compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >/dev/null
cp="target/classes:$(cat target/classpath.txt)"
# ours under the OpenBLAS core type the tool chooses here (README, "BLAS kernels"), as run-cluster.sh runs the jobs;
# the reference keeps the environment it was given
core=$(java -cp "$cp" org.rollspark.cli.Kernel --pick 2>/dev/null)
echo "ours: OPENBLAS_CORETYPE=$core (the tool's choice); reference: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
ref=../shared/bench/roll_reference.py
have_torch=0
if [ -f "$ref" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_torch=1; fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for threads in 1 2; do
  for r in $(seq "$rounds"); do
    OPENBLAS_CORETYPE=$core OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE \
      java -Xmx4g -cp "$cp" org.rollspark.bench.CoreBench 5 "$secs" 2>/dev/null | tail -1 >> "$out/ours-$threads"
    if [ $have_torch = 1 ]; then
      BENCH_THREADS=$threads OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$ref" 2>/dev/null | tail -1 >> "$out/torch-$threads"
    fi
  done
done
python3 - "$out" "$have_torch" <<'PY'
import json, statistics, sys, os, platform
out, have_torch = sys.argv[1], sys.argv[2] == "1"
def med(path, key):
    vals = [float(json.loads(l)[key]) for l in open(path) if l.strip()]
    return statistics.median(vals), vals
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"machine: {cpu}, {os.cpu_count()} cores")
print(f"{'figure':<10}{'threads':>8}{'ours ex/s':>12}{'torch ex/s':>12}{'ratio':>8}   runs (ours | torch)")
for t in ("1", "2"):
    for key in ("vanilla", "roll", "certify"):
        m, vals = med(f"{out}/ours-{t}", key)
        line = f"{key:<10}{t:>8}{m:>12.1f}"
        if have_torch:
            tm, tv = med(f"{out}/torch-{t}", key)
            line += f"{tm:>12.1f}{m / tm:>8.2f}   {vals} | {tv}"
        else:
            line += f"{'-':>12}{'-':>8}   {vals}"
        print(line)
PY
