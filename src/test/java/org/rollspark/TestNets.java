package org.rollspark;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.util.Host;

/** Small random networks and inputs for tests. */
public final class TestNets {
    private TestNets() {}

    public static DenseNet net(long seed, Activation act, int... sizes) {
        return DenseNet.init(sizes, act, Normalization.scalar(0.2, 0.7), Init.UNIFORM_FAN_IN, seed, DataType.DOUBLE);
    }

    /** A (n, d) matrix of uniform values in [lo, hi). */
    public static INDArray uniform(long seed, int n, int d, double lo, double hi, DataType type) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n * d];
        for (int i = 0; i < v.length; i++) {
            v[i] = lo + (hi - lo) * r.nextDouble();
        }
        return Host.array(v, type, n, d);
    }

    /** A gradient holder over a flat vector, or null. */
    public static org.rollspark.net.Gradient gradient(INDArray flat) {
        return flat == null ? null : org.rollspark.net.Gradient.of(flat);
    }

    /** n labels drawn uniformly from [0, k). */
    public static int[] labels(long seed, int n, int k) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] y = new int[n];
        for (int i = 0; i < y.length; i++) {
            y[i] = r.nextInt(k);
        }
        return y;
    }

    /** A small residual conv net on (1, 6, 6): conv, batch norm, identity and projection blocks, pooling, dense. */
    public static final String RESNET = """
            [{"type": "conv2d", "filters": 3, "kernel": 3, "padding": 1, "bias": false},
             {"type": "batchnorm"},
             {"type": "relu"},
             {"type": "residual", "main": [{"type": "conv2d", "filters": 3, "kernel": 3, "padding": 1},
                                          {"type": "relu"},
                                          {"type": "conv2d", "filters": 3, "kernel": 3, "padding": 1}],
              "activation": "leaky_relu:0.1"},
             {"type": "residual", "main": [{"type": "conv2d", "filters": 4, "kernel": 3, "stride": 2, "padding": 1},
                                          {"type": "batchnorm"},
                                          {"type": "relu"},
                                          {"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1}],
              "shortcut": [{"type": "conv2d", "filters": 4, "kernel": 1, "stride": 2}]},
             {"type": "avgpool", "kernel": 3},
             {"type": "dense", "units": 3}]
            """;

    /** A conv net ending in global average pooling. */
    public static final String CONVNET = """
            [{"type": "conv2d", "filters": 2, "kernel": 3, "stride": 1, "padding": 0},
             {"type": "leaky_relu", "alpha": 0.2},
             {"type": "conv2d", "filters": 3, "kernel": 2, "stride": 2},
             {"type": "relu"},
             {"type": "global_avgpool"},
             {"type": "dense", "units": 3}]
            """;

    /** A recurrent net over (5, 3) sequences. */
    public static final String RNN = """
            [{"type": "rnn", "hidden": 4, "activation": "leaky_relu:0.1"},
             {"type": "dense", "units": 3}]
            """;

    public static com.fasterxml.jackson.databind.node.ArrayNode layers(String json) {
        try {
            return (com.fasterxml.jackson.databind.node.ArrayNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public static org.rollspark.graph.GraphNet graph(long seed, String json, int[] inputShape, DataType type) {
        return org.rollspark.graph.GraphNet.init(inputShape, layers(json), Normalization.scalar(0.2, 0.7),
                Init.UNIFORM_FAN_IN, seed, type);
    }
}
