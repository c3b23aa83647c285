package org.rollspark.net;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A batch's network linearised at each example's activation pattern, in RAW input units: on its
 * linear region every neuron is the affine function {@code z_j(x) + g_j . (x' - x)}. Tangents are
 * pushed in blocks of input coordinates (bounded memory whatever D) or along given directions.
 */
public interface Linearization {

    /** float64 pre-activations, validity, group sizes and logits of the batch. */
    Network.NeuronValues values();

    /**
     * Pushes the raw-unit basis vectors {@code e_k}, k in [k0, k0 + rows), for every example. Each
     * neuron group's tangents go to {@code sink}, in forward order, as they are computed; returns the
     * logit tangents, (batch * rows, classes), rows example-major.
     */
    INDArray pushCoordinates(int k0, int rows, TangentSink sink);

    /**
     * Pushes the rows of the linearizer's {@link Linearizer#gradientBasis()} for every example, as
     * {@link #pushCoordinates} does the coordinates: each group's tangents, (batch * r, size), go to
     * {@code sink}; returns the logit tangents, (batch * r, classes), rows example-major.
     *
     * @throws UnsupportedOperationException when the network has no gradient basis
     */
    default INDArray pushGradientBasis(TangentSink sink) {
        throw new UnsupportedOperationException("this network has no gradient basis smaller than its input");
    }

    /** Pushes the rows of {@code directions} (nDir, D), raw units, for every example into {@code sink}. */
    void pushDirections(INDArray directions, TangentSink sink);

    /** Receives one neuron group's tangents. */
    @FunctionalInterface
    interface TangentSink {
        /**
         * @param group    the group's index in forward order
         * @param tangents (batch * rows, size), rows example-major; (rows, size) when {@code shared}
         * @param shared   the same tangents for every example (a first dense layer)
         */
        void accept(int group, INDArray tangents, boolean shared);
    }
}
