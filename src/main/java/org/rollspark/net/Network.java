package org.rollspark.net;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A piecewise-linear classifier with one flat parameter vector. Everything that differs between
 * architectures lives behind this interface and its {@link Forward} passes: the input shape, the
 * neuron groups, the tangent passes of the ROLL term, the linearisation that certification reads,
 * batch-norm hooks and tensor naming. Losses, certification, trainers, parameter averaging and model
 * folders work through it alone.
 *
 * <p>Implementations: {@code org.rollspark.dense.DenseNet} (the dense fast path) and
 * {@code org.rollspark.graph.GraphNet} (convolutional, residual, recurrent and dense layers).
 */
public interface Network {

    /** One example's shape: {@code [D]}, {@code [steps, features]} or {@code [channels, height, width]}. */
    int[] inputShape();

    /** D, the length of one raw input row. */
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

    /**
     * The named parameter tensors in storage order, each a slice of {@link #params()}: model folders
     * store one .npy per tensor under its name.
     */
    List<Tensor> tensors();

    /** The architecture as stored in model.json ({@code {"type": "dense" | "graph", ...}}). */
    ObjectNode architecture();

    /** A short human-readable description. */
    String describe();

    /**
     * A forward pass of a raw (B, D) batch.
     *
     * @param training batch norm on batch statistics (and running statistics updated)
     * @param lengths  valid steps per example of padded sequences (recurrent layers), or null
     * @param grad     receives the parameter gradient of the pass's backward steps (overwritten), or null
     * @throws IllegalArgumentException for a batch of the wrong width, lengths without a recurrent
     *     layer, or a gradient holder of another network
     */
    Forward forward(INDArray raw, boolean training, int[] lengths, Gradient grad);

    /** A zeroed, reusable gradient holder laid out like {@link #params()}. */
    Gradient newGradient();

    /** Region inference for this network's current parameters (see {@link Linearizer}). */
    Linearizer linearizer();

    /** Logits of a raw (B, D) batch (inference mode). */
    default INDArray logits(INDArray raw) {
        return forward(raw, false, null, null).logits();
    }

    /**
     * Pre-activations of every neuron of a raw batch in inference mode, with validity and the logits,
     * as host copies; {@code lengths} as in {@link #forward} (null: all full length).
     */
    default NeuronValues neuronValues(INDArray raw, int[] lengths) {
        return forward(raw, false, lengths, null).values();
    }

    default NeuronValues neuronValues(INDArray raw) {
        return neuronValues(raw, null);
    }

    /** The gradient of {@code sum(dLogits * logits)} with respect to the RAW input, (B, D). */
    INDArray inputGradient(INDArray raw, INDArray dLogits);

    /** Whether the network has batch-norm layers, whose running statistics trainers re-estimate. */
    default boolean hasBatchNorm() {
        return false;
    }

    /**
     * Per-channel sums of every batch-norm layer's input over a training-mode pass of one batch
     * (x, x^2, count; layer after layer), without touching the running statistics. Sums of several
     * batches and workers add up; {@link #setBatchNormStatistics} turns them into statistics.
     * Null when the network has no batch norm.
     */
    default double[] batchNormSums(INDArray raw, int[] lengths) {
        return null;
    }

    /** Sets every batch-norm layer's running statistics from summed {@link #batchNormSums}. */
    default void setBatchNormStatistics(double[] sums) {
        if (hasBatchNorm()) {
            throw new UnsupportedOperationException("batch-norm statistics for " + describe());
        }
    }

    /** Host pre-activations per neuron group, their validity (null: all real), group sizes and the logits. */
    record NeuronValues(double[][] z, double[][] valid, int[] sizes, double[] logits) {}

    /** A named slice of the flat parameter vector, with its shape (PyTorch's layout). */
    record Tensor(String name, long offset, long[] shape) {
        public long size() {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }
    }
}
