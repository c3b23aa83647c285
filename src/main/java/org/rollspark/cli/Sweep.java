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
import org.rollspark.Provenance;
import org.rollspark.model.ModelIO;
import org.rollspark.model.RemoteFolders;
import org.rollspark.net.Network;
import org.rollspark.region.Norm;
import org.rollspark.spark.SweepTable;
import org.rollspark.train.DivergedException;
import org.rollspark.train.ModelSelection;
import picocli.CommandLine.Command;

/**
 * The sweep command: trains the vanilla baseline and every point of {@code sweep.grid} with the same
 * seed, data, split and shards (one after another, each with parameter averaging across the cluster),
 * certifies each on the validation split, picks ROLL models by the paper's rule on validation
 * ({@link ModelSelection}), writes the sweep table, certifies the baseline and the picks on the test
 * split into the certification tables and prints them side by side.
 *
 * <p>Each finished point is recorded at once under {@code output.dir/sweeps/_points/RUN_ID/POINT_ID}, so a
 * rerun with the same {@code output.runId} skips the points already trained with the same resolved
 * settings whose model is still there. A point whose training diverges is recorded with its error and
 * the sweep goes on (a rerun tries it again); any other failure, or a failed baseline, stops the sweep.
 */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = "Train every point of sweep.grid and the vanilla baseline, pick models by the paper's rule on "
                + "validation, write the sweep table, certify the picks on the test set and print them.")
final class Sweep extends Main.Job {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    void checkSettings(JobConfig cfg) throws IOException {
        super.checkSettings(cfg);
        if (!cfg.string("loss.type").equals("roll")) {
            throw new IllegalArgumentException("roll.loss.type must be roll for a sweep: the grid's points are ROLL models,"
                    + " and the vanilla baseline is trained with them");
        }
        grid(cfg);
    }

