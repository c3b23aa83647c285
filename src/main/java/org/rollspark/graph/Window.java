package org.rollspark.graph;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.util.Host;

/**
 * Local tangents: one s x s spatial window per tangent row, where the row's tangent can be non-zero.
 *
 * <p>The tangent of input coordinate (c, i, j) is zero outside the receptive field of (i, j). Through
 * the full-resolution layers at the start of a conv net (stride-1 "same" convolutions, batch norm,
 * activations, residual blocks of them) that field grows by (k - 1) / 2 per k x k convolution, so after
 * radius r the tangent lives in the (2r + 1)^2 window around (i, j), shifted inside the image at the
 * borders. Pushing windows instead of whole maps through those layers is exact: a convolution of a
 * window with zero padding gives the true tangent at every window position (the true values just
 * outside it are zero), and in reverse every parameter gradient only pairs output gradients with
 * tangent values inside the window. For 28 x 28 inputs and r = 3 that is 49 positions instead of 784.
 *
 * <p>Layouts: a window tensor is (rows, C * s * s), channel-major like the full (rows, C * h * w).
 */
final class Window {
    private final int h;
    private final int w;
    private final int s;
    private final int[] top;
    private final int[] left;

    private Window(int h, int w, int s, int[] top, int[] left) {
        this.h = h;
        this.w = w;
        this.s = s;
        this.top = top;
        this.left = left;
    }

    /** Windows of radius r around the spatial positions of flat input coordinates (C, h, w layout), one per row. */
    static Window around(int[] coords, int h, int w, int r) {
        int s = 2 * r + 1;
        int[] top = new int[coords.length];
        int[] left = new int[coords.length];
        for (int q = 0; q < coords.length; q++) {
            int at = coords[q] % (h * w);
            top[q] = Math.max(0, Math.min(at / w - r, h - s));
            left[q] = Math.max(0, Math.min(at % w - r, w - s));
        }
        return new Window(h, w, s, top, left);
    }

    /** Side of the window. */
    int side() {
        return s;
    }

    int rows() {
        return top.length;
    }

    /** The window seeds: row q is {@code values[q]} (1 when null) at coordinate {@code coords[q]}, zero elsewhere. */
    INDArray seeds(int[] coords, double[] values, int channels, DataType type) {
        double[] out = new double[rows() * channels * s * s];
        for (int q = 0; q < coords.length; q++) {
            int c = coords[q] / (h * w);
            int at = coords[q] % (h * w);
            int i = at / w - top[q];
            int j = at % w - left[q];
            out[(q * channels + c) * s * s + i * s + j] = values == null ? 1 : values[q];
        }
        return Host.array(out, type, rows(), (long) channels * s * s);
    }

    /**
     * The windows of a full (n, C * h * w) array whose row e serves tangent rows e * k ... e * k + k - 1
     * (k = rows / n), or of a full (rows, C * h * w) array (k = 1).
     */
    INDArray crop(INDArray full) {
        int k = rows() / (int) full.size(0);
        int c = (int) (full.size(1) / ((long) h * w));
        double[] src = Host.pull(full);
        double[] out = new double[rows() * c * s * s];
        int o = 0;
        for (int q = 0; q < rows(); q++) {
            int base = (q / k) * c * h * w;
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < s; i++) {
                    System.arraycopy(src, base + (ch * h + top[q] + i) * w + left[q], out, o, s);
                    o += s;
                }
            }
        }
        return Host.array(out, full.dataType(), rows(), (long) c * s * s);
    }

    /** The full (rows, C * h * w) array of window tensors, zero outside the windows. */
    INDArray embed(INDArray win) {
        int c = channels(win);
        double[] src = Host.pull(win);
        double[] out = new double[rows() * c * h * w];
        int o = 0;
        for (int q = 0; q < rows(); q++) {
            int base = q * c * h * w;
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < s; i++) {
                    System.arraycopy(src, o, out, base + (ch * h + top[q] + i) * w + left[q], s);
                    o += s;
                }
            }
        }
        return Host.array(out, win.dataType(), rows(), (long) c * h * w);
    }

    /**
     * Adds {@code scale * sum_i t_i^2} over each example's k = rows / n tangent rows into the full
     * (n, C * h * w) array {@code sq}, in place.
     */
    void addSquares(INDArray sq, INDArray win, double scale) {
        int n = (int) sq.size(0);
        int k = rows() / n;
        int c = channels(win);
        double[] src = Host.pull(win);
        double[] acc = Host.pull(sq);
        int o = 0;
        for (int q = 0; q < rows(); q++) {
            int base = (q / k) * c * h * w;
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < s; i++) {
                    int to = base + (ch * h + top[q] + i) * w + left[q];
                    for (int j = 0; j < s; j++, o++) {
                        acc[to + j] += scale * src[o] * src[o];
                    }
                }
            }
        }
        Host.push(acc, sq);
    }

    private int channels(INDArray win) {
        return (int) (win.size(1) / ((long) s * s));
    }
}
