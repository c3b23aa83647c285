package org.rollspark.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.graph.GraphNet;

/**
 * A piecewise-linear classifier with one flat parameter vector: {@link DenseNet} (the fast dense
 * path) or {@link GraphNet} (convolutional, residual, recurrent). Trainers, parameter averaging,
 * certification and model folders work through this interface.
 */
public interface Network {

    int inputSize();

    int outputSize();

    /** Neurons per example (every pre-activation entering a piecewise-linear activation). */
    int numNeurons();

    DataType dataType();

    /** The live flat parameter vector. */
    INDArray params();

    Normalization normalization();

    Network copy();

    Network castTo(DataType type);

    /** The same architecture over another flat parameter vector (used as is). */
    Network withParams(INDArray flat);

    default void setParams(INDArray flat) {
        params().assign(flat);
    }

    /** Logits of a raw (B, D) batch (inference mode). */
    INDArray logits(INDArray raw);

    /**
     * The architecture as stored in model.json: {@code {"type": "dense", "sizes": [...], "activation":
     * ..., "alpha": ...}} or {@code {"type": "graph", "input_shape": [...], "layers": [...]}}.
     */
    ObjectNode architecture();

    /** A short human-readable description. */
    String describe();

    /**
     * Pre-activations of every neuron of a raw batch in inference mode (host copies, one (B * size)
     * array per neuron group) with validity (null, or 0 at padded sequence steps), and the logits.
     */
    NeuronValues neuronValues(INDArray raw);

    /**
     * {@link #neuronValues(INDArray)} of padded sequences with per-example lengths (null: all full
     * length); only recurrent graph networks take lengths.
     */
    default NeuronValues neuronValues(INDArray raw, int[] lengths) {
        if (lengths != null) {
            throw new IllegalArgumentException("sequence lengths need a graph network with a recurrent layer");
        }
        return neuronValues(raw);
    }

    /** The gradient of {@code sum(dLogits * logits)} with respect to the RAW input, (B, D). */
    INDArray inputGradient(INDArray raw, INDArray dLogits);

    /** Host pre-activations per neuron group, their validity, group sizes and the logits. */
    record NeuronValues(double[][] z, double[][] valid, int[] sizes, double[] logits) {}

    /** Builds a network from a model.json architecture over the given parameters. */
    static Network of(JsonNode architecture, Normalization normalization, INDArray params) {
        String type = architecture.path("type").asText();
        return switch (type) {
            case "dense" -> DenseNet.of(DenseNet.sizesOf(architecture), DenseNet.activationOf(architecture), normalization,
                    params);
            case "graph" -> GraphNet.of(GraphNet.inputShapeOf(architecture), (ArrayNode) architecture.path("layers"),
                    normalization, params);
            default -> throw new IllegalArgumentException("architecture type '" + type + "': use dense or graph");
        };
    }

    /** Number of parameters of a model.json architecture. */
    static long numParams(JsonNode architecture) {
        String type = architecture.path("type").asText();
        return switch (type) {
            case "dense" -> DenseNet.numParams(DenseNet.sizesOf(architecture));
            case "graph" -> GraphNet.numParams(GraphNet.inputShapeOf(architecture), (ArrayNode) architecture.path("layers"));
            default -> throw new IllegalArgumentException("architecture type '" + type + "': use dense or graph");
        };
    }
}
