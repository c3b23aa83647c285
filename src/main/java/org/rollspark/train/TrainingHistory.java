package org.rollspark.train;

import java.util.List;

/**
 * The epochs of a run and the one kept: the lowest validation loss, lambda * ROLL term included
 * (the paper's model selection). Without validation data the last epoch is kept.
 */
public record TrainingHistory(List<EpochStats> epochs, int bestEpoch) implements java.io.Serializable {
    public EpochStats best() {
        return epochs.get(bestEpoch - 1);
    }
}
