package org.rollspark.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.rollspark.model.ModelIO;
import org.rollspark.model.RemoteFolders;
import org.rollspark.net.Network;
import org.rollspark.region.Norm;
import org.rollspark.spark.SweepTable;
import org.rollspark.train.ModelSelection;
import picocli.CommandLine.Command;

/**
 * The sweep command: trains the vanilla baseline and every point of {@code sweep.grid} with the same
 * seed, data, split and shards (one after another, each with parameter averaging across the cluster),
 * certifies each on the validation split, picks models by the paper's rule on validation
 * ({@link ModelSelection}), writes the sweep table, certifies the baseline and the picks on the test
 * split into the certification tables and prints them side by side.
 *
 * <p>Each finished point is recorded at once under {@code output.dir/sweeps/_points/RUN_ID/POINT_ID}, so a
 * rerun with the same {@code output.runId} skips the points already trained. A point that fails (a
 * diverged loss, say) is recorded with its error and the sweep goes on; a rerun tries it again.
 */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = "Train every point of sweep.grid and the vanilla baseline, pick models by the paper's rule on "
                + "validation, write the sweep table, certify the picks on the test set and print them.")
final class Sweep extends Main.Job {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    void checkSettings(JobConfig cfg) throws IOException {
        super.checkSettings(cfg);
        grid(cfg);
    }

    static SweepGrid grid(JobConfig cfg) {
        Map<String, List<?>> values = new LinkedHashMap<>();
        cfg.get(Settings.SWEEP_GRID).forEach((k, v) -> values.put(k, (List<?>) v));
        return SweepGrid.of(values, cfg, cfg.get(Settings.SWEEP_MAX_POINTS));
    }

    @Override
    int run(JobConfig cfg, SparkSession spark, Data data) throws Exception {
        SweepGrid grid = grid(cfg);
        String root = RemoteFolders.join(cfg.string("output.dir"), "sweeps");
        String records = RemoteFolders.join(root, "_points", runId);
        List<SweepGrid.Point> all = new ArrayList<>();
        all.add(grid.baseline());
        all.addAll(grid.points());
        List<String> sweptKeys = new ArrayList<>(new TreeMap<>(grid.points().get(0).settings()).keySet());
        Map<String, Network> trained = new HashMap<>();
        List<SweepTable.Point> results = new ArrayList<>();
        for (SweepGrid.Point p : all) {
            String location = RemoteFolders.join(records, p.id());
            SweepTable.Point done = read(location, spark);
            if (done != null && done.status().equals("ok")) {
                log("point " + name(p) + " " + p.settings() + ": done in an earlier run, skipped");
                results.add(done);
                continue;
            }
            SweepTable.Point r = train(cfg, spark, data, p, sweptKeys, trained);
            write(location, r, spark);
            results.add(r);
        }

        SweepTable.Point vanilla = results.get(0);
        if (!vanilla.status().equals("ok")) {
            throw new IllegalStateException("the vanilla baseline failed: " + vanilla.error());
        }
        List<ModelSelection.Candidate> candidates = new ArrayList<>();
        for (SweepTable.Point r : results.subList(1, results.size())) {
            candidates.add(new ModelSelection.Candidate(r.id(), r.accuracy() == null ? Double.NaN : r.accuracy(),
                    r.status().equals("ok") ? r.epsQuartiles()[Norm.L2.ordinal()][1] : Double.NaN));
        }
        Map<ModelSelection.Pick, ModelSelection.Candidate> picks = ModelSelection.select(vanilla.accuracy(), candidates);
        List<SweepTable.Point> table = new ArrayList<>();
        for (SweepTable.Point r : results) {
            String selected = null;
            for (Map.Entry<ModelSelection.Pick, ModelSelection.Candidate> e : picks.entrySet()) {
                if (e.getValue().id().equals(r.id())) {
                    selected = selected == null ? e.getKey().label() : selected + "," + e.getKey().label();
                }
            }
            table.add(new SweepTable.Point(r.id(), r.status(), r.lossType(), r.swept(), r.settingsJson(), r.bestEpoch(),
                    r.accuracy(), r.epsQuartiles(), r.distinctPatterns(), r.trainSeconds(), r.model(), selected, r.error()));
        }
        String path = SweepTable.write(spark, root, cfg.runDate(), runId, sweptKeys, table, cfg.provenance(),
                data.train().fingerprint());
        long failed = table.stream().filter(r -> !r.status().equals("ok")).count();
        log(String.format(Locale.ROOT, "sweep table: %d points and the baseline, %d failed, at %s", grid.points().size(),
                failed, path));

        // the baseline and the picks on the test split
        List<String> names = new ArrayList<>(List.of("vanilla"));
        List<SweepTable.Point> shown = new ArrayList<>(List.of(vanilla));
        for (ModelSelection.Pick pick : ModelSelection.Pick.values()) {
            ModelSelection.Candidate c = picks.get(pick);
            if (c == null) {
                log("no point is within " + (int) Math.round(100 * pick.slack()) + " point(s) of the vanilla validation "
                        + "accuracy: no " + pick.label() + " pick");
                continue;
            }
            names.add(pick.label());
            shown.add(table.stream().filter(r -> r.id().equals(c.id())).findFirst().orElseThrow());
        }
        Row[] test = new Row[shown.size()];
        Map<String, Row> certified = new HashMap<>(); // a point picked by both rules is certified once
        for (int i = 0; i < shown.size(); i++) {
            SweepTable.Point r = shown.get(i);
            if (!certified.containsKey(r.id())) {
                Network net = trained.containsKey(r.id()) ? trained.get(r.id())
                        : ModelIO.load(r.model(), spark.sparkContext().hadoopConfiguration()).network();
                // a rerun of the sweep re-certifies its picks: its own certification runs are replaced
                certified.put(r.id(), certify(cfg.with(Map.of("certify.replace", true)), spark, net, runId + "-" + r.id(),
                        data.test(), r.id() + "-test"));
            }
            test[i] = certified.get(r.id());
        }
        out.println();
        out.printf(Locale.ROOT, "%s: picked on validation (vanilla %.2f%%), test margins in raw input units x 1e-4, "
                + "P25 / P50 / P75 / P100%n", data.test().name(), 100 * vanilla.accuracy());
        out.printf(Locale.ROOT, "%-14s %7s %9s  %-30s %-30s %s%n", "model", "acc", "#regions", "eps_1", "eps_2", "settings");
        for (int i = 0; i < shown.size(); i++) {
            out.printf(Locale.ROOT, "%-14s %6.2f%% %9d  %-30s %-30s %s%n", names.get(i),
                    100 * test[i].getDouble(test[i].fieldIndex("accuracy")),
                    test[i].getLong(test[i].fieldIndex("distinct_patterns")), Main.quartiles(test[i], "l1"),
                    Main.quartiles(test[i], "l2"), shown.get(i).swept().isEmpty() ? "loss.type=vanilla" : shown.get(i).swept());
        }
        for (int i = 1; i < shown.size(); i++) {
            out.printf(Locale.ROOT, "median l2 margin, %s / vanilla: %.1fx%n", names.get(i),
                    test[i].getDouble(test[i].fieldIndex("eps_l2_p50")) / test[0].getDouble(test[0].fieldIndex("eps_l2_p50")));
        }
        return 0;
    }

