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

    /**
     * The run's training time: the sum of its epochs' wall times (training and validation passes). A
     * resumed run's history comes back from its checkpoint, so this counts every epoch once, whichever
     * process ran it (an epoch resumed in its middle counts from the resume), and none of the time spent
     * between processes.
     */
    public double seconds() {
        double s = 0;
        for (EpochStats e : epochs) {
            s += e.seconds();
        }
        return s;
    }
}
