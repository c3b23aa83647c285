package org.rollspark.spark;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.rollspark.model.Staging;
import org.rollspark.region.Norm;

/**
 * The sweep table: one row per grid point (and the vanilla baseline) under
 * {@code OUTPUT/run_date=YYYY-MM-DD/run_id=ID/part-*.parquet} (OUTPUT is {@code output.dir/sweeps}), with
 * {@code _SUCCESS} and a manifest ({@code OUTPUT/_runs/run_date=.../run_id=.../_run.json}, as for
 * certification; names starting with '_' are not partitions to Spark, DuckDB or pandas), written under a
 * staging folder and committed whole ({@link Staging#commit}). Margins are in raw input units: the
 * {@code val_} columns on the validation split, the {@code test_} columns on the test split.
 */
public final class SweepTable {
    private SweepTable() {}

    /**
     * One point's outcome; the figures are null for a failed point. {@code settingsHash} is the hash of
     * the point's resolved settings (outputs and the grid itself left out): a rerun reuses a point only
     * when it matches. {@code test} holds the test accuracy and median eps_1, eps_2, eps_inf of a point
     * certified on the test split (the baseline and the picks, or every point), else null.
     */
    public record Point(String id, String status, String lossType, Map<String, String> swept, String settingsJson,
            String settingsHash,
            Integer bestEpoch, Double accuracy, double[][] epsQuartiles, Long distinctPatterns, double trainSeconds,
            String model, String selected, String error, double[] test) {}

    /** The table's schema for these swept keys (one string column each, {@code set_} + the key with '_' for '.'). */
    public static StructType schema(List<String> sweptKeys) {
        StructType s = new StructType()
                .add("run_id", DataTypes.StringType, false)
                .add("point_id", DataTypes.StringType, false)
                .add("status", DataTypes.StringType, false)
                .add("loss_type", DataTypes.StringType, false);
        for (String k : sweptKeys) {
            s = s.add(column(k), DataTypes.StringType, true);
        }
        s = s.add("settings", DataTypes.StringType, false)
                .add("settings_hash", DataTypes.StringType, false)
                .add("best_epoch", DataTypes.IntegerType, true)
                .add("val_accuracy", DataTypes.DoubleType, true);
        for (Norm p : Norm.values()) {
            for (String q : new String[] {"p25", "p50", "p75"}) {
                s = s.add("val_eps_" + p.label() + "_" + q, DataTypes.DoubleType, true);
            }
        }
        return s.add("val_distinct_patterns", DataTypes.LongType, true)
                .add("train_seconds", DataTypes.DoubleType, false)
                .add("model", DataTypes.StringType, true)
                .add("selected", DataTypes.StringType, true)
                .add("error", DataTypes.StringType, true)
                .add("test_accuracy", DataTypes.DoubleType, true)
                .add("test_eps_l1_p50", DataTypes.DoubleType, true)
                .add("test_eps_l2_p50", DataTypes.DoubleType, true)
                .add("test_eps_linf_p50", DataTypes.DoubleType, true);
    }

    /** The column of a swept setting key. */
    public static String column(String key) {
        return "set_" + key.replace('.', '_');
    }

    /**
     * Writes the table and its manifest for one sweep run, replacing an earlier table of the same run.
     *
     * @return the table's partition path
     */
    public static String write(SparkSession spark, String output, String runDate, String runId, List<String> sweptKeys,
            int gridPoints, List<Point> points, Map<String, Object> config, String dataFingerprint) throws IOException {
        StructType schema = schema(sweptKeys);
        List<Row> rows = new ArrayList<>();
        for (Point p : points) {
            List<Object> v = new ArrayList<>(List.of(runId, p.id(), p.status(), p.lossType()));
            for (String k : sweptKeys) {
                v.add(p.swept().get(k));
            }
            v.add(p.settingsJson());
            v.add(p.settingsHash());
            v.add(p.bestEpoch());
            v.add(p.accuracy());
            for (Norm n : Norm.values()) {
                for (int q = 0; q < 3; q++) {
                    v.add(p.epsQuartiles() == null ? null : nullIfNaN(p.epsQuartiles()[n.ordinal()][q]));
                }
            }
            v.add(p.distinctPatterns());
            v.add(p.trainSeconds());
            v.add(p.model());
            v.add(p.selected());
            v.add(p.error());
            for (int i = 0; i < 4; i++) {
                v.add(p.test() == null ? null : nullIfNaN(p.test()[i]));
            }
            rows.add(RowFactory.create(v.toArray()));
        }
        Map<String, Object> manifest = RunManifest.header(runDate, runId, "succeeded", 0);
        manifest.put("points", gridPoints);
        manifest.put("failed", points.stream().filter(p -> !p.status().equals("ok")).count());
        return RunTables.publish(spark, output, runDate, runId, "sweeps", rows, schema, manifest, config, dataFingerprint);
    }

    /** NaN (a norm not certified) as the table's null. */
    private static Double nullIfNaN(double v) {
        return Double.isNaN(v) ? null : v;
    }
}
