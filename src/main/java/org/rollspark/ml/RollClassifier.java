package org.rollspark.ml;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructType;
import org.rollspark.cli.Main;
import org.rollspark.cli.Settings;
import org.rollspark.data.DataSpec;
import org.rollspark.data.TableFormat;
import org.rollspark.loss.RollLoss;
import org.rollspark.spark.DataPipeline;
import org.rollspark.spark.Scoring;
import org.rollspark.train.TrainConfig;

/**
 * ROLL training as a Spark ML Estimator: {@code fit} trains one network with parameter averaging across the data's
 * partitions (or {@code spark.numWorkers}) exactly as the {@code train} command trains on a table: the same data
 * pipeline, trainer and selection of the epoch kept (the lowest loss on a seeded hold-out of {@code data.validation}
 * rows), so the same rows, settings and seeds give the same model, bit for bit. Every setting of a training run is a
 * Param named by its job-file key ({@code loss.lambda}, {@code net.hidden}, {@code train.epochs}, ...; see {@link
 * RollParams}); the columns are Spark ML's ({@code featuresCol}, {@code labelCol}, ...) plus {@code idCol}. The
 * model's folder (and checkpoints) go to {@code output.dir} when it is set, else to a temporary folder removed after
 * the fit.
 */
public final class RollClassifier extends Estimator<RollClassificationModel>
        implements DefaultParamsWritable, RollColumns<RollClassifier> {
    private static final long serialVersionUID = 1L;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RollClassifier.class);

    private final String uid;
    private final RollParams p;

    public RollClassifier() {
        this(Identifiable$.MODULE$.randomUID("rollClassifier"));
    }

    public RollClassifier(String uid) {
        this.uid = uid;
        this.p = new RollParams(this);
        setDefaults();
    }

    @Override
    public RollParams rollParams() {
        return p;
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public Param<?>[] params() {
        return p.all();
    }

    /** The Param of a job-file setting ({@code loss.lambda}, {@code net.hidden}, ...), for grids and ParamMaps. */
    public Param<?> setting(String key) {
        Param<?> s = p.settings.get(key);
        if (s == null) {
            throw new IllegalArgumentException(key + " is not a setting of a training run; one of " + p.settings.keySet());
        }
        return s;
    }

    /** Sets a job-file setting by key, to a value of its Param's type (an int[] for net.hidden, ...). */
    @SuppressWarnings("unchecked")
    public RollClassifier setSetting(String key, Object value) {
        set((Param<Object>) setting(key), value);
        return this;
    }

    /** loss.lambda: the weight of the ROLL term. */
    public DoubleParam lambda() {
        return (DoubleParam) setting(RollLoss.LAMBDA.key());
    }

    /** loss.c: the margin cap of the ROLL term. */
    public DoubleParam c() {
        return (DoubleParam) setting(RollLoss.C.key());
    }

    public IntParam epochs() {
        return (IntParam) setting(TrainConfig.EPOCHS.key());
    }

    public LongParam seed() {
        return (LongParam) setting(TrainConfig.SEED.key());
    }

    public RollClassifier setLambda(double v) {
        return setSetting(RollLoss.LAMBDA.key(), v);
    }

    public RollClassifier setC(double v) {
        return setSetting(RollLoss.C.key(), v);
    }

    public RollClassifier setEpochs(int v) {
        return setSetting(TrainConfig.EPOCHS.key(), v);
    }

    public RollClassifier setSeed(long v) {
        return setSetting(TrainConfig.SEED.key(), v);
    }

    public RollClassifier setIdCol(String v) {
        set(p.idCol, v);
        return this;
    }

    /** Marks the validation rows by a boolean column (needs an id column); empty: a seeded hold-out. */
    public RollClassifier setValidationIndicatorCol(String v) {
        set(p.validationIndicatorCol, v);
        return this;
    }

    /** The job-file settings this estimator's Params make (data.format = table and the columns included). */
    List<String> jobSettings(Path tempOutput) {
        List<String> s = new ArrayList<>(List.of(entry(DataSpec.FORMAT, "table"), entry(DataSpec.TRAIN, "DataFrame"),
                entry(TableFormat.FEATURES_COLUMN, getOrDefault(p.featuresCol)),
                entry(DataSpec.LABEL_COLUMN, getOrDefault(p.labelCol)),
                entry(TableFormat.ID_COLUMN, getOrDefault(p.idCol))));
        if (!isSet(p.settings.get(Main.OUTPUT_DIR.key()))) {
            s.add(entry(Main.OUTPUT_DIR, tempOutput.toString()));
        }
        s.addAll(p.overrides(this));
        return s;
    }

    /** A string setting as the job file's KEY=VALUE. */
    private static String entry(org.rollspark.config.Setting<String> setting, String value) {
        return setting.key() + "=" + setting.type().render(value);
    }

    @Override
    public RollClassificationModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Path temp = null;
        try {
            temp = Files.createTempDirectory("roll-fit-");
            Dataset<Row> rows = dataset.toDF();
            List<String> settings = jobSettings(temp);
            java.util.Set<Long> held = null;
            String indicator = getOrDefault(p.validationIndicatorCol);
            if (!indicator.isEmpty()) {
                String id = getOrDefault(p.idCol);
                if (id.isEmpty()) {
                    throw new IllegalArgumentException("validationIndicatorCol " + indicator + " marks rows by their ids: "
                            + "set idCol too");
                }
                held = new java.util.HashSet<>();
                for (Row r : rows.where(functions.col(indicator)).select(functions.col(id)).collectAsList()) {
                    held.add(Scoring.rowId(r.get(0)));
                }
                settings.add(DataPipeline.VALIDATION.key() + "=" + held.size());
                rows = rows.drop(indicator);
            }
            Main.Fitted f = Main.fit(dataset.sparkSession(), settings, rows, held,
                    new PrintWriter(new LogWriter(LOG), true));
            RollClassificationModel m = new RollClassificationModel(uid, f.net(), f.provenance(), f.classNames());
            copyValues(m, ParamMap.empty());
            return m.setParent(this);
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        } finally {
            if (temp != null) {
                try {
                    org.rollspark.model.ModelIO.deleteTree(temp);
                } catch (IOException e) {
                    LOG.warn("could not remove {}: {}", temp, e.getMessage());
                }
            }
        }
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return Scoring.schema(schema, getOrDefault(p.featuresCol), getOrDefault(p.labelCol), outputs());
    }

    @Override
    public RollClassifier copy(ParamMap extra) {
        return (RollClassifier) defaultCopy(extra);
    }

    public static org.apache.spark.ml.util.MLReader<RollClassifier> read() {
        return new org.apache.spark.ml.util.DefaultParamsReader<>();
    }

    public static RollClassifier load(String path) {
        return read().load(path);
    }

    /** The lines a PrintWriter receives, logged one by one. */
    static final class LogWriter extends java.io.Writer {
        private final org.slf4j.Logger log;
        private final StringBuilder line = new StringBuilder();

        LogWriter(org.slf4j.Logger log) {
            this.log = log;
        }

        @Override
        public void write(char[] buf, int off, int len) {
            for (int i = off; i < off + len; i++) {
                if (buf[i] == '\n') {
                    flush();
                } else {
                    line.append(buf[i]);
                }
            }
        }

        @Override
        public void flush() {
            if (line.length() > 0) {
                log.info(line.toString());
                line.setLength(0);
            }
        }

        @Override
        public void close() {
            flush();
        }
    }
}
