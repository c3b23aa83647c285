package org.rollspark.util;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Direct BLAS products against a triple loop in double precision, on whole arrays and on views. */
class BlasTest {
    enum Type { FLOAT, DOUBLE }

    @ParameterizedTest
    @EnumSource(Type.class)
    void everyTranspositionMatchesTheTripleLoop(Type t) {
        DataType type = DataType.valueOf(t.name());
        int m = 5;
        int n = 7;
        int k = 3;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                INDArray a = random(1, type, ta ? k : m, ta ? m : k);
                INDArray b = random(2, type, tb ? n : k, tb ? k : n);
                INDArray c = random(3, type, m, n);
                double[] expected = product(a, ta, b, tb, c, 0.5, -2.0);
                Blas.gemm(a, ta, b, tb, c, 0.5, -2.0);
                assertArrayEquals(expected, Host.pull(c), tolerance(type), "transA " + ta + ", transB " + tb);
            }
        }
    }

    /** Row blocks, column blocks and rows of wider matrices are used in place, at their offsets. */
    @Test
    void viewsAreReadAndWrittenInPlace() {
        INDArray big = random(4, DataType.FLOAT, 9, 8);
        INDArray a = big.get(NDArrayIndex.interval(2, 6), NDArrayIndex.interval(1, 4)); // row stride 8, offset 17
        INDArray b = random(5, DataType.FLOAT, 5, 3);
        INDArray out = Nd4j.zeros(DataType.FLOAT, 10, 12);
        INDArray c = out.get(NDArrayIndex.interval(3, 7), NDArrayIndex.interval(2, 7));
        double[] expected = product(a, false, b, true, c, 1, 0);
        INDArray before = out.dup();
        Blas.gemm(a, false, b, true, c, 1, 0);
        assertArrayEquals(expected, Host.pull(c), 1e-5);
        // nothing outside the view changed
        INDArray mask = Nd4j.ones(DataType.FLOAT, 10, 12);
        mask.get(NDArrayIndex.interval(3, 7), NDArrayIndex.interval(2, 7)).assign(0);
        assertEquals(0.0, out.sub(before).mul(mask).norm1Number().doubleValue(), 0.0);
    }

    /** Column-major arrays and transposed views go through ND4J with the same meaning. */
    @Test
    void otherLayoutsFallBackToNd4j() {
        INDArray a = random(6, DataType.DOUBLE, 4, 3).dup('f');
        INDArray bT = random(7, DataType.DOUBLE, 5, 3).transpose(); // (3, 5), strided along rows
        INDArray c = Nd4j.zeros(DataType.DOUBLE, 4, 5);
        double[] expected = product(a, false, bT, false, c, 1, 0);
        Blas.gemm(a, false, bT, false, c, 1, 0);
        assertArrayEquals(expected, Host.pull(c), 1e-12);
    }

    /** beta = 0 ignores the old contents, NaN included, as BLAS specifies. */
    @Test
    void betaZeroOverwrites() {
        INDArray a = random(8, DataType.FLOAT, 2, 3);
        INDArray b = random(9, DataType.FLOAT, 3, 2);
        INDArray c = Nd4j.valueArrayOf(new long[] {2, 2}, Double.NaN, DataType.FLOAT);
        Blas.gemm(a, false, b, false, c, 1, 0);
        for (double v : Host.pull(c)) {
            assertTrue(Double.isFinite(v));
        }
    }

    @Test
    void shapesThatDoNotChainAreRefused() {
        INDArray a = Nd4j.zeros(DataType.FLOAT, 2, 3);
        INDArray c = Nd4j.zeros(DataType.FLOAT, 2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Blas.gemm(a, false, Nd4j.zeros(DataType.FLOAT, 4, 2), false, c, 1, 0));
        assertTrue(e.getMessage().contains("[2, 3] x [4, 2] into [2, 2]"), e.getMessage());
    }

    static INDArray random(long seed, DataType type, int rows, int cols) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextDouble(-1, 1);
        }
        return Host.array(v, type, rows, cols);
    }

    /** {@code alpha op(a) op(b) + beta c} by a triple loop in double precision. */
    static double[] product(INDArray a, boolean ta, INDArray b, boolean tb, INDArray c, double alpha, double beta) {
        int m = (int) c.size(0);
        int n = (int) c.size(1);
        int k = (int) (ta ? a.size(0) : a.size(1));
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int q = 0; q < k; q++) {
                    s += (ta ? a.getDouble(q, i) : a.getDouble(i, q)) * (tb ? b.getDouble(j, q) : b.getDouble(q, j));
                }
                double old = beta == 0 ? 0 : beta * c.getDouble(i, j);
                out[i * n + j] = alpha * s + old;
            }
        }
        return out;
    }

    private static double tolerance(DataType type) {
        return type == DataType.FLOAT ? 1e-5 : 1e-12;
    }
}
