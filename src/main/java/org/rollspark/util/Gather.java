package org.rollspark.util;

import java.lang.ref.Reference;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gathers and scatter-adds of whole rows or columns of row-major matrices, on the arrays' memory: the ReLU
 * fast path of the Jacobian chain multiplies only the columns of a layer's active units, a different set
 * per example ({@code dense.JacobianChain}). Source and target are float32 or float64 matrices of the same
 * type whose rows are contiguous (stride 1 along a row; the row stride may be larger, as in a view of whole
 * rows of a wider matrix). One pass over the rows each, no op dispatch; a few us per 300 x 300 block.
 */
public final class Gather {
    private Gather() {}

    private static final ThreadLocal<float[]> FLOATS = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<double[]> DOUBLES = ThreadLocal.withInitial(() -> new double[0]);

    /** {@code dst = src[:, idx]}: dst (rows, idx.length), src (rows, h). */
    public static void columns(INDArray src, int[] idx, INDArray dst) {
        walk(src, dst, idx, true, false);
    }

    /** {@code dst[:, idx] += src}: src (rows, idx.length), dst (rows, h). */
    public static void addColumns(INDArray src, int[] idx, INDArray dst) {
        walk(src, dst, idx, true, true);
    }

    /** {@code dst = src[idx, :]}: dst (idx.length, n), src (m, n). */
    public static void rows(INDArray src, int[] idx, INDArray dst) {
        walk(src, dst, idx, false, false);
    }

    /** {@code dst[idx, :] += src}: src (idx.length, n), dst (m, n). */
    public static void addRows(INDArray src, int[] idx, INDArray dst) {
        walk(src, dst, idx, false, true);
    }

    /**
     * The four operations: along columns (the gathered side's rows are picked within each row) or rows (whole
     * rows picked), gathering from src or scatter-adding into dst.
     */
    private static void walk(INDArray src, INDArray dst, int[] idx, boolean alongColumns, boolean add) {
        check(src);
        check(dst);
        if (src.dataType() != dst.dataType()) {
            throw new IllegalArgumentException("gather from " + src.dataType() + " into " + dst.dataType());
        }
        INDArray wide = add ? dst : src; // the side indexed by idx
        INDArray narrow = add ? src : dst;
        int rows = (int) narrow.size(0);
        int cols = (int) narrow.size(1);
        if (alongColumns ? wide.size(0) != rows || cols != idx.length : wide.size(1) != cols || rows != idx.length) {
            throw new IllegalArgumentException("gather shapes " + java.util.Arrays.toString(wide.shape()) + " and "
                    + java.util.Arrays.toString(narrow.shape()) + " for " + idx.length + " indices");
        }
        int wideLd = (int) wide.stride(0);
        int narrowLd = (int) narrow.stride(0);
        int wideOff = Math.toIntExact(wide.offset());
        int narrowOff = Math.toIntExact(narrow.offset());
        int wideCols = (int) wide.size(1);
        if (src.dataType() == DataType.FLOAT) {
            FloatBuffer w = wide.data().asNioFloat();
            FloatBuffer n = narrow.data().asNioFloat();
            float[] wr = floats(wideCols + cols);
            for (int r = 0; r < (alongColumns ? rows : idx.length); r++) {
                int wAt = wideOff + (alongColumns ? r : idx[r]) * wideLd;
                int nAt = narrowOff + r * narrowLd;
                if (!alongColumns && !add) {
                    w.get(wAt, wr, 0, cols);
                    n.put(nAt, wr, 0, cols);
                    continue;
                }
                w.get(wAt, wr, 0, wideCols);
                if (add) {
                    n.get(nAt, wr, wideCols, cols);
                    for (int k = 0; k < cols; k++) {
                        wr[alongColumns ? idx[k] : k] += wr[wideCols + k];
                    }
                    w.put(wAt, wr, 0, wideCols);
                } else {
                    for (int k = 0; k < cols; k++) {
                        wr[wideCols + k] = wr[idx[k]];
                    }
                    n.put(nAt, wr, wideCols, cols);
                }
            }
        } else if (src.dataType() == DataType.DOUBLE) {
            DoubleBuffer w = wide.data().asNioDouble();
            DoubleBuffer n = narrow.data().asNioDouble();
            double[] wr = doubles(wideCols + cols);
            for (int r = 0; r < (alongColumns ? rows : idx.length); r++) {
                int wAt = wideOff + (alongColumns ? r : idx[r]) * wideLd;
                int nAt = narrowOff + r * narrowLd;
                w.get(wAt, wr, 0, wideCols);
                if (add) {
                    n.get(nAt, wr, wideCols, cols);
                    for (int k = 0; k < cols; k++) {
                        wr[alongColumns ? idx[k] : k] += wr[wideCols + k];
                    }
                    w.put(wAt, wr, 0, wideCols);
                } else {
                    for (int k = 0; k < cols; k++) {
                        wr[wideCols + k] = wr[alongColumns ? idx[k] : k];
                    }
                    n.put(nAt, wr, wideCols, cols);
                }
            }
        } else {
            throw new IllegalArgumentException("gather of " + src.dataType() + ": float32 or float64 only");
        }
        Reference.reachabilityFence(src);
        Reference.reachabilityFence(dst);
    }

    private static void check(INDArray a) {
        if (a.rank() != 2 || a.size(1) > 1 && a.stride(1) != 1) {
            throw new IllegalArgumentException("gather needs matrices with contiguous rows, got shape "
                    + java.util.Arrays.toString(a.shape()) + " strides " + java.util.Arrays.toString(a.stride()));
        }
    }

    private static float[] floats(int n) {
        float[] f = FLOATS.get();
        if (f.length < n) {
            f = new float[n];
            FLOATS.set(f);
        }
        return f;
    }

    private static double[] doubles(int n) {
        double[] d = DOUBLES.get();
        if (d.length < n) {
            d = new double[n];
            DOUBLES.set(d);
        }
        return d;
    }
}
