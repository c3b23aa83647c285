package org.rollspark.cli;

import static org.rollspark.config.Setting.Type.BOOL;
import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.Type.OBJECT;
import static org.rollspark.config.Setting.Type.STRING;
import static org.rollspark.config.Setting.atLeast;
import static org.rollspark.config.Setting.oneOf;

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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.rollspark.Provenance;
import org.rollspark.config.Setting;
import org.rollspark.data.LabeledData;
import org.rollspark.loss.RollLoss;
import org.rollspark.model.ModelIO;
import org.rollspark.model.RemoteFolders;
import org.rollspark.net.Network;
import org.rollspark.region.Norm;
import org.rollspark.spark.CertificationJob;
import org.rollspark.spark.ParallelTraining;
import org.rollspark.spark.SweepTable;
import org.rollspark.spark.TrainingLog;
import org.rollspark.train.DivergedException;
import org.rollspark.train.ModelSelection;
import org.rollspark.train.TrainConfig;
import picocli.CommandLine.Command;

/**
 * The sweep command: trains the vanilla baseline and every point of {@code sweep.grid} with the same
 * seed, data, split and shards, certifies each on the validation split, picks ROLL models by the paper's rule on validation
 * ({@link ModelSelection}), writes the sweep table, certifies the baseline and the picks on the test
 * split into the certification tables and prints them side by side.
 *
 * <p>Points train in parallel, each a Spark task that trains the whole model on one core over a broadcast
 * copy of the shards ({@link ParallelTraining}), or one after another, each with parameter averaging
 * across the cluster ({@code sweep.mode}); both give the same models.
 *
 * <p>Each finished point is recorded at once under {@code output.dir/sweeps/_points/RUN_ID/POINT_ID}, so a
 * rerun with the same {@code output.runId} skips the points already trained with the same resolved
 * settings whose model is still there. A point that fails (its training diverges, its Spark task fails, its
 * validation certification fails) is recorded with its error and the sweep goes on; a rerun tries it
 * again. A failed baseline stops the sweep, and so does any failure but divergence with {@code
 * sweep.failFast}; setting and input errors, which every point shares, always do.
 */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = "Train every point of sweep.grid and the vanilla baseline, pick models by the paper's rule on "
                + "validation, write the sweep table, certify the picks on the test set and print them.")
final class Sweep extends Main.Job {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<Map<String, Object>> GRID = SETTINGS.add(Setting.of("sweep.grid", OBJECT, Map.of(),
            "The sweep command's grid: setting keys (quoted) to the values they take, e.g. {\"loss.lambda\" = [0.5, 1, 2], "
                    + "\"loss.c\" = [0.25, 1]}; every combination is trained, and the vanilla baseline with it.", v -> {
                for (Map.Entry<String, Object> e : v.entrySet()) {
                    if (!(e.getValue() instanceof List<?>)) {
                        throw new IllegalArgumentException("\"" + e.getKey() + "\" must map to a list of values"
                                + (e.getValue() instanceof Map<?, ?> ? " (quote dotted keys: \"loss.lambda\" = [...])" : ""));
                    }
                }
            }).main());
    public static final Setting<Integer> MAX_POINTS = SETTINGS.add(Setting.of("sweep.maxPoints", INT, 256,
            "The most grid points a sweep may have (a guard against a grid that would run for weeks).", atLeast(1)));
    public static final Setting<String> MODE = SETTINGS.add(Setting.of("sweep.mode", STRING, "auto",
            "How sweep points train. parallel: each point is one Spark task that trains the whole model on one executor "
                    + "core, on a broadcast copy of the training and validation shards (as many points in flight as there "
                    + "are cores); sequential: one point after another, each with parameter averaging across the cluster, "
                    + "for data no executor can hold; auto: parallel when a copy of both splits fits (a quarter of an executor's "
                    + "memory, half the heap in local mode; a quarter of the driver's heap; 80 % of "
                    + "spark.driver.maxResultSize). Both give the same models.", oneOf(List.of("auto", "parallel", "sequential"))).main());
    public static final Setting<Integer> PARALLELISM = SETTINGS.add(Setting.of("sweep.parallelism", INT, 0,
            "Parallel sweeps: the most points training at a time; 0: one per task slot (the Spark context's default "
                    + "parallelism divided by spark.task.cpus, read again as executors come and go).", atLeast(0)));
    public static final Setting<String> CERTIFY_TEST = SETTINGS.add(Setting.of("sweep.certifyTest", STRING, "picks",
            "Which sweep models are certified on the test split (the sweep table's test_ columns): picks (the vanilla "
                    + "baseline and the picks) or all (every trained point, e.g. for the paper's Figure 2).",
            oneOf(List.of("picks", "all"))));
    public static final Setting<Boolean> FAIL_FAST = SETTINGS.add(Setting.of("sweep.failFast", BOOL, false,
            "Stop the sweep at the first grid point that fails for a reason other than divergence, cancelling the points "
                    + "in flight (Ray Tune's fail_fast). By default a failed point is recorded with its error and the others "
                    + "go on; a rerun tries it again. A failed baseline always stops the sweep: the selection compares with it."));

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    void checkSettings(JobConfig cfg) throws IOException {
        super.checkSettings(cfg);
        if (!cfg.get(RollLoss.TYPE).equals("roll")) {
            throw new IllegalArgumentException(RollLoss.TYPE + " must be roll for a sweep: the grid's points are ROLL models,"
                    + " and the vanilla baseline is trained with them");
        }
        Main.requireL2(cfg, "a sweep");
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
        cfg.get(Sweep.GRID).forEach((k, v) -> values.put(k, (List<?>) v));
        return SweepGrid.of(values, cfg, cfg.get(Sweep.MAX_POINTS));
    }

