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
        INDArray c = Host.isDense(t) ? t : t.dup('c');
        int h = (int) c.size(c.rank() - 1);
        ColumnNorms out = new ColumnNorms(groups * h);
        long off = c.offset();
        FloatBuffer fb = c.dataType() == DataType.FLOAT ? c.data().asNioFloat() : null;
        DoubleBuffer db = c.dataType() == DataType.DOUBLE ? c.data().asNioDouble() : null;
        if (fb == null && db == null) {
            throw new IllegalArgumentException("Jacobian state must be float32 or float64, got " + c.dataType());
        }
        float[] rowF = new float[h];
        double[] row = new double[h];
        for (int g = 0; g < groups; g++) {
            int o = g * h;
            double[] l1 = out.l1;
            double[] l2 = out.l2;
            double[] linf = out.linf;
            for (int k = 0; k < rows; k++) {
                int base = Math.toIntExact(off + ((long) g * rows + k) * h);
                if (fb != null) {
                    fb.get(base, rowF, 0, h);
                    for (int j = 0; j < h; j++) {
                        row[j] = rowF[j];
                    }
                } else {
                    db.get(base, row, 0, h);
                }
                for (int j = 0; j < h; j++) {
                    double v = row[j];
                    double a = Math.abs(v);
                    l1[o + j] += a;
                    l2[o + j] += v * v;
                    linf[o + j] = Math.max(linf[o + j], a);
                }
            }
            for (int j = 0; j < h; j++) {
                out.l2[o + j] = Math.sqrt(out.l2[o + j]);
            }
        }
        return out;
    }
}
