package org.rollspark.spark;

import java.io.Serializable;
import java.util.List;
import java.util.concurrent.Future;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.rollspark.data.LabeledData;
import org.rollspark.net.Network;
import org.rollspark.region.Norm;
import org.rollspark.region.RegionCertifier;
import org.rollspark.train.DivergedException;
import org.rollspark.train.TrainingHistory;

/**
 * Whole models trained in parallel, one per Spark task: the way MLlib's CrossValidator
 * ({@code parallelism}) and Hyperopt's SparkTrials use a cluster for a hyper-parameter search. The
 * training and validation shards are collected once and broadcast; each {@link #submit submitted} model
 * is a Spark job of one task that runs every averaging round of
 * {@link ParameterAveragingTrainer#fitInProcess} over the broadcast shards on one executor core. The
 * jobs run concurrently, as many at a time as there are free task slots, and each model comes back as
 * soon as it is done. A model trained this way has the same bits as one trained by
 * {@link ParameterAveragingTrainer} with the same shards.
 */
public final class ParallelTraining implements AutoCloseable {
    /**
     * A trained model's parameters, history and metrics (every epoch's row with the probe's median l2
     * margin, and rows every N rounds when asked); or why its training diverged (then those are null).
     */
    public record Outcome(NetState net, TrainingHistory history, TrainingLog metrics, double seconds, String diverged)
            implements Serializable {}

    private final JavaSparkContext sc;
    private final Broadcast<LabeledData[]> train;
    private final Broadcast<LabeledData[]> validation;
    private final String name;
    private final String fingerprint;

    /** Collects {@code train}'s and {@code validation}'s shards to the driver and broadcasts them. */
    public ParallelTraining(JavaSparkContext sc, ShardedData train, ShardedData validation) {
        this.sc = sc;
        sc.setJobDescription("roll sweep: broadcast the training and validation shards");
        this.train = sc.broadcast(train.shards().collect().toArray(new LabeledData[0]));
        try {
            this.validation = validation == null ? null
                    : sc.broadcast(validation.shards().collect().toArray(new LabeledData[0]));
        } catch (RuntimeException e) {
            this.train.destroy();
            throw e;
        }
        this.name = train.name();
        this.fingerprint = train.fingerprint();
    }

    /**
     * The bytes a broadcast copy of {@code data} takes in an executor's heap: float32 features, int
     * labels, long ids and sequence lengths.
     */
    public static long bytes(ShardedData data) {
        return data.size() * (4L * data.numFeatures() + 4 + 8 + (data.hasLengths() ? 4 : 0));
    }

    /**
     * Starts training {@code net} (not modified) with {@code config} as one Spark job of one task; the
     * future gives the trained model (a list of one) and its metrics ({@code metricsEveryRounds} as in
     * {@link TrainingLog}), with {@code probe}'s median l2 margin after every epoch. A diverged training is an
     * {@link Outcome} with its message (not retried: it would diverge again); any other failure fails the future.
     */
    public Future<List<Outcome>> submit(String description, SparkTrainConfig config, Network net, LabeledData probe,
            int metricsEveryRounds) {
        sc.setJobDescription(description);
        TaskThreads.forStage(sc);
        sc.setLocalProperty("spark.job.interruptOnCancel", "true"); // a cancelled point stops (Shards checks between steps)
        return sc.parallelize(List.of(0), 1)
                .map(new TrainOne(train, validation, config, NetState.of(net), probe, metricsEveryRounds, name, fingerprint))
                .collectAsync();
    }

    /** Frees the broadcast shards on the executors. */
    @Override
    public void close() {
        train.destroy();
        if (validation != null) {
            validation.destroy();
        }
    }

    private static final class TrainOne implements Function<Integer, Outcome> {
        private static final long serialVersionUID = 1L;
        private final Broadcast<LabeledData[]> train;
        private final Broadcast<LabeledData[]> validation;
        private final SparkTrainConfig config;
        private final NetState net;
        private final LabeledData probe;
        private final int metricsEveryRounds;
        private final String name;
        private final String fingerprint;

        TrainOne(Broadcast<LabeledData[]> train, Broadcast<LabeledData[]> validation, SparkTrainConfig config, NetState net,
                LabeledData probe, int metricsEveryRounds, String name, String fingerprint) {
            this.train = train;
            this.validation = validation;
            this.config = config;
            this.net = net;
            this.probe = probe;
            this.metricsEveryRounds = metricsEveryRounds;
            this.name = name;
            this.fingerprint = fingerprint;
        }

        @Override
        public Outcome call(Integer ignored) {
            TaskThreads.apply();
            long t0 = System.nanoTime();
            Network model = net.toNet();
            int[] lengths = probe.lengths(LabeledData.identity(probe.size()), 0, probe.size());
            TrainingLog metrics = new TrainingLog(metricsEveryRounds).measuring(e ->
                    new RegionCertifier(model).certify(probe.allFeatures(), lengths).quantile(Norm.L2, 0.5));
            try {
                TrainingHistory h = ParameterAveragingTrainer.fitInProcess(config, model, train.value(),
                        validation == null ? null : validation.value(), name, fingerprint, metrics);
                return new Outcome(NetState.of(model), h, metrics, (System.nanoTime() - t0) / 1e9, null);
            } catch (DivergedException e) {
                return new Outcome(null, null, null, (System.nanoTime() - t0) / 1e9, e.getMessage());
            }
        }
    }
}
