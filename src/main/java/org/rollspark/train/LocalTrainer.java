package org.rollspark.train;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.data.LabeledData;
import org.rollspark.loss.LossValue;
import org.rollspark.loss.RollLoss;
import org.rollspark.net.Network;

/**
 * Trains a {@link Network} in one JVM: seeded shuffling each epoch, minibatches (the last one may
 * be smaller), the configured loss and optimiser, and a validation pass after each epoch. On return
 * the network holds the parameters of the best epoch.
 */
public final class LocalTrainer {
    private final TrainConfig config;
    private final Consumer<EpochStats> listener;

    public LocalTrainer(TrainConfig config) {
        this(config, e -> { });
    }

    public LocalTrainer(TrainConfig config, Consumer<EpochStats> listener) {
        this.config = config;
        this.listener = listener;
    }

    /** The seed of the minibatch starting at {@code position} of an epoch's order (draws of a sampled loss). */
    public static long stepSeed(long epochSeed, int position) {
        return epochSeed * 0xBF58476D1CE4E5B9L + position;
    }

    /** The shuffling seed of an epoch (1-based), derived from the run's seed. */
    public static long epochSeed(long seed, int epoch) {
        return seed * 0x9E3779B97F4A7C15L + epoch;
    }

    public TrainingHistory fit(Network net, LabeledData train, LabeledData validation) {
        if (train.numFeatures() != net.inputSize()) {
            throw new IllegalArgumentException(train.name() + " has " + train.numFeatures()
                    + " features; the network takes " + net.inputSize());
        }
        if (train.size() == 0) {
            throw new IllegalArgumentException(train.name() + " is empty");
        }
        Optimizer opt = config.newOptimizer(net.params().length(), net.dataType());
        RollLoss loss = config.loss();
        org.rollspark.net.Gradient grad = loss.gradientFor(net);
        List<EpochStats> epochs = new ArrayList<>();
        INDArray best = null;
        double bestLoss = Double.POSITIVE_INFINITY;
        int bestEpoch = 0;
        for (int epoch = 1; epoch <= config.epochs(); epoch++) {
            long t0 = System.nanoTime();
            int[] order = LabeledData.permutation(train.size(), epochSeed(config.seed(), epoch));
            LossValue sum = runBatches(net, grad, opt, loss, train, order, 0, order.length, config.batchSize(),
                    epochSeed(config.seed(), epoch), "epoch " + epoch);
            recalibrate(net, train, BN_SAMPLE, config.evalBatchSize());
            double trainSeconds = (System.nanoTime() - t0) / 1e9;
            LossValue val = validation == null ? null : evaluate(net, loss, validation, config.evalBatchSize());
            double seconds = (System.nanoTime() - t0) / 1e9;
            EpochStats s = new EpochStats(epoch, sum, val, seconds, train.size() / trainSeconds);
            epochs.add(s);
            listener.accept(s);
            double score = val == null ? -epoch : val.total();
            if (score < bestLoss) {
                bestLoss = score;
                bestEpoch = epoch;
                best = net.params().dup();
            }
        }
        net.setParams(best);
        return new TrainingHistory(epochs, bestEpoch);
    }

    /**
     * Trains on the minibatches {@code order[from..to)} of {@code data} in steps of {@code batchSize}
     * (the last may be smaller), updating {@code net} in place; returns the summed training loss. The
     * sampled coordinates of a sampled loss are drawn with {@link #stepSeed}({@code seed}, position).
     */
    public static LossValue runBatches(Network net, org.rollspark.net.Gradient grad, Optimizer opt, RollLoss loss,
            LabeledData data, int[] order, int from, int to, int batchSize, long seed, String where) {
        LossValue sum = LossValue.empty();
        for (int b = from; b < to; b += batchSize) {
            int e = Math.min(to, b + batchSize);
            LossValue v = loss.valueAndGradient(net, data.features(order, b, e), data.labels(order, b, e),
                    data.lengths(order, b, e), grad, stepSeed(seed, b));
            if (!Double.isFinite(v.total())) {
                throw new DivergedException(where + ", batch at " + b, v.total());
            }
            opt.step(net.params(), grad.flat());
            sum = sum.plus(v);
        }
        return sum;
    }

    /** Training examples over which batch-norm statistics are re-estimated after every epoch. */
    public static final int BN_SAMPLE = 2048;

    /**
     * Per-channel batch-norm sums over the first {@code limit} examples of {@code data}, in batches
     * (null when the network has no batch norm). See {@link Network#batchNormSums}.
     */
    public static double[] batchNormSums(Network net, LabeledData data, int limit, int batchSize) {
        if (!net.hasBatchNorm()) {
            return null;
        }
        int n = Math.min(limit, data.size());
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        double[] sums = null;
        for (int from = 0; from < n; from += batchSize) {
            int to = Math.min(n, from + batchSize);
            if (to - from < 2 && sums != null) {
                break; // a batch of one has no spread
            }
            double[] s = net.batchNormSums(data.features(order, from, to), null);
            if (sums == null) {
                sums = s;
            } else {
                for (int i = 0; i < s.length; i++) {
                    sums[i] += s[i];
                }
            }
        }
        return sums;
    }

    /** Re-estimates batch-norm running statistics from the first {@code limit} examples ("precise batch norm"). */
    static void recalibrate(Network net, LabeledData data, int limit, int batchSize) {
        double[] sums = batchNormSums(net, data, limit, batchSize);
        if (sums != null) {
            net.setBatchNormStatistics(sums);
        }
    }

    /** The loss over a whole dataset, in batches (no gradients). */
    public static LossValue evaluate(Network net, RollLoss loss, LabeledData data, int batchSize) {
        int[] order = new int[data.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        LossValue sum = LossValue.empty();
        for (int from = 0; from < order.length; from += batchSize) {
            int to = Math.min(order.length, from + batchSize);
            sum = sum.plus(loss.value(net, data.features(order, from, to), data.labels(order, from, to),
                    data.lengths(order, from, to)));
        }
        return sum;
    }
}
