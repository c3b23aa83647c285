package org.rollspark.train;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.loss.RollLoss;

/**
 * Settings of a training run (the job defaults are in org.rollspark.cli.Settings; the paper's MNIST
 * recipe is conf/mnist-paper.conf).
 *
 * @param optimizer {@code sgd} (Nesterov), {@code momentum} (plain), {@code adam} or {@code amsgrad}
 * @param evalBatchSize batch size of validation passes (no effect on results)
 */
public record TrainConfig(int epochs, int batchSize, long seed, String optimizer, double lr, double momentum,
        RollLoss loss, int evalBatchSize) implements java.io.Serializable {

    public TrainConfig {
        if (epochs < 1) {
            throw new IllegalArgumentException("train.epochs must be >= 1, got " + epochs);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("train.batchSize must be >= 1, got " + batchSize);
        }
        if (evalBatchSize < 1) {
            throw new IllegalArgumentException("train.evalBatchSize must be >= 1, got " + evalBatchSize);
        }
        optimizer = optimizer.toLowerCase(Locale.ROOT);
        if (!Map.of("sgd", 1, "momentum", 1, "adam", 1, "amsgrad", 1).containsKey(optimizer)) {
            throw new IllegalArgumentException("train.optimizer '" + optimizer + "': use sgd, momentum, adam or amsgrad");
        }
        if (!(lr > 0)) {
            throw new IllegalArgumentException("train.lr must be > 0, got " + lr);
        }
    }

    public TrainConfig withEpochs(int e) {
        return new TrainConfig(e, batchSize, seed, optimizer, lr, momentum, loss, evalBatchSize);
    }

    public TrainConfig withLoss(RollLoss l) {
        return new TrainConfig(epochs, batchSize, seed, optimizer, lr, momentum, l, evalBatchSize);
    }

    public Optimizer newOptimizer(long numParams, DataType type) {
        return switch (optimizer) {
            case "sgd" -> new Sgd(numParams, type, lr, momentum, true);
            case "momentum" -> new Sgd(numParams, type, lr, momentum, false);
            case "adam" -> new Adam(numParams, type, lr, 0.9, 0.999, 1e-8, false);
            case "amsgrad" -> new Adam(numParams, type, lr, 0.9, 0.999, 1e-8, true);
            default -> throw new AssertionError(optimizer);
        };
    }

    /** Every setting, for provenance and the checkpoint hash ({@link #settingsOf}). */
    public Map<String, Object> toMap() {
        return settingsOf(this, "train.");
    }

    /**
     * The settings a record holds: one entry {@code prefix + component} per record component, read by
     * reflection so that a new component cannot be left out; a loss expands into its {@code loss.*}
     * settings and a nested TrainConfig into its own. Null values are recorded as "".
     */
    public static Map<String, Object> settingsOf(Record r, String prefix) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (java.lang.reflect.RecordComponent c : r.getClass().getRecordComponents()) {
            Object v;
            try {
                v = c.getAccessor().invoke(r);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(c.getName(), e);
            }
            if (v instanceof RollLoss l) {
                m.putAll(l.settings());
            } else if (v instanceof TrainConfig t) {
                m.putAll(t.toMap());
            } else {
                m.put(prefix + c.getName(), v == null ? "" : v);
            }
        }
        return m;
    }
}
