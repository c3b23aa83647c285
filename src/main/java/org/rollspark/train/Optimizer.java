package org.rollspark.train;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Updates a flat parameter vector in place from a flat gradient of the same layout. Its state
 * (momenta, step count) is exposed as flat arrays so it can be checkpointed and averaged.
 */
public interface Optimizer {
    /** One update. {@code grad} may be overwritten. */
    void step(INDArray params, INDArray grad);

    /** The state arrays, live (each of the parameter vector's length). */
    INDArray[] state();

    /** Number of steps taken. */
    long steps();

    /**
     * Sets the state (copied from arrays laid out like {@link #state()}) and the step count, e.g. after
     * parameter averaging or from a checkpoint.
     */
    default void restore(INDArray[] state, long steps) {
        INDArray[] mine = state();
        if (state.length != mine.length) {
            throw new IllegalArgumentException(describe().get("optimizer") + " has " + mine.length
                    + " state arrays, got " + state.length);
        }
        for (int i = 0; i < mine.length; i++) {
            mine[i].assign(state[i]);
        }
        setSteps(steps);
    }

    /** Sets the step count (used by bias corrections). */
    void setSteps(long steps);

    /** Settings and kind, for logs and provenance. */
    java.util.Map<String, Object> describe();
}