    static String name(SweepGrid.Point p) {
        return p.index() < 0 ? "vanilla" : p.id();
    }

    /** Trains one point and certifies it on the validation split; a failure becomes a failed row. */
    private SweepTable.Point train(JobConfig cfg, SparkSession spark, Data data, SweepGrid.Point p, List<String> sweptKeys,
            Map<String, Network> trained) {
        Map<String, String> swept = new TreeMap<>();
        p.settings().forEach((k, v) -> {
            if (sweptKeys.contains(k)) {
                swept.put(k, String.valueOf(v));
            }
        });
        String settings;
        try {
            settings = JSON.writeValueAsString(new TreeMap<>(p.settings()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        JobConfig pc = cfg.with(p.settings());
        String lossType = pc.string("loss.type");
        long t0 = System.nanoTime();
        try {
            log("point " + name(p) + " " + p.settings() + ": training");
            Trained t = train(pc, spark, data, "sweep-" + p.id());
            // validation figures for the selection: the whole validation split, no soundness or gradient passes
            JobConfig vc = pc.with(Map.of("certify.split", "validation", "certify.soundnessExamples", 0,
                    "certify.gradientExamples", 0, "certify.replace", true));
            Row s = certify(vc, spark, t.net(), runId + "-" + p.id(), data.validation(), p.id() + "-validation");
            double[][] eps = new double[3][3];
            for (Norm n : Norm.values()) {
                String[] q = {"p25", "p50", "p75"};
                for (int i = 0; i < 3; i++) {
                    eps[n.ordinal()][i] = s.getDouble(s.fieldIndex("eps_" + n.label() + "_" + q[i]));
                }
            }
            trained.put(p.id(), t.net());
            return new SweepTable.Point(p.id(), "ok", lossType, swept, settings, t.history().bestEpoch(),
                    s.getDouble(s.fieldIndex("accuracy")), eps, s.getLong(s.fieldIndex("distinct_patterns")), t.seconds(),
                    t.model(), null, null);
        } catch (Exception e) {
            String why = String.valueOf(Main.cause(e).getMessage());
            log("point " + name(p) + " " + p.settings() + " failed: " + why);
            return new SweepTable.Point(p.id(), "failed", lossType, swept, settings, null, null, null, null,
                    (System.nanoTime() - t0) / 1e9, null, null, why);
        }
    }

    /** A point's record, published as a folder (so a reader sees it whole or not at all). */
    private static void write(String location, SweepTable.Point r, SparkSession spark) throws IOException {
        java.nio.file.Path tmp = Files.createTempDirectory("roll-point-");
        try {
            java.nio.file.Path dir = Files.createDirectory(tmp.resolve("point"));
            JSON.writeValue(dir.resolve("point.json").toFile(), JSON.valueToTree(r));
            RemoteFolders.publish(dir, location, spark.sparkContext().hadoopConfiguration(), null);
        } finally {
            ModelIO.deleteTree(tmp);
        }
    }

    /** A point's record from an earlier run, or null. */
    private static SweepTable.Point read(String location, SparkSession spark) throws IOException {
        FileSystem fs = RemoteFolders.fs(location, spark.sparkContext().hadoopConfiguration());
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(location, "point.json");
        if (!fs.exists(file)) {
            return null;
        }
        try (InputStream in = fs.open(file)) {
            return JSON.treeToValue(JSON.readTree(in), SweepTable.Point.class);
        } catch (IOException e) {
            throw new IOException(file + ": not a sweep point record (" + e.getMessage() + ")", e);
        }
    }
}
