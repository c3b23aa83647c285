package org.rollspark;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.net.Activation;
import org.rollspark.net.DenseNet;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.util.Host;

/** Small random networks and inputs for tests. */
public final class TestNets {
    private TestNets() {}

    public static DenseNet net(long seed, Activation act, int... sizes) {
        return DenseNet.init(sizes, act, Normalization.scalar(0.2, 0.7), Init.UNIFORM_FAN_IN, seed, DataType.DOUBLE);
    }

    /** A (n, d) matrix of uniform values in [lo, hi). */
    public static INDArray uniform(long seed, int n, int d, double lo, double hi, DataType type) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n * d];
        for (int i = 0; i < v.length; i++) {
            v[i] = lo + (hi - lo) * r.nextDouble();
        }
        return Host.array(v, type, n, d);
    }

    public static int[] labels(long seed, int n, int k) {
        return TestData.labels(seed, n, k);
    }
}
