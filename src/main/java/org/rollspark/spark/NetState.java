package org.rollspark.spark;

import java.io.Serializable;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.net.Activation;
import org.rollspark.net.DenseNet;
import org.rollspark.net.Normalization;
import org.rollspark.util.Host;

/**
 * A network as plain Java values, for broadcasting to executors: architecture, normalisation,
 * data type and the flat parameters in double precision (float32 values round-trip exactly).
 */
public record NetState(int[] sizes, Activation activation, Normalization normalization, boolean float64,
        double[] params) implements Serializable {

    /** Serialised through {@link Proxy}: parameters of a float32 network travel as 4-byte floats. */
    private Object writeReplace() {
        return new Proxy(sizes, activation, normalization, float64, new CompactVector(params));
    }

    private record Proxy(int[] sizes, Activation activation, Normalization normalization, boolean float64,
            CompactVector params) implements Serializable {
        private Object readResolve() {
            return new NetState(sizes, activation, normalization, float64, params.values);
        }
    }

    public static NetState of(DenseNet net) {
        return new NetState(net.sizes(), net.activation(), net.normalization(), net.dataType() == DataType.DOUBLE,
                Host.pull(net.params()));
    }

    public DataType dataType() {
        return float64 ? DataType.DOUBLE : DataType.FLOAT;
    }

    /** A network over a fresh copy of these parameters. */
    public DenseNet toNet() {
        return DenseNet.of(sizes, activation, normalization, Host.array(params, dataType(), params.length));
    }
}