    @Override
    int run(JobConfig cfg, SparkSession spark, Data data) throws Exception {
        SweepGrid grid = grid(cfg);
        String root = RemoteFolders.join(cfg.get(Main.OUTPUT_DIR), "sweeps");
        String records = RemoteFolders.join(root, "_points", runId);
        List<SweepGrid.Point> all = new ArrayList<>();
        all.add(grid.baseline());
        all.addAll(grid.points());
        List<String> sweptKeys = new ArrayList<>(new TreeMap<>(grid.points().get(0).settings()).keySet());
        Map<String, Map<String, Object>> settingsById = new HashMap<>();
        Map<String, SweepTable.Point> done = new HashMap<>();
        List<SweepGrid.Point> pending = new ArrayList<>();
        for (SweepGrid.Point p : all) {
            settingsById.put(p.id(), p.settings());
            SweepTable.Point r = read(RemoteFolders.join(records, p.id()), spark);
            if (r != null && r.status().equals("ok") && r.settingsHash().equals(settingsHash(cfg.with(p.settings())))
                    && modelExists(r, spark)) {
                log("point " + name(p) + " " + p.settings() + ": done in an earlier run, skipped");
                done.put(p.id(), r);
            } else {
                pending.add(p);
            }
        }
        boolean parallel = parallel(cfg, data, spark);
        log(String.format(Locale.ROOT, "sweep: %d grid points and the baseline, %d to train, %s", grid.points().size(),
                pending.size(), parallel ? "in parallel, one Spark task per point on one executor core"
                        : "one after another, each with parameter averaging across the cluster"));
        ParallelTraining training = parallel && !pending.isEmpty() ? new ParallelTraining(
                JavaSparkContext.fromSparkContext(spark.sparkContext()), data.train(), data.validation()) : null;
        Map<String, Future<List<ParallelTraining.Outcome>>> inFlight = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        try {
            if (training == null) {
                for (SweepGrid.Point p : pending) {
                    commit(p, trainHere(cfg.with(p.settings()), spark, data, p, sweptKeys), records, done, spark);
                }
            } else {
                trainInParallel(cfg, spark, data, pending, sweptKeys, training, inFlight, records, done);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            log(String.format(Locale.ROOT, "sweep: %d models trained and certified on validation in %.1f s (%.2f models/min, "
                    + "%s)", pending.size(), seconds, 60 * pending.size() / seconds, parallel ? "parallel" : "sequential"));
        } finally {
            inFlight.values().forEach(f -> f.cancel(true)); // after a failure: stop the points still training
            if (training != null) {
                try {
                    training.close();
                } catch (RuntimeException e) {
                    log("note: could not free the broadcast shards: " + e.getMessage()); // never hides the failure
                }
            }
        }
        List<SweepTable.Point> results = new ArrayList<>();
        for (SweepGrid.Point p : all) {
            results.add(done.get(p.id()));
        }

        SweepTable.Point vanilla = results.get(0);
        List<ModelSelection.Candidate> candidates = new ArrayList<>();
        for (SweepTable.Point r : results.subList(1, results.size())) {
            if (r.status().equals("ok") && r.lossType().equals("roll")) {
                candidates.add(new ModelSelection.Candidate(r.id(), r.accuracy(), r.epsQuartiles()[Norm.L2.ordinal()][1]));
            }
        }
        Map<ModelSelection.Pick, ModelSelection.Candidate> picks = ModelSelection.select(vanilla.accuracy(), candidates);
        Map<String, String> selected = new HashMap<>();
        picks.forEach((pick, c) -> selected.merge(c.id(), pick.label(), (a, b) -> a + "," + b));

        // the baseline and the picks (every trained point with sweep.certifyTest = all) on the test split,
        // each with its own settings; a rerun of the sweep replaces its own test certification runs
        boolean everyPoint = cfg.get(Sweep.CERTIFY_TEST).equals("all");
        Map<String, Row> test = new HashMap<>();
        for (SweepTable.Point r : results) {
            if (r.status().equals("ok") && (everyPoint || r == vanilla || selected.containsKey(r.id()))) {
                Network net = ModelIO.load(r.model(), spark.sparkContext().hadoopConfiguration()).network();
                JobConfig pc = cfg.with(settingsById.get(r.id())).with(Map.of(CertificationJob.REPLACE.key(), true));
                test.put(r.id(), certify(pc, spark, net, runId + "-" + r.id(), data.test(), r.id() + "-test"));
            }
        }
        List<SweepTable.Point> table = new ArrayList<>();
        for (SweepTable.Point r : results) {
            Row t = test.get(r.id());
            double[] testFigures = t == null ? null : new double[] {t.getDouble(t.fieldIndex("accuracy")),
                valueOrNaN(t, "eps_l1_p50"), valueOrNaN(t, "eps_l2_p50"), valueOrNaN(t, "eps_linf_p50")};
            table.add(new SweepTable.Point(r.id(), r.status(), r.lossType(), r.swept(), r.settingsJson(), r.settingsHash(),
                    r.bestEpoch(), r.accuracy(), r.epsQuartiles(), r.distinctPatterns(), r.trainSeconds(), r.model(),
                    selected.get(r.id()), r.error(), testFigures));
        }
        String path = SweepTable.write(spark, root, cfg.runDate(), runId, sweptKeys, grid.points().size(), table,
                settings(cfg), data.train().fingerprint());
        log(String.format(Locale.ROOT, "sweep table: %d points and the baseline, %d failed, at %s", grid.points().size(),
                grid.points().size() - candidates.size(), path));
        if (candidates.isEmpty()) {
            log("every grid point failed: nothing to pick (the table records their errors)");
            return 1;
        }

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
        out.println();
        out.printf(Locale.ROOT, "%s: picked on validation (vanilla %.2f%%), test margins in raw input units x 1e-4, "
                + "P25 / P50 / P75 / P100%n", data.test().name(), 100 * vanilla.accuracy());
        out.printf(Locale.ROOT, "%-14s %7s %9s  %-30s %-30s %s%n", "model", "acc", "#regions", "eps_1", "eps_2", "settings");
        Row[] rows = shown.stream().map(r -> test.get(r.id())).toArray(Row[]::new);
        for (int i = 0; i < shown.size(); i++) {
            out.printf(Locale.ROOT, "%-14s %6.2f%% %9d  %-30s %-30s %s%n", names.get(i),
                    100 * rows[i].getDouble(rows[i].fieldIndex("accuracy")),
                    rows[i].getLong(rows[i].fieldIndex("distinct_patterns")), Main.quartiles(rows[i], "l1"),
                    Main.quartiles(rows[i], "l2"), i == 0 ? "loss.type=vanilla" : shown.get(i).swept());
        }
        for (int i = 1; i < shown.size(); i++) {
            out.printf(Locale.ROOT, "median l2 margin, %s / vanilla: %.1fx%n", names.get(i),
                    rows[i].getDouble(rows[i].fieldIndex("eps_l2_p50")) / rows[0].getDouble(rows[0].fieldIndex("eps_l2_p50")));
        }
        return 0;
    }

    static String name(SweepGrid.Point p) {
        return p.index() < 0 ? "vanilla" : p.id();
    }

    /**
     * The hash of a point's resolved settings, without where results go, without the grid itself and without the
     * BLAS kernel (an execution choice, like the master; provenance records the kernel each model ran on).
     */
    static String settingsHash(JobConfig pc) {
        Map<String, Object> m = new TreeMap<>(pc.toMap());
        m.keySet().removeIf(k -> k.startsWith("output.") || k.startsWith("sweep.") || k.startsWith("blas."));
        return Provenance.configHash(m);
    }

    /**
     * Whether the points train in parallel: as {@code sweep.mode} says, or under {@code auto} when a copy of
     * the training and validation splits fits everywhere it goes: a quarter of an executor's memory (half
     * the heap in local mode, where the executors are the driver and it also holds the cached splits), a
     * quarter of the driver's heap (it collects them) and 80 % of {@code spark.driver.maxResultSize}.
     */
    private boolean parallel(JobConfig cfg, Data data, SparkSession spark) {
        String mode = cfg.get(Sweep.MODE);
        long bytes = ParallelTraining.bytes(data.train()) + ParallelTraining.bytes(data.validation());
        org.apache.spark.SparkConf conf = spark.sparkContext().getConf();
        boolean local = spark.sparkContext().isLocal();
        long heap = Runtime.getRuntime().maxMemory();
        // local mode: the executors are the driver, which also holds the cached splits and the collected copy
        long executor = local ? heap / 2 : conf.getSizeAsBytes("spark.executor.memory", "1g");
        long maxResult = conf.getSizeAsBytes("spark.driver.maxResultSize", "1g");
        List<String> over = new ArrayList<>();
        if (bytes > executor / 4) {
            over.add(String.format(Locale.ROOT, "a quarter of %s (%d MiB)", local ? "half the driver's heap (local mode)"
                    : "spark.executor.memory", executor >> 20));
        }
        if (!local && bytes > heap / 4) {
            over.add(String.format(Locale.ROOT, "a quarter of the driver's heap (%d MiB), which collects them", heap >> 20));
        }
        if (maxResult > 0 && bytes > maxResult * 4 / 5) {
            over.add(String.format(Locale.ROOT, "80 %% of spark.driver.maxResultSize (%d MiB)", maxResult >> 20));
        }
        String sizes = String.format(Locale.ROOT, "the training and validation splits take %d MiB", bytes >> 20);
        if (mode.equals("auto")) {
            log("sweep.mode auto: " + sizes + (over.isEmpty() ? ", within the memory rules: parallel"
                    : ", more than " + String.join(" and ", over) + ": sequential"));
            return over.isEmpty();
        }
        if (mode.equals("parallel") && !over.isEmpty()) {
            log("warning: sweep.mode parallel, but " + sizes + ", more than " + String.join(" and ", over)
                    + "; the driver or executors may run out of memory (sweep.mode = sequential trains with sharded data)");
        }
        return mode.equals("parallel");
    }

    /**
     * Parallel mode: keeps as many points in flight as there are task slots and commits each as soon as it
     * is back (completion order), before the next is submitted, so its validation certification takes the
     * core it freed. {@code inFlight} is the caller's, which cancels what is left after a failure.
     */
    private void trainInParallel(JobConfig cfg, SparkSession spark, Data data, List<SweepGrid.Point> pending,
            List<String> sweptKeys, ParallelTraining training, Map<String, Future<List<ParallelTraining.Outcome>>> inFlight,
            String records, Map<String, SweepTable.Point> done) throws Exception {
        java.util.ArrayDeque<SweepGrid.Point> queue = new java.util.ArrayDeque<>(pending);
        Map<String, SweepGrid.Point> byId = new HashMap<>();
        Map<String, Long> submitted = new HashMap<>();
        LabeledData probe = data.validation().sample(PROBE_MAX); // fetched before the queue fills the cores
        while (!queue.isEmpty() || !inFlight.isEmpty()) {
            while (inFlight.size() < slots(cfg, spark) && !queue.isEmpty()) {
                SweepGrid.Point p = queue.poll();
                JobConfig pc = cfg.with(p.settings());
                Network net = pc.network(data.train().numFeatures(), data.train().numClasses(), data.normalization());
                byId.put(p.id(), p);
                submitted.put(p.id(), System.nanoTime());
                log("point " + name(p) + " " + p.settings() + ": training in a Spark task");
                inFlight.put(p.id(), training.submit("roll sweep: point " + name(p) + " " + p.settings(),
                        pc.sparkTrainConfig(null), net, probe.head(probeSize(net)), pc.get(TrainingLog.METRICS_EVERY_ROUNDS)));
            }
            String finished = firstDone(inFlight);
            SweepGrid.Point p = byId.get(finished);
            commit(p, collect(cfg.with(p.settings()), spark, data, p, sweptKeys, inFlight.remove(finished),
                    submitted.get(finished)), records, done, spark);
        }
    }

    /** Waits until one of the futures is done; its key. */
    private static String firstDone(Map<String, Future<List<ParallelTraining.Outcome>>> inFlight) throws InterruptedException {
        while (true) {
            for (Map.Entry<String, Future<List<ParallelTraining.Outcome>>> e : inFlight.entrySet()) {
                if (e.getValue().isDone()) {
                    return e.getKey();
                }
            }
            Thread.sleep(100);
        }
    }

    /** Points training at a time in parallel mode: sweep.parallelism, or one per task slot. */
    private static int slots(JobConfig cfg, SparkSession spark) {
        int set = cfg.get(Sweep.PARALLELISM);
        if (set > 0) {
            return set;
        }
        int cpus = spark.sparkContext().getConf().getInt("spark.task.cpus", 1);
        return Math.max(1, spark.sparkContext().defaultParallelism() / Math.max(1, cpus));
    }

    /** Records a finished point at once (a rerun skips it); a failed baseline stops the sweep. */
    private static void commit(SweepGrid.Point p, SweepTable.Point r, String records, Map<String, SweepTable.Point> done,
            SparkSession spark) throws IOException {
        write(RemoteFolders.join(records, p.id()), r, spark);
        if (p.index() < 0 && !r.status().equals("ok")) {
            throw new IllegalStateException("the vanilla baseline failed: " + r.error());
        }
        done.put(p.id(), r);
    }

    /** Sequential mode: trains one point with parameter averaging across the cluster. */
    private SweepTable.Point trainHere(JobConfig pc, SparkSession spark, Data data, SweepGrid.Point p, List<String> sweptKeys)
            throws Exception {
        long t0 = System.nanoTime();
        try {
            log("point " + name(p) + " " + p.settings() + ": training");
            return finish(pc, spark, data, p, sweptKeys, train(pc, spark, data, "sweep-" + p.id()), null, 0);
        } catch (Exception e) {
            return failed(pc, spark, data, p, sweptKeys, e, "", (System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * A point that failed: its row with the error, or the failure again where it must stop the sweep (a
     * setting or input error, which every point shares; an interrupted sweep; any failure but divergence
     * under {@code sweep.failFast}). {@code where} qualifies the error ("in its Spark task ...").
     */
    private SweepTable.Point failed(JobConfig pc, SparkSession spark, Data data, SweepGrid.Point p, List<String> sweptKeys,
            Exception e, String where, double seconds) throws Exception {
        if (diverged(e)) {
            return finish(pc, spark, data, p, sweptKeys, null, String.valueOf(Main.cause(e).getMessage()), seconds);
        }
        if (Main.exitCode(e) != 1 || e instanceof InterruptedException || Thread.currentThread().isInterrupted()) {
            throw e; // shared by every point (a setting or input error keeps its exit code), or the sweep is stopping
        }
        if (pc.get(Sweep.FAIL_FAST)) {
            throw new IllegalStateException("sweep point " + name(p) + " " + p.settings() + " failed" + where
                    + "; sweep.failFast stops the sweep", e);
        }
        return finish(pc, spark, data, p, sweptKeys, null, "failed" + where + ": " + Main.cause(e), seconds);
    }

    /**
     * Parallel mode: waits for a point trained in a Spark task (submitted at {@code submitted}, in {@link
     * System#nanoTime}), logs its epochs and saves its model; its row, a failed one's included.
     */
    private SweepTable.Point collect(JobConfig pc, SparkSession spark, Data data, SweepGrid.Point p, List<String> sweptKeys,
            Future<List<ParallelTraining.Outcome>> job, long submitted) throws Exception {
        ParallelTraining.Outcome o;
        try {
            o = job.get().get(0);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            return failed(pc, spark, data, p, sweptKeys, cause instanceof Exception x ? x : e, " in its Spark task (if "
                    + "executors ran out of memory, use sweep.mode = sequential)", (System.nanoTime() - submitted) / 1e9);
        }
        try {
            return saved(pc, spark, data, p, sweptKeys, o);
        } catch (Exception e) {
            return failed(pc, spark, data, p, sweptKeys, e, "", o.seconds());
        }
    }

    /** Parallel mode: a point back from its Spark task, its epochs logged, its model saved and certified on validation. */
    private SweepTable.Point saved(JobConfig pc, SparkSession spark, Data data, SweepGrid.Point p, List<String> sweptKeys,
            ParallelTraining.Outcome o) throws Exception {
        if (o.diverged() != null) {
            return finish(pc, spark, data, p, sweptKeys, null, o.diverged(), o.seconds());
        }
        Network net = o.net().toNet();
        String name = "sweep-" + p.id();
        for (TrainingLog.Entry e : o.metrics().entries()) {
            if (e.round() == null) {
                log(epochLine(name, e, pc.get(TrainConfig.EPOCHS)));
            }
        }
        log(String.format(Locale.ROOT, "%s trained in %.1f s in one task, kept epoch %d (lowest validation loss, lambda * "
                + "ROLL term included)", name, o.seconds(), o.history().bestEpoch()));
        Map<String, Object> prov = provenance(pc, net, data);
        writeMetrics(pc, spark, RemoteFolders.join(pc.get(Main.OUTPUT_DIR), "training"), runId + "-" + name, o.metrics(),
                prov, data);
        String model = save(pc, spark, data, net, runId + "-" + name, prov);
        return finish(pc, spark, data, p, sweptKeys, new Trained(net, o.history(), model), null, 0);
    }

    /**
     * A point's row: a trained point certified on the validation split, or a failed one ({@code t} null,
     * {@code error} its error, after {@code seconds}).
     */
    private SweepTable.Point finish(JobConfig pc, SparkSession spark, Data data, SweepGrid.Point p, List<String> sweptKeys,
            Trained t, String error, double seconds) throws IOException {
        Map<String, String> swept = new TreeMap<>();
        p.settings().forEach((k, v) -> {
            if (sweptKeys.contains(k)) {
                swept.put(k, String.valueOf(v));
            }
        });
        String settings = JSON.writeValueAsString(new TreeMap<>(p.settings()));
        String hash = settingsHash(pc);
        String lossType = pc.get(RollLoss.TYPE);
        if (t == null) {
            log("point " + name(p) + " " + p.settings() + (error.startsWith("failed") ? " " : " diverged: ") + error);
            return new SweepTable.Point(p.id(), "failed", lossType, swept, settings, hash, null, null, null, null,
                    seconds, null, null, error, null);
        }
        // validation figures for the selection: the whole validation split, no soundness or gradient passes
        JobConfig vc = pc.with(Map.of(CertificationJob.SPLIT.key(), "validation", CertificationJob.SOUNDNESS_EXAMPLES.key(), 0,
                CertificationJob.GRADIENT_EXAMPLES.key(), 0, CertificationJob.REPLACE.key(), true));
        // the validation split is held out of the training location
        Row s = certify(vc, spark, t.net(), runId + "-" + p.id(), data.validation(), p.id() + "-validation",
                pc.dataLocation(true).data());
        double[][] eps = new double[3][3];
        String[] q = {"p25", "p50", "p75"};
        for (Norm n : Norm.values()) {
            for (int i = 0; i < 3; i++) {
                eps[n.ordinal()][i] = valueOrNaN(s, "eps_" + n.label() + "_" + q[i]);
            }
        }
        return new SweepTable.Point(p.id(), "ok", lossType, swept, settings, hash, t.history().bestEpoch(),
                s.getDouble(s.fieldIndex("accuracy")), eps, s.getLong(s.fieldIndex("distinct_patterns")),
                t.history().seconds(),
                t.model(), null, null, null);
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

    /** A summary's double, NaN where it is null (a norm not certified). */
    private static double valueOrNaN(Row s, String field) {
        int at = s.fieldIndex(field);
        return s.isNullAt(at) ? Double.NaN : s.getDouble(at);
    }
}
