package org.rollspark.spark;

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

    private void readObject(ObjectInputStream in) throws IOException {
        boolean asFloat = in.readBoolean();
        int n = in.readInt();
        byte[] bytes = new byte[n * (asFloat ? 4 : 8)];
        in.readFully(bytes);
        ByteBuffer b = ByteBuffer.wrap(bytes);
        values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = asFloat ? b.getFloat() : b.getDouble();
        }
    }

    static CompactVector[] of(double[][] arrays) {
        CompactVector[] out = new CompactVector[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            out[i] = new CompactVector(arrays[i]);
        }
        return out;
    }
}
