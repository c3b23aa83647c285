package org.rollspark.net;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Region inference for one network ({@link Network#linearizer()}): holds what every batch shares (a
 * float64 copy of the network, raw-unit seeds) and linearises batches at their activation patterns.
 */
public interface Linearizer {

    /**
     * The network linearised at each example's activation pattern. Pre-activations, patterns and
     * logits come from a float64 pass (a small |z| is a difference of large terms); its masks are
     * imposed on the tangent passes, which run in the network's own data type.
     *
     * @param lengths valid steps per example of padded sequences, or null
     */
    Linearization linearize(INDArray raw, int[] lengths);

    /** Input coordinates per tangent block for a batch of this size, so a block's state stays ~16M values. */
    int coordinateBlock(int batch);

    /**
     * The rows of an orthonormal basis U, (r, D) in float64, raw units, r < D, of a subspace that holds every
     * neuron's raw-unit input gradient (for a dense network: the row space of its first layer, from a thin QR).
     * Pushing these r rows instead of the D coordinates ({@link Linearization#pushGradientBasis}) gives each
     * tangent column the l2 norm of the gradient it stands for, and the logit tangents times U the logit
     * Jacobian, at r / D of the cost; l1 and l_inf norms need the coordinates. Null when the network has no
     * such basis smaller than its input (the default).
     */
    default INDArray gradientBasis() {
        return null;
    }
}
