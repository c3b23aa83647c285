#!/usr/bin/env bash
# Before/after benchmark: runs CoreBench from another build's classes (BASE, e.g. a copy of
# target/classes made before a change) and from this tree's target/classes, alternating, ROUNDS times
# on one thread, then prints each figure's median for both and their ratio (after / before).
# Usage: jobs/bench-ab.sh BASE_CLASSES [rounds=3] [CoreBench args: reps seconds [mode]]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: jobs/bench-ab.sh BASE_CLASSES [rounds] [reps seconds [mode]]}
rounds=${2:-3}
shift $(( $# >= 2 ? 2 : 1 ))
args=("${@:-5}")
[ $# -ge 2 ] || args=(5 2)
mvn -q -B -DskipTests compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >/dev/null
deps=$(cat target/classpath.txt)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  for side in before after; do
    classes=target/classes
    [ $side = before ] && classes=$base
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
      java -Xmx4g -cp "$classes:$deps" org.rollspark.bench.CoreBench "${args[@]}" 2>/dev/null > "$out/$side-$r"
  done
done
python3 - "$out" "$rounds" <<'PY'
import re, statistics, sys, os, platform
out, rounds = sys.argv[1], int(sys.argv[2])
def figures(path):
    """Per figure, the median over the run's lines: 'NAME median X ex/s' and 'ROLL step / vanilla step time: median X'."""
    found = {}
    for line in open(path):
        m = re.match(r"(.+?)\s+median\s+([0-9.]+)", line.replace(":", ""))
        if m:
            found.setdefault(m.group(1).strip(), []).append(float(m.group(2)))
    return {k: statistics.median(v) for k, v in found.items()}
runs = {s: [figures(f"{out}/{s}-{r}") for r in range(1, rounds + 1)] for s in ("before", "after")}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"machine: {cpu}, {os.cpu_count()} cores; 1 thread; {rounds} alternated rounds")
print(f"{'figure':<40}{'before':>10}{'after':>10}{'after/before':>14}   runs (before | after)")
for key in runs["after"][0]:
    b = [r[key] for r in runs["before"] if key in r]
    a = [r[key] for r in runs["after"] if key in r]
    if not b or not a:
        continue
    mb, ma = statistics.median(b), statistics.median(a)
    print(f"{key:<40}{mb:>10.2f}{ma:>10.2f}{ma / mb:>14.3f}   {b} | {a}")
PY
