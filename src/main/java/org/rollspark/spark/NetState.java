package org.rollspark.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.net.Network;
import org.rollspark.net.Normalization;
import org.rollspark.util.Host;

/**
 * A network as plain Java values, for broadcasting to executors: its architecture (model.json's JSON
 * text), normalisation, data type and the flat parameters in double precision (float32 values
 * round-trip exactly).
 */
public record NetState(String architecture, Normalization normalization, boolean float64, double[] params)
        implements Serializable {

    /** Serialised through {@link Proxy}: parameters of a float32 network travel as 4-byte floats. */
    private Object writeReplace() {
        return new Proxy(architecture, normalization, float64, new CompactVector(params));
    }

    private record Proxy(String architecture, Normalization normalization, boolean float64, CompactVector params)
            implements Serializable {
        private Object readResolve() {
            return new NetState(architecture, normalization, float64, params.values);
        }
    }

    public static NetState of(Network net) {
        return new NetState(net.architecture().toString(), net.normalization(), net.dataType() == DataType.DOUBLE,
                Host.pull(net.params()));
    }

    public DataType dataType() {
        return float64 ? DataType.DOUBLE : DataType.FLOAT;
    }

    /** A network over a fresh copy of these parameters. */
    public Network toNet() {
        org.rollspark.blas.KernelCheck.ensure(TaskThreads::executor); // before ND4J loads OpenBLAS here
        ExecutorInfo.logOnce();
        try {
            return org.rollspark.model.Architectures.of(new ObjectMapper().readTree(architecture), normalization,
                    Host.array(params, dataType(), params.length));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
