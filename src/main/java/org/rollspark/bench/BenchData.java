package org.rollspark.bench;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.util.Host;

/** Seeded random inputs and labels for the benchmarks (not for training real models). */
final class BenchData {
    private BenchData() {}

    /** A (n, d) float32 matrix of uniform values in [0, 1). */
    static INDArray uniform(long seed, int n, int d) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n * d];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextDouble();
        }
        return Host.array(v, DataType.FLOAT, n, d);
    }

    static int[] labels(long seed, int n, int k) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(k);
        }
        return y;
    }
}
