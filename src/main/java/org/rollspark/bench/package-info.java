/** Benchmark harnesses for the hot paths (run through jobs/bench.sh; figures in docs/BENCHMARKS.md). */
package org.rollspark.bench;
