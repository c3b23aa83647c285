package org.rollspark.region;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.util.Host;

/**
 * l1, l2 and l_inf norms of the columns of each example's block of a (B*r, H) Jacobian state, in one
 * pass over memory: for example b and neuron j, the norms of {@code T[b*r .. b*r+r-1, j]}, which is
 * the input gradient of neuron j when the state holds full Jacobians (r = D).
 */
final class ColumnNorms {
    final double[] l1;
    final double[] l2;
    final double[] linf;

    private ColumnNorms(int n) {
        l1 = new double[n];
        l2 = new double[n];
        linf = new double[n];
    }

    double[] get(Norm q) {
        return switch (q) {
            case L1 -> l1;
            case L2 -> l2;
            case LINF -> linf;
        };
    }

    /** Norms of a (groups*rows, h) array, one set per group: results are (groups * h). */
    static ColumnNorms of(INDArray t, int groups, int rows) {
        ColumnNorms out = new ColumnNorms(groups * (int) t.size(t.rank() - 1));
        out.add(t, groups, rows);
        return out.finish();
    }

    /** Empty accumulators for {@code n} columns. */
    static ColumnNorms zeros(int n) {
        return new ColumnNorms(n);
    }

    /** Takes the square roots of the l2 sums: call once, after the last {@link #add}. */
    ColumnNorms finish() {
        for (int i = 0; i < l2.length; i++) {
            l2[i] = Math.sqrt(l2[i]);
        }
        return this;
    }

    /**
     * Adds the rows of a (groups*rows, h) block to the accumulators (l1 and squared l2 sums, l_inf
     * maxima), so that the rows of a Jacobian can come in several blocks of input coordinates.
     */
    void add(INDArray t, int groups, int rows) {
        INDArray c = Host.isDense(t) ? t : t.dup('c');
        int h = (int) c.size(c.rank() - 1);
        ColumnNorms out = this;
        long off = c.offset();
        FloatBuffer fb = c.dataType() == DataType.FLOAT ? c.data().asNioFloat() : null;
        DoubleBuffer db = c.dataType() == DataType.DOUBLE ? c.data().asNioDouble() : null;
        if (fb == null && db == null) {
            throw new IllegalArgumentException("Jacobian state must be float32 or float64, got " + c.dataType());
        }
        if (fb != null) {
            accumulateFloat(fb, off, groups, rows, h, out);
        } else {
            accumulateDouble(db, off, groups, rows, h, out);
        }
        java.lang.ref.Reference.reachabilityFence(c); // a dup, or t: the NIO view keeps neither alive (see Host)
        java.lang.ref.Reference.reachabilityFence(t);
    }

    /** float32 states: float accumulators, so the loop vectorises without a conversion pass. */
    private static void accumulateFloat(FloatBuffer fb, long off, int groups, int rows, int h, ColumnNorms out) {
        float[] row = new float[h];
        float[] l1 = new float[h];
        float[] l2 = new float[h];
        float[] linf = new float[h];
        for (int g = 0; g < groups; g++) {
            java.util.Arrays.fill(l1, 0);
            java.util.Arrays.fill(l2, 0);
            java.util.Arrays.fill(linf, 0);
            for (int k = 0; k < rows; k++) {
                fb.get(Math.toIntExact(off + ((long) g * rows + k) * h), row, 0, h);
                for (int j = 0; j < h; j++) {
                    float v = row[j];
                    float a = Math.abs(v);
                    l1[j] += a;
                    l2[j] += v * v;
                    linf[j] = Math.max(linf[j], a);
                }
            }
            for (int j = 0; j < h; j++) {
                out.l1[g * h + j] += l1[j];
                out.l2[g * h + j] += l2[j];
                out.linf[g * h + j] = Math.max(out.linf[g * h + j], linf[j]);
            }
        }
    }

    /** float64 states (verification): double accumulators. */
    private static void accumulateDouble(DoubleBuffer db, long off, int groups, int rows, int h, ColumnNorms out) {
        double[] row = new double[h];
        for (int g = 0; g < groups; g++) {
            int o = g * h;
            for (int k = 0; k < rows; k++) {
                db.get(Math.toIntExact(off + ((long) g * rows + k) * h), row, 0, h);
                for (int j = 0; j < h; j++) {
                    double v = row[j];
                    double a = Math.abs(v);
                    out.l1[o + j] += a;
                    out.l2[o + j] += v * v;
                    out.linf[o + j] = Math.max(out.linf[o + j], a);
                }
            }
        }
    }
}
