package org.rollspark.spark;

import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.Type.STRING;
import static org.rollspark.config.Setting.atLeast;

import java.io.Serializable;
import java.util.Map;
import org.rollspark.config.Setting;
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
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<String> MASTER = SETTINGS.add(Setting.of("spark.master", STRING, "local[2]",
            "Used only when no master is given by spark-submit (--master) or spark.master.").main());
    public static final Setting<Integer> NUM_WORKERS = SETTINGS.add(Setting.of("spark.numWorkers", INT, 2,
            "Parameter averaging (named as DL4J's ParameterAveragingTrainingMaster names it): data shards = Spark "
                    + "partitions.", atLeast(1)).main());
    public static final Setting<Integer> AVERAGING_FREQUENCY = SETTINGS.add(Setting.of("spark.averagingFrequency", INT, 5,
            "Minibatches per worker between parameter averagings.", atLeast(1)).main());
    public static final Setting<Integer> CHECKPOINT_ROUNDS = SETTINGS.add(Setting.of("spark.checkpointRounds", INT, 0,
            "Also checkpoint every this many averaging rounds inside an epoch (0: after every epoch only).",
            atLeast(0)).main());


    /** Checkpoints after every epoch only. */
    public SparkTrainConfig(TrainConfig train, int numWorkers, int batchSizePerWorker, int averagingFrequency,
            String checkpointDir) {
        this(train, numWorkers, batchSizePerWorker, averagingFrequency, checkpointDir, 0);
    }

    public SparkTrainConfig {
        CHECKPOINT_ROUNDS.check(checkpointRounds);
        NUM_WORKERS.check(numWorkers);
        TrainConfig.BATCH_SIZE.check(batchSizePerWorker);
        AVERAGING_FREQUENCY.check(averagingFrequency);
    }

    /** Parameter averaging as the settings describe it, checkpointing to {@code checkpointDir} (null: none). */
    public static SparkTrainConfig of(Setting.Values v, String checkpointDir) {
        return new SparkTrainConfig(TrainConfig.of(v), v.get(NUM_WORKERS), v.get(TrainConfig.BATCH_SIZE),
                v.get(AVERAGING_FREQUENCY), checkpointDir, v.get(CHECKPOINT_ROUNDS));
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = TrainConfig.settingsOf(this, "spark.");
        m.remove("train.batchSize"); // batchSizePerWorker is the one in use
        return m;
    }
}
