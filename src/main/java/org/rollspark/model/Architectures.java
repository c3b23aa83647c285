package org.rollspark.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.dense.DenseNet;
import org.rollspark.graph.GraphNet;
import org.rollspark.graph.LayerSpecs;
import org.rollspark.net.Activation;
import org.rollspark.net.Init;
import org.rollspark.net.Network;
import org.rollspark.net.Normalization;

/**
 * The architecture factory: builds a {@link Network} from its model.json architecture
 * ({@code {"type": "dense", "sizes": [...], "activation": ..., "alpha": ...}} or {@code {"type":
 * "graph", "input_shape": [...], "layers": [...]}}). The only place that knows every kind of network;
 * a new kind is added here and nowhere else outside its own package.
 */
public final class Architectures {
    private Architectures() {}

    /** The model.json architecture of a dense net. */
    public static ObjectNode dense(int[] sizes, Activation activation) {
        return DenseNet.architecture(sizes, activation);
    }

    /** The model.json architecture of a graph net. */
    public static ObjectNode graph(int[] inputShape, ArrayNode layers) {
        return GraphNet.architecture(inputShape, layers);
    }

    /**
     * A network over the given flat parameter vector (used as is).
     *
     * @throws IllegalArgumentException for an unknown type or an invalid architecture, naming the key
     */
    public static Network of(JsonNode arch, Normalization normalization, INDArray params) {
        return switch (type(arch)) {
            case "dense" -> DenseNet.of(DenseNet.sizesOf(arch), DenseNet.activationOf(arch), normalization, params);
            default -> GraphNet.of(LayerSpecs.inputShape(arch), layers(arch), normalization, params);
        };
    }

    /** Number of parameters of an architecture. */
    private static long numParams(JsonNode arch) {
        return switch (type(arch)) {
            case "dense" -> DenseNet.numParams(DenseNet.sizesOf(arch));
            default -> GraphNet.numParams(LayerSpecs.inputShape(arch), layers(arch));
        };
    }

    /** A freshly initialised network (seeded). */
    public static Network init(JsonNode arch, Normalization normalization, Init init, long seed, DataType type) {
        return switch (type(arch)) {
            case "dense" -> DenseNet.init(DenseNet.sizesOf(arch), DenseNet.activationOf(arch), normalization, init, seed, type);
            default -> GraphNet.init(LayerSpecs.inputShape(arch), layers(arch), normalization, init, seed, type);
        };
    }

    /** A zero-parameter network of an architecture, for its shapes and tensor names. */
    public static Network shape(JsonNode arch, Normalization normalization) {
        return of(arch, normalization, org.nd4j.linalg.factory.Nd4j.zeros(DataType.DOUBLE, numParams(arch)));
    }

    private static String type(JsonNode arch) {
        String type = arch.path("type").asText();
        if (!type.equals("dense") && !type.equals("graph")) {
            throw new IllegalArgumentException("architecture.type '" + type + "' is not supported (dense or graph)");
        }
        return type;
    }

    private static ArrayNode layers(JsonNode arch) {
        if (!arch.path("layers").isArray()) {
            throw new IllegalArgumentException("architecture.layers must be a list of layers");
        }
        return (ArrayNode) arch.path("layers");
    }
}
