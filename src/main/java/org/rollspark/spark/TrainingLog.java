package org.rollspark.spark;

import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.atLeast;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.rollspark.config.Setting;
import org.rollspark.loss.LossValue;
import org.rollspark.model.RemoteFolders;
import org.rollspark.train.EpochStats;

/**
 * A training run's metrics and their table, {@code output.dir/training/run_date=.../run_id=.../}: one
 * row per epoch ({@code round} null) and, when asked, one every N averaging rounds within an epoch
 * (the running means of the epoch so far). The log is the listener the trainers call (their epoch
 * listener; as a {@link RoundListener} also after every round); {@link #write}
 * replaces the run's partition with every row so far, so a run resumed from a checkpoint, which
 * redoes the rounds after it, continues the table without duplicates: a row replaces the one of the same
 * epoch and round, and drops those recorded after it by the interrupted attempt.
 */
public final class TrainingLog implements Consumer<EpochStats>, RoundListener, Serializable {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<Integer> METRICS_EVERY_ROUNDS = SETTINGS.add(Setting.of("output.metricsEveryRounds", INT, 0,
            "The training-metrics table (output.dir/training) has a row per epoch; N > 0 adds one every N averaging "
                    + "rounds within an epoch (the epoch's running means).", atLeast(0)));

    private static final long serialVersionUID = 1L;

    /** The table's schema. Losses are means over the rows' examples; {@code val_eps_l2_p50} is the probe's median. */
    public static final StructType SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("epoch", DataTypes.IntegerType, false)
            .add("round", DataTypes.IntegerType, true)
            .add("rounds", DataTypes.IntegerType, true)
            .add("train_loss", DataTypes.DoubleType, false)
            .add("train_cross_entropy", DataTypes.DoubleType, false)
            .add("train_roll_term", DataTypes.DoubleType, false)
            .add("train_accuracy", DataTypes.DoubleType, false)
            .add("val_loss", DataTypes.DoubleType, true)
            .add("val_accuracy", DataTypes.DoubleType, true)
            .add("val_eps_l2_p50", DataTypes.DoubleType, true)
            .add("examples_per_second", DataTypes.DoubleType, false)
            .add("wall_seconds", DataTypes.DoubleType, false)
            .add("recorded_at", DataTypes.TimestampType, false);

    /**
     * One row: an epoch's ({@code round} null) or the epoch's first {@code round} of {@code rounds} rounds
     * (the training figures are means over the examples so far; the validation ones are null).
     */
    public record Entry(int epoch, Integer round, Integer rounds, double trainLoss, double trainCrossEntropy,
            double trainRollTerm, double trainAccuracy, Double valLoss, Double valAccuracy, Double valEps2,
            double examplesPerSecond, double wallSeconds, long recordedAtMillis) implements Serializable {
        Entry(int epoch, Integer round, Integer rounds, LossValue train, LossValue validation, Double valEps2,
                double examplesPerSecond, double wallSeconds) {
            this(epoch, round, rounds, train.total(), train.crossEntropy(), train.rollTerm(), train.accuracy(),
                    validation == null ? null : validation.total(), validation == null ? null : validation.accuracy(),
                    valEps2, examplesPerSecond, wallSeconds, System.currentTimeMillis());
        }

        Row row(String runId) {
            return RowFactory.create(runId, epoch, round, rounds, trainLoss, trainCrossEntropy, trainRollTerm,
                    trainAccuracy, valLoss, valAccuracy, valEps2, examplesPerSecond, wallSeconds,
                    new java.sql.Timestamp(recordedAtMillis));
        }

        static Entry of(Row r) {
            return new Entry(r.getInt(r.fieldIndex("epoch")), r.getAs("round"), r.getAs("rounds"),
                    r.getDouble(r.fieldIndex("train_loss")), r.getDouble(r.fieldIndex("train_cross_entropy")),
                    r.getDouble(r.fieldIndex("train_roll_term")), r.getDouble(r.fieldIndex("train_accuracy")),
                    r.getAs("val_loss"), r.getAs("val_accuracy"), r.getAs("val_eps_l2_p50"),
                    r.getDouble(r.fieldIndex("examples_per_second")), r.getDouble(r.fieldIndex("wall_seconds")),
                    r.getTimestamp(r.fieldIndex("recorded_at")).getTime());
        }
    }

    private final int everyRounds;
    private final List<Entry> entries = new ArrayList<>();
    private transient ToDoubleFunction<EpochStats> probe;
    private transient Consumer<Entry> onRow;

