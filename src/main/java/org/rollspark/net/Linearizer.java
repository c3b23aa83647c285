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
}
