package org.rollspark.spark;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.util.Host;

/**
 * A reusable little-endian byte buffer that values are written into before they go on a socket
 * ({@link TreeExchange}), and the matching reads. Vectors of doubles travel as float32 when every value is
 * exactly a float (written in one pass, redone as float64 at the first value that is not), and arrays of a
 * float32 network as their own bytes (a bulk copy, no conversion).
 */
final class Frame {
    private byte[] bytes = new byte[1 << 16];
    private ByteBuffer buf = wrap(bytes);

    private static ByteBuffer wrap(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Empties the frame (its capacity stays). */
    Frame clear() {
        buf.clear();
        return this;
    }

    byte[] array() {
        return bytes;
    }

    int length() {
        return buf.position();
    }

    private void room(long more) {
        long need = (long) buf.position() + more;
        if (need > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("a frame of " + need + " bytes: more than 2 GB per exchange");
        }
        if (need > bytes.length) {
            int pos = buf.position();
            bytes = Arrays.copyOf(bytes, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(need, 2L * bytes.length)));
            buf = wrap(bytes);
            buf.position(pos);
        }
    }

    Frame putInt(int v) {
        room(4);
        buf.putInt(v);
        return this;
    }

    Frame putLong(long v) {
        room(8);
        buf.putLong(v);
        return this;
    }

    Frame putDouble(double v) {
        room(8);
        buf.putDouble(v);
        return this;
    }

    /** A vector: as float32 when every value is exactly a float (NaN included), float64 otherwise. */
    Frame putVector(double[] v) {
        room(5 + 8L * v.length);
        int start = buf.position();
        buf.put((byte) 4).putInt(v.length);
        int at = buf.position();
        for (double x : v) {
            float f = (float) x;
            if (f != x && !Double.isNaN(x)) {
                buf.position(start);
                buf.put((byte) 8).putInt(v.length);
                for (double y : v) {
                    buf.putDouble(y);
                }
                return this;
            }
            buf.putFloat(at, f);
            at += 4;
        }
        buf.position(at);
        return this;
    }

    /** A vector written by {@link #putVector}. */
    static double[] getVector(ByteBuffer in) {
        int width = in.get();
        double[] out = new double[in.getInt()];
        if (width == 4) {
            for (int i = 0; i < out.length; i++) {
                out[i] = in.getFloat();
            }
        } else {
            for (int i = 0; i < out.length; i++) {
                out[i] = in.getDouble();
            }
        }
        return out;
    }

    /** Adds a vector written by {@link #putVector} into {@code sums}, element by element in float64. */
    static void addVector(ByteBuffer in, double[] sums) {
        int width = in.get();
        int n = in.getInt();
        if (n != sums.length) {
            throw new IllegalStateException("a vector of " + n + " values added to " + sums.length);
        }
        int at = in.position();
        if (width == 4) {
            for (int i = 0; i < n; i++, at += 4) {
                sums[i] += in.getFloat(at);
            }
        } else {
            for (int i = 0; i < n; i++, at += 8) {
                sums[i] += in.getDouble(at);
            }
        }
        in.position(at);
    }

    /** The values of {@code a} in its own type (float32 arrays copied as they are). */
    Frame putArray(INDArray a) {
        int n = Math.toIntExact(a.length());
        if (a.dataType() == DataType.FLOAT && Host.isDense(a)) {
            room(5 + 4L * n);
            buf.put((byte) 4).putInt(n);
            FloatBuffer src = a.data().asNioFloat().duplicate();
            src.position(Math.toIntExact(a.offset())).limit(Math.toIntExact(a.offset()) + n);
            buf.asFloatBuffer().put(src);
            buf.position(buf.position() + 4 * n);
            java.lang.ref.Reference.reachabilityFence(a); // the NIO view keeps no array alive (see Host)
            return this;
        }
        return putVector(Host.pull(a));
    }

    /** Reads what {@link #putArray} (or {@link #putVector}) wrote into {@code target}, in its data type. */
    static void getArray(ByteBuffer in, INDArray target) {
        int n = Math.toIntExact(target.length());
        if (in.get(in.position()) == 4 && target.dataType() == DataType.FLOAT && Host.isDense(target)) {
            in.get();
            if (in.getInt() != n) {
                throw new IllegalStateException("an array of another length than " + n);
            }
            FloatBuffer dst = target.data().asNioFloat().duplicate();
            dst.position(Math.toIntExact(target.offset()));
            FloatBuffer src = in.asFloatBuffer();
            src.limit(n);
            dst.put(src);
            in.position(in.position() + 4 * n);
            java.lang.ref.Reference.reachabilityFence(target); // the NIO view keeps no array alive (see Host)
            return;
        }
        Host.push(getVector(in), target);
    }

    /** The frame's bytes as a little-endian buffer to read from. */
    static ByteBuffer reader(byte[] bytes, int length) {
        return ByteBuffer.wrap(bytes, 0, length).order(ByteOrder.LITTLE_ENDIAN);
    }
}
