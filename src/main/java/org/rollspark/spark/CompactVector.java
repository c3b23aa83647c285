package org.rollspark.spark;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;

/**
 * A double vector that serialises as float32 when every value is exactly a float (as are the
 * parameters and optimiser state of a float32 network), and as float64 otherwise ({@link Frame#putVector}):
 * lossless, and half the bytes for what parameter averaging ships every round.
 */
final class CompactVector implements Serializable {
    private static final long serialVersionUID = 1L;
    transient double[] values;

    CompactVector(double[] values) {
        this.values = values;
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        Frame f = new Frame().putVector(values);
        out.writeInt(f.length());
        out.write(f.array(), 0, f.length());
    }

    private void readObject(ObjectInputStream in) throws IOException {
        byte[] bytes = new byte[in.readInt()];
        in.readFully(bytes);
        values = Frame.getVector(Frame.reader(bytes, bytes.length));
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
