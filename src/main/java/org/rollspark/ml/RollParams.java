package org.rollspark.ml;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;
import org.rollspark.cli.Main;
import org.rollspark.cli.Settings;
import org.rollspark.config.Setting;
import org.rollspark.data.DataSpec;
import org.rollspark.data.TableFormat;
import org.rollspark.net.Normalization;
import org.rollspark.spark.DataPipeline;
import org.rollspark.spark.ParameterAveragingTrainer;
import org.rollspark.spark.Scoring;
import org.rollspark.spark.SparkTrainConfig;
import org.rollspark.spark.TrainingLog;
import org.rollspark.train.TrainConfig;

/**
 * The Params of the Spark ML stages, for one owner: the columns (Spark ML's usual names) and one Param per setting a
 * training run takes, derived from the setting's declaration ({@link Settings}): named by its key ({@code
 * loss.lambda}), its doc, its default, its type (an integer setting an IntParam, a list of numbers a
 * DoubleArrayParam, a list of objects its HOCON text), its check run when the value is set. A Param set on the
 * estimator is handed to the training run as the job file's setting, so fit and {@code train} read one declaration.
 */
public final class RollParams implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The sections and settings a training run takes (the rest: where data and output go, the CLI's own). */
    static final List<String> SECTIONS = List.of("loss.", "train.", "net.");
    static final List<Setting<?>> OTHERS = List.of(DataPipeline.VALIDATION, DataSpec.SEED,
            DataPipeline.STRATIFIED, DataPipeline.NORMALIZE, Normalization.MEAN, Normalization.STD, TableFormat.SHAPE,
            DataSpec.NUM_CLASSES, DataSpec.CLASSES, DataSpec.TRAIN_LIMIT, DataPipeline.SEQUENTIAL,
            SparkTrainConfig.NUM_WORKERS, TrainConfig.BATCH_SIZE, SparkTrainConfig.AVERAGING_FREQUENCY,
            ParameterAveragingTrainer.ROUNDS, SparkTrainConfig.CHECKPOINT_ROUNDS, Main.OUTPUT_DIR, Main.OUTPUT_RUN_ID,
            Main.OUTPUT_CHECKPOINT_DIR, TrainingLog.METRICS_EVERY_ROUNDS);

    final Param<String> featuresCol;
    final Param<String> labelCol;
    final Param<String> idCol;
    final Param<String> predictionCol;
    final Param<String> rawPredictionCol;
    final Param<String> probabilityCol;
    final StringArrayParam certificateCols;
    final Param<String> validationIndicatorCol;
    /** The settings' Params by key, in declaration order. */
    final Map<String, Param<?>> settings = new LinkedHashMap<>();
    private final Map<String, Setting<?>> declared = new LinkedHashMap<>();

    RollParams(Params owner) {
        featuresCol = new Param<>(owner, "featuresCol", "features column: array<float | double>, a vector, a sequence "
                + "array<array<float>>, an image (Spark's image source) or an encoded image (binary)");
        labelCol = new Param<>(owner, "labelCol", "label column: integers, or strings (classes in sorted order)");
        idCol = new Param<>(owner, "idCol", "a column whose values identify the rows (the split is drawn on it); "
                + "empty: the rows' content");
        predictionCol = new Param<>(owner, "predictionCol", "prediction column name (the class index, a double)");
        rawPredictionCol = new Param<>(owner, "rawPredictionCol", "the logits (a vector); empty: none");
        probabilityCol = new Param<>(owner, "probabilityCol", "the logits' softmax (a vector); empty: none");
        certificateCols = new StringArrayParam(owner, "certificateCols", "certification columns transform adds "
                + "(of " + Scoring.certificateColumns() + ", e.g. eps_l2, cert_l2, dec_l2, pattern_hash)", v -> Arrays
                        .stream(v).allMatch(Scoring.certificateColumns()::contains));
        validationIndicatorCol = new Param<>(owner, "validationIndicatorCol", "a boolean column marking the rows that "
                + "choose the epoch kept (as MLlib's gradient-boosted trees take it; needs idCol); empty: a seeded "
                + "hold-out of data.validation rows");
        for (Setting<?> s : Settings.ROLL.all()) {
            if (SECTIONS.stream().anyMatch(s.key()::startsWith) || OTHERS.contains(s)) {
                settings.put(s.key(), param(owner, s));
                declared.put(s.key(), s);
            }
        }
    }

    /** The Param of a setting, typed as the declaration says, its check the declaration's. */
    @SuppressWarnings("unchecked")
    private static Param<?> param(Params owner, Setting<?> s) {
        String doc = s.doc();
        Setting.Type<?> t = s.type();
        if (t == Setting.Type.INT) {
            Setting<Integer> i = (Setting<Integer>) s;
            return new IntParam(owner, s.key(), doc, v -> valid(i, (Integer) v));
        } else if (t == Setting.Type.LONG) {
            Setting<Long> l = (Setting<Long>) s;
            return new LongParam(owner, s.key(), doc, v -> valid(l, (Long) v));
        } else if (t == Setting.Type.DOUBLE) {
            Setting<Double> d = (Setting<Double>) s;
            return new DoubleParam(owner, s.key(), doc, v -> valid(d, (Double) v));
        } else if (t == Setting.Type.BOOL) {
            return new BooleanParam(owner, s.key(), doc);
        } else if (t == Setting.Type.INTS) {
            Setting<List<Integer>> l = (Setting<List<Integer>>) s;
            return new IntArrayParam(owner, s.key(), doc, v -> valid(l, Arrays.stream(v).boxed().toList()));
        } else if (t == Setting.Type.DOUBLES) {
            Setting<List<Double>> l = (Setting<List<Double>>) s;
            return new DoubleArrayParam(owner, s.key(), doc, v -> valid(l, Arrays.stream(v).boxed().toList()));
        } else if (t == Setting.Type.STRINGS) {
            Setting<List<String>> l = (Setting<List<String>>) s;
            return new StringArrayParam(owner, s.key(), doc, v -> valid(l, List.of(v)));
        } else if (t == Setting.Type.STRING) {
            Setting<String> l = (Setting<String>) s;
            return new Param<String>(owner, s.key(), doc, v -> valid(l, v));
        }
        return new Param<String>(owner, s.key(), doc + " (HOCON text)"); // lists of objects, objects
    }

    private static <T> boolean valid(Setting<T> s, T value) {
        try {
            s.check(value);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Every Param, for the owner's {@code params()}. */
    Param<?>[] all() {
        List<Param<?>> all = new ArrayList<>(List.of(featuresCol, labelCol, idCol, predictionCol, rawPredictionCol,
                probabilityCol, certificateCols, validationIndicatorCol));
        all.addAll(settings.values());
        all.sort((a, b) -> a.name().compareTo(b.name()));
        return all.toArray(Param<?>[]::new);
    }

    /** The defaults: Spark ML's column names, and each setting's declared default. */
    Map<Param<?>, Object> defaults() {
        Map<Param<?>, Object> d = new LinkedHashMap<>();
        d.put(featuresCol, TableFormat.FEATURES_COLUMN.defaultValue());
        d.put(labelCol, TableFormat.LABEL);
        d.put(idCol, TableFormat.ID_COLUMN.defaultValue());
        d.put(predictionCol, "prediction");
        d.put(rawPredictionCol, "rawPrediction");
        d.put(probabilityCol, "probability");
        d.put(certificateCols, new String[0]);
        d.put(validationIndicatorCol, "");
        settings.forEach((k, p) -> d.put(p, value(declared.get(k), declared.get(k).defaultValue())));
        return d;
    }

    /** A setting's value as its Param holds it. */
    private static Object value(Setting<?> s, Object v) {
        if (v instanceof List<?> l && s.type() != Setting.Type.OBJECTS) {
            if (s.type() == Setting.Type.INTS) {
                return l.stream().mapToInt(x -> (Integer) x).toArray();
            } else if (s.type() == Setting.Type.DOUBLES) {
                return l.stream().mapToDouble(x -> (Double) x).toArray();
            }
            return l.stream().map(String::valueOf).toArray(String[]::new);
        }
        if (s.type() == Setting.Type.OBJECT || s.type() == Setting.Type.OBJECTS) {
            return render(s, v);
        }
        return v;
    }

    @SuppressWarnings("unchecked")
    private static String render(Setting<?> s, Object v) {
        return v instanceof String text ? text : ((Setting.Type<Object>) s.type()).render(v);
    }

    /** The settings set on {@code owner}, as the job file's KEY=VALUE (HOCON values). */
    List<String> overrides(Params owner) {
        List<String> out = new ArrayList<>();
        settings.forEach((k, p) -> {
            if (owner.isSet(p)) {
                out.add(k + "=" + hocon(declared.get(k), owner.getOrDefault(p)));
            }
        });
        return out;
    }

    @SuppressWarnings("unchecked")
    private static String hocon(Setting<?> s, Object v) {
        Setting.Type<Object> t = (Setting.Type<Object>) s.type();
        if (v instanceof int[] a) {
            return t.render(Arrays.stream(a).boxed().toList());
        } else if (v instanceof double[] a) {
            return t.render(Arrays.stream(a).boxed().toList());
        } else if (v instanceof String[] a) {
            return t.render(List.of(a));
        } else if (v instanceof String text && (s.type() == Setting.Type.OBJECT || s.type() == Setting.Type.OBJECTS)) {
            return text;
        }
        return t.render(v);
    }
}
