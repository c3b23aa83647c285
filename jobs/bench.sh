#!/usr/bin/env bash
# Core benchmark, fair on both sides: the paper's MNIST net (784-300-300-300-300-10, float32, batch 64).
# Ours runs under the OpenBLAS core type the tool chooses (README, "BLAS kernels"), as run-cluster.sh runs the
# jobs. The PyTorch reference (../shared/bench/roll_reference.py, the paper's algorithm) runs under every core
# type its OpenBLAS may take here: as the environment sets it, unset (OpenBLAS's own detection), and each core
# type our probe found this CPU to run, and each figure is compared with the reference's best kernel for it.
# Both sides run alternating, ROUNDS times at 1 and at 2 threads; the table gives medians, the kernel each side
# ran (read from the loaded library, not assumed from the variable) and the OpenBLAS versions.
# A candidate that loads the same kernel as one before it (OPENBLAS_CORETYPE=Zen where OpenBLAS picks Zen itself)
# is run once. THREADS (default "1 2") sets the thread counts.
# Usage: [THREADS="1 2"] jobs/bench.sh [rounds=3] [seconds-per-rep=2]
# PyTorch reference (Debian): apt-get install -y --no-install-recommends python3-torch libopenblas0-openmp
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-2}
mvn -q -B -DskipTests compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >/dev/null
cp="target/classes:$(cat target/classpath.txt)"
core=$(java -cp "$cp" org.rollspark.cli.Kernel --pick 2>/dev/null)
ref=../shared/bench/roll_reference.py
have_torch=0
if [ -f "$ref" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_torch=1; fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# the reference's candidate kernels: the environment's, OpenBLAS's own choice, and what our probe passed
env_core=${OPENBLAS_CORETYPE:-}
ref_cores=()
[ -n "$env_core" ] && ref_cores+=("$env_core")
ref_cores+=("unset")
for c in $(java -cp "$cp" org.rollspark.cli.Kernel --passing 2>/dev/null); do
  [[ " ${ref_cores[*]} " == *" $c "* ]] || ref_cores+=("$c")
done

# which library and kernel the reference really runs (ours: CoreBench's JSON line says)
probe_ref() { # prints {"requested", "core", "config"} of the OpenBLAS torch loaded under OPENBLAS_CORETYPE=$1
  local c=$1
  ( if [ "$c" = unset ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$c; fi
    /usr/bin/python3 - "$c" <<'PY'
import ctypes, json, sys
import torch  # loads the BLAS torch links against
torch.ones(8, 8) @ torch.ones(8, 8)
lib = next((l.split()[-1] for l in open("/proc/self/maps") if "openblas" in l.split()[-1]), None)
info = {"requested": sys.argv[1], "library": lib, "torch": torch.__version__}
if lib:
    ob = ctypes.CDLL(lib)
    for f in ("openblas_get_corename", "openblas_get_config"):
        getattr(ob, f).restype = ctypes.c_char_p
    info["core"] = ob.openblas_get_corename().decode()
    info["config"] = ob.openblas_get_config().decode()
print(json.dumps(info))
PY
  )
}
if [ $have_torch = 1 ]; then
  kept=()
  seen=" "
  for c in "${ref_cores[@]}"; do
    info=$(probe_ref "$c" 2>/dev/null || echo '{}')
    loaded=$(echo "$info" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("core", "?"))')
    if [[ "$seen" != *" $loaded "* ]]; then
      kept+=("$c"); seen+="$loaded "
      echo "$info" >> "$out/ref-blas"
    fi
  done
  ref_cores=("${kept[@]}")
fi
threads_list=${THREADS:-1 2}

for threads in $threads_list; do
  for r in $(seq "$rounds"); do
    OPENBLAS_CORETYPE=$core OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE \
      java -Xmx4g -cp "$cp" org.rollspark.bench.CoreBench 5 "$secs" 2>/dev/null | tail -1 >> "$out/ours-$threads"
    if [ $have_torch = 1 ]; then
      for c in "${ref_cores[@]}"; do
        ( if [ "$c" = unset ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$c; fi
          BENCH_THREADS=$threads OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$ref" 2>/dev/null | tail -1 \
            >> "$out/torch-$threads-$c" )
      done
    fi
  done
done

python3 - "$out" "$have_torch" "$core" "$env_core" "$threads_list" "${ref_cores[@]}" <<'PY'
import json, statistics, sys, os, platform
out, have_torch, core, env_core = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4]
thread_counts, ref_cores = sys.argv[5].split(), sys.argv[6:]
def runs(path, key):
    return [float(json.loads(l)[key]) for l in open(path) if l.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"machine: {cpu}, {os.cpu_count()} cores")
ours = json.loads(open(f"{out}/ours-{thread_counts[0]}").readline())
print(f"ours: OPENBLAS_CORETYPE={core} (the tool's choice); loaded: {ours.get('blas_config', '?')}, "
      f"core {ours.get('blas_core', '?')}")
if have_torch:
    for l in open(f"{out}/ref-blas"):
        r = json.loads(l)
        print(f"reference under OPENBLAS_CORETYPE={r['requested']}: torch {r['torch']}, {r.get('config', '?')}, "
              f"core {r.get('core', '?')} ({r['library']})")
    print(f"the environment sets OPENBLAS_CORETYPE={env_core}; 'pinned' is the reference under it" if env_core else
          "the environment sets no OPENBLAS_CORETYPE: the reference's own choice is its 'unset' column")
print()
head = f"{'figure':<9}{'thr':>4}{'ours ex/s':>11}"
if have_torch:
    head += "".join(f"{'ref ' + c:>16}" for c in ref_cores) + f"{'best ref':>22}{'ours/best':>10}"
    if env_core in ref_cores:
        head += f"{'ours/pinned':>12}"
print(head)
for t in thread_counts:
    for key in ("vanilla", "roll", "certify"):
        o = statistics.median(runs(f"{out}/ours-{t}", key))
        line = f"{key:<9}{t:>4}{o:>11.1f}"
        if have_torch:
            med = {c: statistics.median(runs(f"{out}/torch-{t}-{c}", key)) for c in ref_cores}
            best = max(med, key=med.get)
            line += "".join(f"{med[c]:>16.1f}" for c in ref_cores)
            line += f"{med[best]:>11.1f} ({best})".rjust(22) + f"{o / med[best]:>10.2f}"
            if env_core in ref_cores:
                line += f"{o / med[env_core]:>12.2f}"
        print(line)
for t in thread_counts:
    # l2 alone: ours only (the reference certifies the three norms); against our all-norm figure of the same runs
    l2, full = runs(f"{out}/ours-{t}", "certify_l2"), runs(f"{out}/ours-{t}", "certify")
    line = f"certify l2 alone, {t} thread(s): {statistics.median(l2):.1f} ex/s, median per-run ratio to all three norms " \
           f"{statistics.median(a / b for a, b in zip(l2, full)):.2f}"
    if have_torch:
        best = max(statistics.median(runs(f"{out}/torch-{t}-{c}", "certify")) for c in ref_cores)
        line += f", {statistics.median(l2) / best:.2f}x the reference's best all-norm figure"
    print(line)
print()
print("runs (ex/s), ours | reference per core type:")
for t in thread_counts:
    for key in ("vanilla", "roll", "certify"):
        parts = [str(runs(f"{out}/ours-{t}", key))]
        if have_torch:
            parts += [f"{c}: {runs(f'{out}/torch-{t}-{c}', key)}" for c in ref_cores]
        print(f"  {key} {t} thread(s): " + " | ".join(parts))
    print(f"  certify_l2 {t} thread(s): {runs(f'{out}/ours-{t}', 'certify_l2')}")
PY
