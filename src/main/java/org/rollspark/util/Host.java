package org.rollspark.util;

import java.lang.ref.Reference;
import java.nio.DoubleBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Copies between ND4J arrays and Java {@code double[]} in row-major order.
 *
 * <p>An NIO view of an ND4J buffer ({@code asNioFloat()}) does not keep the array alive: JavaCPP's
 * direct buffers hold no reference to their pointer. Once the JIT sees an array's last use, a
 * collection can free its off-heap memory (ND4J's deallocator thread) while the copy still reads or
 * writes through the view. Every copy here therefore ends with a {@link Reference#reachabilityFence}
 * on the arrays it walked; so does every other walk over a raw buffer or pointer ({@link Blas},
 * {@code Frame}, {@code ColumnNorms}).
 *
 * <p>Per-neuron work (masks, hinge terms, aggregation, margins) touches arrays of a few thousand
 * values, where one ND4J op costs 10-200 us of dispatch but a Java loop a few us. That work runs on
 * the host in double precision whatever the network's data type; the heavy tensors stay in ND4J.
 */
public final class Host {
    private Host() {}

    /** Row-major copy of {@code a} as doubles. Works for views and either float data type. */
    public static double[] pull(INDArray a) {
        double[] out = new double[Math.toIntExact(a.length())];
        pull(a, out);
        return out;
    }

    /** Row-major copy of {@code a} into {@code out}, which must hold {@code a.length()} values. */
    public static void pull(INDArray a, double[] out) {
        INDArray c = dense(a);
        int n = Math.toIntExact(c.length());
        if (out.length < n) {
            throw new IllegalArgumentException("buffer of " + out.length + " for " + n + " values");
        }
        int off = Math.toIntExact(c.offset());
        if (c.dataType() == DataType.FLOAT) {
            float[] tmp = scratch(n);
            c.data().asNioFloat().get(off, tmp, 0, n);
            for (int i = 0; i < n; i++) {
                out[i] = tmp[i];
            }
        } else if (c.dataType() == DataType.DOUBLE) {
            c.data().asNioDouble().get(off, out, 0, n);
        } else {
            double[] d = c.castTo(DataType.DOUBLE).data().asDouble();
            System.arraycopy(d, 0, out, 0, n);
        }
        Reference.reachabilityFence(c);
        Reference.reachabilityFence(a);
    }

    /** Writes {@code src} (row-major) into {@code target}, converting to its data type. */
    public static void push(double[] src, INDArray target) {
        int n = Math.toIntExact(target.length());
        if (!isDense(target)) {
            target.assign(Nd4j.create(src, target.shape(), DataType.DOUBLE));
            return;
        }
        int off = Math.toIntExact(target.offset());
        if (target.dataType() == DataType.FLOAT) {
            float[] tmp = scratch(n);
            for (int i = 0; i < n; i++) {
                tmp[i] = (float) src[i];
            }
            target.data().asNioFloat().put(off, tmp, 0, n);
        } else if (target.dataType() == DataType.DOUBLE) {
            DoubleBuffer db = target.data().asNioDouble();
            db.put(off, src, 0, n);
        } else {
            target.assign(Nd4j.create(src, target.shape(), DataType.DOUBLE));
        }
        Reference.reachabilityFence(target);
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    /** A per-thread float buffer of at least n values, for bulk copies through FloatBuffer. */
    private static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) {
            s = new float[Math.max(n, s.length * 2)];
            SCRATCH.set(s);
        }
        return s;
    }

    /** A new array of the given type and shape holding {@code src}. */
    public static INDArray array(double[] src, DataType type, long... shape) {
        INDArray a = Nd4j.createUninitialized(type, shape);
        push(src, a);
        return a;
    }

    /** True when {@code a} is row-major and contiguous, so its buffer can be walked from its offset. */
    public static boolean isDense(INDArray a) {
        if (a.ordering() != 'c' && a.rank() > 1) {
            return false;
        }
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expect = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && stride[d] != expect) {
                return false;
            }
            expect *= shape[d];
        }
        return true;
    }

    private static INDArray dense(INDArray a) {
        return isDense(a) ? a : a.dup('c');
    }
}