    /** A log keeping epoch rows and, when {@code everyRounds} > 0, a row every that many rounds. */
    public TrainingLog(int everyRounds) {
        if (everyRounds < 0) {
            METRICS_EVERY_ROUNDS.check(everyRounds);
        }
        this.everyRounds = everyRounds;
    }

    /** A log continuing {@code earlier} rows (a resumed run's table). */
    public TrainingLog(int everyRounds, List<Entry> earlier) {
        this(everyRounds);
        entries.addAll(earlier);
    }

    /** Calls {@code then} with each row once it is recorded (for writing the table as training goes). */
    public TrainingLog onRow(Consumer<Entry> then) {
        this.onRow = then;
        return this;
    }

    /** Measures the validation probe's median l2 margin at every epoch's end, for its row. */
    public TrainingLog measuring(ToDoubleFunction<EpochStats> medianEps2) {
        this.probe = medianEps2;
        return this;
    }

    /** A round: recorded when it is a multiple of {@code everyRounds} and not the epoch's last. */
    @Override
    public void round(int epoch, int round, int rounds, LossValue sum, double seconds) {
        if (everyRounds > 0 && round % everyRounds == 0 && round < rounds) {
            record(new Entry(epoch, round, rounds, sum, null, null, sum.count() / Math.max(seconds, 1e-9), seconds));
        }
    }

    @Override
    public int everyRounds() {
        return everyRounds;
    }

    @Override
    public void accept(EpochStats s) {
        Entry e = new Entry(s.epoch(), null, null, s.train(), s.validation(), probe == null ? null : probe.applyAsDouble(s),
                s.examplesPerSecond(), s.seconds());
        record(e);
    }

    /** The rows so far, in training order. */
    public List<Entry> entries() {
        return List.copyOf(entries);
    }

    /** Adds a row after dropping the rows it replaces: its own and any recorded later by an earlier attempt. */
    private void record(Entry e) {
        entries.removeIf(x -> order(x) >= order(e));
        entries.add(e); // the last in training order now: the list stays sorted
        if (onRow != null) {
            onRow.accept(e);
        }
    }

    /** Position in training order: epoch, then its rounds, then its epoch row. */
    private static long order(Entry e) {
        return e.epoch() * (1L << 32) + (e.round() == null ? Integer.MAX_VALUE : e.round());
    }

    /** The partition of {@code runId} under {@code root} on any run date, or null. */
    static Path existing(FileSystem fs, Path root, String runId) throws IOException {
        if (!fs.exists(root)) {
            return null;
        }
        for (FileStatus date : fs.listStatus(root)) {
            Path p = new Path(date.getPath(), "run_id=" + runId);
            if (date.isDirectory() && date.getPath().getName().startsWith("run_date=") && fs.exists(p)) {
                return p;
            }
        }
        return null;
    }

    /**
     * The rows a run wrote earlier (a resumed run continues them), or none; {@code root} is
     * {@code output.dir/training}.
     */
    public static List<Entry> read(SparkSession spark, String root, String runId) throws IOException {
        FileSystem fs = RemoteFolders.fs(root, spark.sparkContext().hadoopConfiguration());
        Path p = existing(fs, new Path(root), runId);
        if (p == null) {
            return List.of();
        }
        List<Entry> out = new ArrayList<>();
        for (Row r : spark.read().schema(SCHEMA).parquet(p.toString()).collectAsList()) {
            out.add(Entry.of(r));
        }
        return out;
    }

    /**
     * Replaces the run's partition of the training table ({@code root} is {@code output.dir/training})
     * with these rows, staged and committed whole with a manifest; a run continued on a later day keeps
     * its first partition. Returns the partition.
     */
    public static String write(SparkSession spark, String root, String runDate, String runId, List<Entry> rows,
            Map<String, Object> config, String dataFingerprint) throws IOException {
        FileSystem fs = RemoteFolders.fs(root, spark.sparkContext().hadoopConfiguration());
        Path earlier = existing(fs, new Path(root), runId);
        String date = earlier == null ? runDate : earlier.getParent().getName().substring("run_date=".length());
        List<Row> out = new ArrayList<>();
        for (Entry e : rows) {
            out.add(e.row(runId));
        }
        Map<String, Object> manifest = RunManifest.header(date, runId, "succeeded", 0);
        manifest.put("epochs", rows.stream().filter(e -> e.round() == null).count());
        manifest.put("rows", rows.size());
        return RunTables.publish(spark, root, date, runId, "training", out, SCHEMA, manifest, config, dataFingerprint);
    }
}
