package org.rollspark.net;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One group of neurons of a {@link Forward} pass: every pre-activation of a layer that enters a
 * piecewise-linear activation (a hidden dense layer, an activation after a convolution, a recurrent
 * layer's units at every step).
 */
public interface Neurons {

    /** Neurons per example in this group. */
    int size();

    /** Pre-activations, (batch, size), in the network's data type. */
    INDArray z();

    /** 1 for real neurons, 0 for padded sequence steps, (batch, size); null when all are real. */
    INDArray valid();

    /** Sets the loss's extra gradient with respect to z, (batch, size), consumed by {@link Forward#backward}. */
    void setZGradient(INDArray g);
}
