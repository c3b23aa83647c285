package org.rollspark.util;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Gathers and scatter-adds against element-by-element loops, on dense matrices and on views of wider ones. */
class GatherTest {
    private static final int[] IDX = {0, 2, 3, 6};

    private static INDArray random(DataType type, long seed, int rows, int cols) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextDouble() - 0.5;
        }
        return Host.array(v, type, rows, cols);
    }

    /** A (rows, 7) view of whole rows' first 7 columns of a (rows + 2, 9) matrix: row stride 9, offset 9. */
    private static INDArray view(DataType type, long seed, int rows) {
        return random(type, seed, rows + 2, 9).get(NDArrayIndex.interval(1, rows + 1), NDArrayIndex.interval(0, 7));
    }

    @Test
    void gathersAndScatterAddsMatchLoops() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            double tol = type == DataType.FLOAT ? 1e-6 : 0;
            for (INDArray wide : new INDArray[] {random(type, 1, 5, 7), view(type, 2, 5)}) {
                double[] w = Host.pull(wide);
                INDArray cols = Nd4j.createUninitialized(type, 5, IDX.length);
                Gather.columns(wide, IDX, cols);
                double[] expect = new double[5 * IDX.length];
                for (int r = 0; r < 5; r++) {
                    for (int k = 0; k < IDX.length; k++) {
                        expect[r * IDX.length + k] = w[r * 7 + IDX[k]];
                    }
                }
                assertArrayEquals(expect, Host.pull(cols), tol, "columns " + type);
            }
            for (INDArray wide : new INDArray[] {random(type, 3, 8, 7), view(type, 4, 8)}) {
                double[] w = Host.pull(wide);
                INDArray rows = Nd4j.createUninitialized(type, IDX.length, 7);
                Gather.rows(wide, IDX, rows);
                double[] expect = new double[IDX.length * 7];
                for (int k = 0; k < IDX.length; k++) {
                    System.arraycopy(w, IDX[k] * 7, expect, k * 7, 7);
                }
                assertArrayEquals(expect, Host.pull(rows), tol, "rows " + type);
            }
            INDArray target = view(type, 5, 8);
            double[] before = Host.pull(target);
            INDArray add = random(type, 6, 8, IDX.length);
            double[] a = Host.pull(add);
            Gather.addColumns(add, IDX, target);
            double[] expect = before.clone();
            for (int r = 0; r < 8; r++) {
                for (int k = 0; k < IDX.length; k++) {
                    expect[r * 7 + IDX[k]] += a[r * IDX.length + k];
                }
            }
            assertArrayEquals(expect, Host.pull(target), tol, "addColumns " + type);
            before = Host.pull(target);
            add = random(type, 7, IDX.length, 7);
            a = Host.pull(add);
            Gather.addRows(add, IDX, target);
            expect = before.clone();
            for (int k = 0; k < IDX.length; k++) {
                for (int c = 0; c < 7; c++) {
                    expect[IDX[k] * 7 + c] += a[k * 7 + c];
                }
            }
            assertArrayEquals(expect, Host.pull(target), tol, "addRows " + type);
        }
        assertThrows(IllegalArgumentException.class, () -> Gather.columns(random(DataType.FLOAT, 8, 5, 7), IDX,
                Nd4j.createUninitialized(DataType.FLOAT, 5, 3)));
        assertThrows(IllegalArgumentException.class, () -> Gather.columns(random(DataType.FLOAT, 8, 5, 7).transpose(),
                IDX, Nd4j.createUninitialized(DataType.FLOAT, 7, IDX.length)));
    }
}
