package org.rollspark.net;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One forward pass of a batch through a {@link Network} and the passes that build on it: the tangent
 * passes of the ROLL term (neuron input-gradients of the network linearised at the batch's
 * activation patterns, masks held constant) and reverse mode into the parameter gradient given to
 * {@link Network#forward}. Gradients are with respect to the NORMALISED input.
 */
public interface Forward {

    /** The logits, (batch, classes). */
    INDArray logits();

    /** The neuron groups in forward order (a binding neuron's "layer" is its group's index). */
    List<? extends Neurons> neurons();

    /** Host copies of every group's pre-activations and validity, the group sizes and the logits. */
    Network.NeuronValues values();

    /**
     * The tangent passes of the ROLL term. With {@code sq} given, adds {@code scale * sum_k (dz_j /
     * dx_k)^2} over the drawn coordinates k into {@code sq[i]}, (batch, size) per group. With
     * {@code weight} given (dLoss / d sq, (batch, size) per group), back-propagates through the same
     * passes into the parameter gradient. Call with both for a one-pass loss, or first with {@code sq}
     * and then with {@code weight} when the weights depend on the squares.
     */
    void squaredGradients(Coordinates draw, INDArray[] sq, INDArray[] weight);

    /**
     * Reverse mode through the base pass from dLoss / dlogits plus the groups' z gradients
     * ({@link Neurons#setZGradient}). Call once, after every {@link #squaredGradients} with weights.
     */
    void backward(INDArray dLogits);
}
