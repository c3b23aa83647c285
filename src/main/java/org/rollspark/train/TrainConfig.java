package org.rollspark.train;

import static org.rollspark.config.Setting.Type.DOUBLE;
import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.Type.LONG;
import static org.rollspark.config.Setting.Type.STRING;
import static org.rollspark.config.Setting.atLeast;
import static org.rollspark.config.Setting.finiteAtLeast;
import static org.rollspark.config.Setting.oneOf;
import static org.rollspark.config.Setting.positive;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.config.Setting;
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
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<Long> SEED = SETTINGS.add(Setting.of("train.seed", LONG, 7L,
            "Seeds the model: initialisation, shuffles and sampled coordinates (data.seed seeds the split and "
                    + "shards).").main());
    public static final Setting<String> INIT_MODEL = SETTINGS.add(Setting.of("train.initModel", STRING, "",
            "Fine-tune a pretrained network: an ONNX file (.onnx, see the README's ONNX section) or a model folder. Its "
                    + "architecture, weights and input normalisation are used as they are (net.* and data.normalize do "
                    + "not apply); empty: a new network from net.*.").main());
    public static final Setting<Integer> EPOCHS = SETTINGS.add(Setting.of("train.epochs", INT, 5, "Training epochs.",
            atLeast(1)).main());
    public static final Setting<Integer> BATCH_SIZE = SETTINGS.add(Setting.of("spark.batchSizePerWorker", INT, 32,
            "Minibatch size on each worker.", atLeast(1)).main());
    public static final Setting<String> OPTIMIZER = SETTINGS.add(Setting.of("train.optimizer", STRING, "sgd",
            "sgd (Nesterov momentum), momentum (plain), adam or amsgrad.",
            oneOf(List.of("sgd", "momentum", "adam", "amsgrad"))).main());
    public static final Setting<Double> LR = SETTINGS.add(Setting.of("train.lr", DOUBLE, 0.02, "Learning rate.", positive()).main());
    public static final Setting<Double> MOMENTUM = SETTINGS.add(Setting.of("train.momentum", DOUBLE, 0.9,
            "Momentum of sgd and momentum, in [0, 1).", v -> {
                if (!(v >= 0 && v < 1)) {
                    throw new IllegalArgumentException("must be in [0, 1)");
                }
            }).main());
    public static final Setting<Integer> EVAL_BATCH_SIZE = SETTINGS.add(Setting.of("train.evalBatchSize", INT, 256,
            "Batch size of validation passes (no effect on results).", atLeast(1)));


    public TrainConfig {
        EPOCHS.check(epochs);
        BATCH_SIZE.check(batchSize);
        EVAL_BATCH_SIZE.check(evalBatchSize);
        optimizer = optimizer.toLowerCase(Locale.ROOT);
        OPTIMIZER.check(optimizer);
        LR.check(lr);
        MOMENTUM.check(momentum);
    }

    /** The training run the settings describe (batch size: spark.batchSizePerWorker). */
    public static TrainConfig of(Setting.Values v) {
        return new TrainConfig(v.get(EPOCHS), v.get(BATCH_SIZE),
                v.get(SEED), v.get(OPTIMIZER), v.get(LR), v.get(MOMENTUM), RollLoss.of(v), v.get(EVAL_BATCH_SIZE));
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
