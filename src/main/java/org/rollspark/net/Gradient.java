package org.rollspark.net;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A reusable holder of one network's parameter gradient ({@link Network#newGradient()}): the flat
 * vector, laid out like the parameters, plus whatever views the network keeps over it (building them
 * costs more than a small step, so holders are made once and reused).
 */
public interface Gradient {

    /** The flat gradient, laid out like {@link Network#params()}. */
    INDArray flat();

    /** A holder with no views over a flat vector (the passes overwrite it; it need not be zeroed). */
    static Gradient of(INDArray flat) {
        return () -> flat;
    }
}
