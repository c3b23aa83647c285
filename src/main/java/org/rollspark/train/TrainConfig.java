package org.rollspark.train;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.loss.RollLoss;

/**
 * Settings of a local training run. Defaults follow the paper's MNIST recipe: SGD with Nesterov
 * momentum 0.5, lr 0.01, batch 64, 20 epochs.
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

    /** The paper's MNIST recipe with the given loss. */
    public static TrainConfig paperMnist(RollLoss loss, long seed) {
        return new TrainConfig(20, 64, seed, "sgd", 0.01, 0.5, loss, 128);
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

    /** Every setting, for provenance. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("train.epochs", epochs);
        m.put("train.batchSize", batchSize);
        m.put("train.seed", seed);
        m.put("train.optimizer", optimizer);
        m.put("train.lr", lr);
        m.put("train.momentum", momentum);
        m.put("train.evalBatchSize", evalBatchSize);
        m.put("loss.type", loss.isVanilla() ? "vanilla" : "roll");
        m.put("loss.lambda", loss.lambda());
        m.put("loss.c", loss.c());
        m.put("loss.gamma", loss.aggregation().spec());
        return m;
    }
}
