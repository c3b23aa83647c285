package org.rollspark.spark;

import java.io.Serializable;
import java.util.Map;
import org.rollspark.train.TrainConfig;

/**
 * Parameter-averaging settings, named as in DL4J's ParameterAveragingTrainingMaster:
 * {@code numWorkers} data shards (one Spark partition each), {@code batchSizePerWorker} examples per
 * minibatch on each worker, {@code averagingFrequency} minibatches per worker between two averagings.
 * Parameters and optimiser state are both averaged (DL4J's averageUpdaters = true). The loss, the
 * optimiser, epochs and seed come from {@link TrainConfig} (its batchSize is not used here).
 *
 * @param checkpointDir folder (any Hadoop path) of resumable checkpoints, one per epoch ({@code epoch-N},
 *     {@link org.rollspark.model.TrainingCheckpoints}) plus {@code best}; null for none
 * @param checkpointRounds also checkpoint every this many averaging rounds within an epoch (0: never)
 */
public record SparkTrainConfig(TrainConfig train, int numWorkers, int batchSizePerWorker, int averagingFrequency,
        String checkpointDir, int checkpointRounds) implements Serializable {

    /** Checkpoints after every epoch only. */
    public SparkTrainConfig(TrainConfig train, int numWorkers, int batchSizePerWorker, int averagingFrequency,
            String checkpointDir) {
        this(train, numWorkers, batchSizePerWorker, averagingFrequency, checkpointDir, 0);
    }

    public SparkTrainConfig {
        if (checkpointRounds < 0) {
            throw new IllegalArgumentException("spark.checkpointRounds must be >= 0 (0 = after every epoch only), got "
                    + checkpointRounds);
        }
        if (numWorkers < 1) {
            throw new IllegalArgumentException("spark.numWorkers must be >= 1, got " + numWorkers);
        }
        if (batchSizePerWorker < 1) {
            throw new IllegalArgumentException("spark.batchSizePerWorker must be >= 1, got " + batchSizePerWorker);
        }
        if (averagingFrequency < 1) {
            throw new IllegalArgumentException("spark.averagingFrequency must be >= 1, got " + averagingFrequency);
        }
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = TrainConfig.settingsOf(this, "spark.");
        m.remove("train.batchSize"); // batchSizePerWorker is the one in use
        return m;
    }
}