    /** Every point's network is built before anything trains, so bad architectures are setting errors. */
    @Override
    void checkInputs(JobConfig cfg, Data data) throws IOException {
        super.checkInputs(cfg, data);
        for (SweepGrid.Point p : grid(cfg).points()) {
            try {
                checkShape(cfg.with(p.settings()).network(data.train().numFeatures(), data.train().numClasses(),
                        data.normalization()), data.train());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("sweep point " + p.settings() + ": " + e.getMessage(), e);
            }
        }
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
        Map<String, Map<String, Object>> settingsById = new HashMap<>();
        List<SweepTable.Point> results = new ArrayList<>();
        for (SweepGrid.Point p : all) {
            settingsById.put(p.id(), p.settings());
            JobConfig pc = cfg.with(p.settings());
            String hash = settingsHash(pc);
            String location = RemoteFolders.join(records, p.id());
            SweepTable.Point done = read(location, spark);
            SweepTable.Point r;
            if (done != null && done.status().equals("ok") && done.settingsHash().equals(hash) && modelExists(done, spark)) {
                log("point " + name(p) + " " + p.settings() + ": done in an earlier run, skipped");
                r = done;
            } else {
                r = train(pc, hash, spark, data, p, sweptKeys);
                write(location, r, spark);
            }
            if (p == grid.baseline() && !r.status().equals("ok")) {
                throw new IllegalStateException("the vanilla baseline failed: " + r.error());
            }
            results.add(r);
        }

        SweepTable.Point vanilla = results.get(0);
        List<ModelSelection.Candidate> candidates = new ArrayList<>();
        for (SweepTable.Point r : results.subList(1, results.size())) {
            if (r.status().equals("ok") && r.lossType().equals("roll")) {
                candidates.add(new ModelSelection.Candidate(r.id(), r.accuracy(), r.epsQuartiles()[Norm.L2.ordinal()][1]));
            }
        }
        Map<ModelSelection.Pick, ModelSelection.Candidate> picks = ModelSelection.select(vanilla.accuracy(), candidates);
        List<SweepTable.Point> table = new ArrayList<>();
        for (SweepTable.Point r : results) {
            List<String> selected = new ArrayList<>();
            picks.forEach((pick, c) -> {
                if (c.id().equals(r.id())) {
                    selected.add(pick.label());
                }
            });
            table.add(new SweepTable.Point(r.id(), r.status(), r.lossType(), r.swept(), r.settingsJson(), r.settingsHash(),
                    r.bestEpoch(), r.accuracy(), r.epsQuartiles(), r.distinctPatterns(), r.trainSeconds(), r.model(),
                    selected.isEmpty() ? null : String.join(",", selected), r.error()));
        }
        String path = SweepTable.write(spark, root, cfg.runDate(), runId, sweptKeys, grid.points().size(), table,
                cfg.provenance(), data.train().fingerprint());
        log(String.format(Locale.ROOT, "sweep table: %d points and the baseline, %d failed, at %s", grid.points().size(),
                grid.points().size() - candidates.size(), path));
        if (candidates.isEmpty()) {
            log("every grid point failed: nothing to pick (the table records their errors)");
            return 1;
        }

        // the baseline and the picks on the test split, each with its own settings
        List<String> names = new ArrayList<>(List.of("vanilla"));
        List<SweepTable.Point> shown = new ArrayList<>(List.of(vanilla));
        for (ModelSelection.Pick pick : ModelSelection.Pick.values()) {
            ModelSelection.Candidate c = picks.get(pick);
            if (c == null) {
                log("no ROLL point is within " + (int) Math.round(100 * pick.slack()) + " point(s) of the vanilla validation"
                        + " accuracy: no " + pick.label() + " pick");
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
                Network net = ModelIO.load(r.model(), spark.sparkContext().hadoopConfiguration()).network();
                // a rerun of the sweep re-certifies its picks: its own certification runs are replaced
                JobConfig pc = cfg.with(settingsById.get(r.id())).with(Map.of("certify.replace", true));
                certified.put(r.id(), certify(pc, spark, net, runId + "-" + r.id(), data.test(), r.id() + "-test"));
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
                    Main.quartiles(test[i], "l2"), i == 0 ? "loss.type=vanilla" : shown.get(i).swept());
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

    /** The hash of a point's resolved settings, without where results go and without the grid itself. */
    static String settingsHash(JobConfig pc) {
        Map<String, Object> m = new TreeMap<>(pc.toMap());
        m.keySet().removeIf(k -> k.startsWith("output.") || k.startsWith("sweep."));
        return Provenance.configHash(m);
    }

    /**
     * Trains one point and certifies it on the validation split. A diverged training becomes a failed
     * row; every other failure propagates and stops the sweep.
     */
    private SweepTable.Point train(JobConfig pc, String hash, SparkSession spark, Data data, SweepGrid.Point p,
            List<String> sweptKeys) throws Exception {
        Map<String, String> swept = new TreeMap<>();
        p.settings().forEach((k, v) -> {
            if (sweptKeys.contains(k)) {
                swept.put(k, String.valueOf(v));
            }
        });
        String settings = JSON.writeValueAsString(new TreeMap<>(p.settings()));
        String lossType = pc.string("loss.type");
        long t0 = System.nanoTime();
        Trained t;
        try {
            log("point " + name(p) + " " + p.settings() + ": training");
            t = train(pc, spark, data, "sweep-" + p.id());
        } catch (Exception e) {
            if (!diverged(e)) {
                throw e;
            }
            String why = String.valueOf(Main.cause(e).getMessage());
            log("point " + name(p) + " " + p.settings() + " diverged: " + why);
            return new SweepTable.Point(p.id(), "failed", lossType, swept, settings, hash, null, null, null, null,
                    (System.nanoTime() - t0) / 1e9, null, null, why);
        }
        // validation figures for the selection: the whole validation split, no soundness or gradient passes
        JobConfig vc = pc.with(Map.of("certify.split", "validation", "certify.soundnessExamples", 0,
                "certify.gradientExamples", 0, "certify.replace", true));
        // the validation split is held out of the training location
        Row s = certify(vc, spark, t.net(), runId + "-" + p.id(), data.validation(), p.id() + "-validation",
                pc.dataLocation(true).data());
        double[][] eps = new double[3][3];
        String[] q = {"p25", "p50", "p75"};
        for (Norm n : Norm.values()) {
            for (int i = 0; i < 3; i++) {
                eps[n.ordinal()][i] = s.getDouble(s.fieldIndex("eps_" + n.label() + "_" + q[i]));
            }
        }
        return new SweepTable.Point(p.id(), "ok", lossType, swept, settings, hash, t.history().bestEpoch(),
                s.getDouble(s.fieldIndex("accuracy")), eps, s.getLong(s.fieldIndex("distinct_patterns")), t.seconds(),
                t.model(), null, null);
    }

    /** Whether a failure is a diverged training (possibly wrapped by Spark on its way from an executor). */
    static boolean diverged(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof DivergedException || String.valueOf(c.getMessage()).contains(DivergedException.MARK)) {
                return true;
            }
        }
        return false;
    }

    private static boolean modelExists(SweepTable.Point r, SparkSession spark) throws IOException {
        String meta = RemoteFolders.join(r.model(), "model.json");
        return RemoteFolders.fs(meta, spark.sparkContext().hadoopConfiguration()).exists(new org.apache.hadoop.fs.Path(meta));
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
