package org.rollspark.spark;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;

/**
 * A double vector that serialises as float32 when every value is exactly a float (as are the
 * parameters and optimiser state of a float32 network), and as float64 otherwise: lossless, and half
 * the bytes for what parameter averaging ships every round.
 */
final class CompactVector implements Serializable {
    private static final long serialVersionUID = 1L;
    transient double[] values;

    CompactVector(double[] values) {
        this.values = values;
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        write(out, values);
    }

    private void readObject(ObjectInputStream in) throws IOException {
        values = read(in);
    }

    /** Writes {@code values}: a flag (float32 or float64), the length, then the values big-endian. */
    static void write(DataOutput out, double[] values) throws IOException {
        boolean asFloat = true;
        for (double v : values) {
            if ((double) (float) v != v && !Double.isNaN(v)) {
                asFloat = false;
                break;
            }
        }
        out.writeBoolean(asFloat);
        out.writeInt(values.length);
        ByteBuffer b = ByteBuffer.allocate(values.length * (asFloat ? 4 : 8));
        for (double v : values) {
            if (asFloat) {
                b.putFloat((float) v);
            } else {
                b.putDouble(v);
            }
        }
        out.write(b.array());
    }

    /** Reads what {@link #write} wrote. */
    static double[] read(DataInput in) throws IOException {
        boolean asFloat = in.readBoolean();
        int n = in.readInt();
        byte[] bytes = new byte[n * (asFloat ? 4 : 8)];
        in.readFully(bytes);
        ByteBuffer b = ByteBuffer.wrap(bytes);
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = asFloat ? b.getFloat() : b.getDouble();
        }
        return values;
    }

    /** The values of {@code arrays} (an optimiser's state, say), copied to the JVM. */
    static CompactVector[] pull(org.nd4j.linalg.api.ndarray.INDArray[] arrays) {
        CompactVector[] out = new CompactVector[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            out[i] = new CompactVector(org.rollspark.util.Host.pull(arrays[i]));
        }
        return out;
    }

    static CompactVector[] of(double[][] arrays) {
        CompactVector[] out = new CompactVector[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            out[i] = new CompactVector(arrays[i]);
        }
        return out;
    }
}
