package org.rollspark.spark;

import static org.rollspark.config.Setting.Type.BOOL;
import static org.rollspark.config.Setting.Type.DOUBLE;
import static org.rollspark.config.Setting.Type.DOUBLES;
import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.Type.LONG;
import static org.rollspark.config.Setting.Type.STRING;
import static org.rollspark.config.Setting.Type.STRINGS;
import static org.rollspark.config.Setting.atLeast;
import static org.rollspark.config.Setting.finiteAtLeast;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.rollspark.config.Setting;
import org.rollspark.data.LabeledData;
import org.rollspark.model.RemoteFolders;
import org.rollspark.model.Staging;
import org.rollspark.net.Network;
import org.rollspark.region.GradientStability;
import org.rollspark.region.Norm;
import org.rollspark.region.SoundnessCheck;

/**
 * Certifies every example of a dataset on the executors and writes two Parquet tables plus a
 * manifest under {@code output}:
 * <pre>
 * examples/run_date=YYYY-MM-DD/run_id=ID/part-*.parquet   one row per input example ({@link CertificationTables#EXAMPLES})
 * summary/run_date=YYYY-MM-DD/run_id=ID/part-*.parquet    one row per run ({@link CertificationTables#SUMMARY})
 * runs/run_date=YYYY-MM-DD/run_id=ID/_run.json             resolved config, versions, counts, status
 * </pre>
 * Everything is written under {@code output/_staging/ID} first and committed into place only when it
 * is complete ({@link Staging#commit}), so a failed run leaves no partial table. Margins are in
 * raw input units. The parts: {@link CertifyShard} (the per-example computation on the executors),
 * {@link CertificationTables} (schemas, rows, the summary), {@link RunManifest} (the run's manifest).
 */
public final class CertificationJob {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<Integer> PARTITIONS = SETTINGS.add(Setting.of("certify.partitions", INT, 4,
            "Spark partitions to certify in (raised so that none holds more than 32 MB of examples).", atLeast(1)).main());
    public static final Setting<Boolean> REPLACE = SETTINGS.add(Setting.of("certify.replace", BOOL, false,
            "A rerun of an existing run id (run_date, run_id) replaces that run's partitions and nothing else; "
                    + "false: such a rerun is refused (a failed run may always be rerun)."));
    public static final Setting<String> SPLIT = SETTINGS.add(Setting.of("certify.split", STRING, "test",
            "Split name in the certification tables.").main());
    public static final Setting<List<Double>> RADII_L1 = SETTINGS.add(Setting.of("certify.radiiL1", DOUBLES,
            List.of(0.05, 0.1, 0.2, 0.5, 1.0), "Radii (raw input units) at which the run summary reports l1 certified "
                    + "accuracy: the share of ALL examples correctly classified with a certified radius of at least r.",
            radii()).main());
    public static final Setting<List<Double>> RADII_L2 = SETTINGS.add(Setting.of("certify.radiiL2", DOUBLES,
            List.of(0.01, 0.02, 0.05, 0.1, 0.2), "Radii of the l2 certified accuracy.", radii()).main());
    public static final Setting<List<Double>> RADII_LINF = SETTINGS.add(Setting.of("certify.radiiLinf", DOUBLES,
            List.of(0.001, 0.002, 0.005, 0.01, 0.02), "Radii of the l_inf certified accuracy.", radii()).main());
    public static final Setting<List<String>> NORMS = SETTINGS.add(Setting.of("certify.norms", STRINGS,
            List.of("l1", "l2", "linf"), "The norms to certify in, any of l1, l2, linf; the columns of the others are "
                    + "null. l2 alone runs a dense network's Jacobians on the row space of its first layer: r / D of "
                    + "the work (300 / 784 on the paper's MNIST net).", CertificationJob::checkNorms).main());
    public static final Setting<Integer> SOUNDNESS_EXAMPLES = SETTINGS.add(Setting.of("certify.soundnessExamples", INT, 64,
            "Soundness mode: re-verify this many examples' certificates in float64 by sampling points inside the "
                    + "certified balls (0 = off).", atLeast(0)).main());
    public static final Setting<Boolean> COORDINATE_BOUNDS = SETTINGS.add(Setting.of("certify.coordinateBounds", BOOL, false,
            "Store the directional certificates along +e_k and -e_k of every input coordinate (raw units) as the "
                    + "array columns dir_pos and dir_neg (D values each per row).").main());
    public static final Setting<Integer> GRADIENT_EXAMPLES = SETTINGS.add(Setting.of("certify.gradientExamples", INT, 0,
            "Gradient stability (the paper's section 3): for this many examples (0 = off), the expected and the "
                    + "maximum (genetic search) l1 distortion of the true-class logit gradient in the l_inf ball of "
                    + "radius gradientEps intersected with [gradientBoxLow, gradientBoxHigh] (raw units).",
            atLeast(0)).main());

    private CertificationJob() {}

    /** The certified-accuracy radii of the run summary, per norm (l1, l2, l_inf). */
    public static double[][] radii(Setting.Values v) {
        List<List<Double>> r = List.of(v.get(RADII_L1), v.get(RADII_L2), v.get(RADII_LINF));
        double[][] out = new double[3][];
        for (int i = 0; i < 3; i++) {
            out[i] = r.get(i).stream().mapToDouble(Double::doubleValue).toArray();
        }
        return out;
    }

    /** The norms of {@link #NORMS}. */
    public static java.util.Set<Norm> norms(List<String> labels) {
        java.util.Set<Norm> out = java.util.EnumSet.noneOf(Norm.class);
        for (String l : labels) {
            out.add(Norm.of(l));
        }
        return out;
    }

    private static void checkNorms(List<String> labels) {
        if (labels.isEmpty()) {
            throw new IllegalArgumentException("name at least one norm of l1, l2, linf");
        }
        if (norms(labels).size() != labels.size()) {
            throw new IllegalArgumentException(labels + " names a norm twice");
        }
    }

    private static java.util.function.Consumer<List<Double>> radii() {
        return v -> {
            for (double r : v) {
                if (!(r >= 0) || Double.isInfinite(r)) {
                    throw new IllegalArgumentException("radius " + r + " must be finite and >= 0");
                }
            }
        };
    }

    /** What a run wrote. */
    public record Result(String runId, long rows, String examplesPath, String summaryPath, String manifestPath,
            Row summary) {}

    /**
     * Optional parts of a run. Soundness mode: re-verify the certificates of {@code soundnessExamples}
     * examples (spread over the shards; 0 = off) in float64 with {@code soundnessPoints} sampled points
     * per norm each ({@link SoundnessCheck}). {@code coordinateBounds}: store the directional
     * certificates along +e_k and -e_k of every input coordinate as array columns.
     */
    public record Options(int soundnessExamples, int soundnessPoints, boolean coordinateBounds, Gradient gradient,
            boolean replace, boolean byteValued, java.util.Set<Norm> norms) implements java.io.Serializable {
        public Options {
            norms = java.util.EnumSet.copyOf(norms);
        }

        public Options(int soundnessExamples, int soundnessPoints, boolean coordinateBounds) {
            this(soundnessExamples, soundnessPoints, coordinateBounds, Gradient.OFF);
        }

        public Options(int soundnessExamples, int soundnessPoints, boolean coordinateBounds, Gradient gradient) {
            this(soundnessExamples, soundnessPoints, coordinateBounds, gradient, false, false,
                    java.util.EnumSet.allOf(Norm.class));
        }

        /** The options the settings describe, for data whose values are (or are not) bytes over 255. */
        public static Options of(Setting.Values v, boolean byteValued) {
            var g = new Gradient(v.get(GRADIENT_EXAMPLES), v.get(GradientStability.EPS),
                    v.get(GradientStability.BOX_LOW), v.get(GradientStability.BOX_HIGH), v.get(GradientStability.SAMPLES),
                    v.get(GradientStability.POPULATION), v.get(GradientStability.GENERATIONS),
                    v.get(GradientStability.SEED));
            GradientStability.checkBox(g.boxLow(), g.boxHigh());
            return new Options(v.get(SOUNDNESS_EXAMPLES), v.get(SoundnessCheck.POINTS), v.get(COORDINATE_BOUNDS), g,
                    v.get(REPLACE), byteValued, CertificationJob.norms(v.get(NORMS)));
        }


        /** These options for data whose values are bytes over 255: certified around the exact p / 255. */
        public Options byteValued(boolean on) {
            return new Options(soundnessExamples, soundnessPoints, coordinateBounds, gradient, replace, on, norms);
        }
    }

    /**
     * Gradient stability ({@link GradientStability}) for {@code examples} examples (spread over the
     * shards; 0 = off): l_inf ball of radius {@code eps} intersected with [{@code boxLow},
     * {@code boxHigh}] (raw units), {@code samples} uniform samples, genetic search with
     * {@code population} and {@code generations}; sampling and search are seeded by {@code seed} and the
     * example id. The paper: eps 8/256, 8000, 4800, 30.
     */
    public record Gradient(int examples, double eps, double boxLow, double boxHigh, int samples, int population,
            int generations, long seed) implements java.io.Serializable {
        /** No gradient stability. */
        public static final Gradient OFF = new Gradient(0, 0, 0, 1, 1, 0, 0, 0);

        /** The seed of one example's sampling and search. */
        public long seedFor(long exampleId) {
            return seed * 0x9E3779B97F4A7C15L + exampleId;
        }
    }

    /**
     * Runs the job.
     *
     * @param partitions number of Spark partitions to certify in
     * @param config the resolved configuration, recorded in the manifest
     * @param radii per norm (l1, l2, l_inf) the radii at which the summary reports certified accuracy
     */
    public static Result run(SparkSession spark, Network net, String modelId, LabeledData data, String dataset,
            String split, String output, String runDate, String runId, int partitions, Map<String, Object> config,
            double[][] radii, Options options) throws IOException {
        ShardedData shards = ShardedData.of(JavaSparkContext.fromSparkContext(spark.sparkContext()), data, partitions, 0);
        try {
            return run(spark, net, modelId, shards, dataset, split, output, runDate, runId, config, radii, options);
        } finally {
            shards.unpersist();
        }
    }

    /** Runs the job on data already sharded on the executors ({@link DataPipeline}): one partition per shard. */
    public static Result run(SparkSession spark, Network net, String modelId, ShardedData data, String dataset,
            String split, String output, String runDate, String runId, Map<String, Object> config,
            double[][] radii, Options options) throws IOException {
        if (data.numFeatures() != net.inputSize()) {
            throw new IllegalArgumentException(dataset + " has " + data.numFeatures() + " features; the model takes "
                    + net.inputSize());
        }
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration hadoop = sc.hadoopConfiguration();
        Path root = new Path(output);
        FileSystem fs = root.getFileSystem(hadoop);
        String part = "run_date=" + runDate + "/run_id=" + runId;
        Path staging = new Path(root, "_staging/" + runId);
        Map<String, Path> finals = new LinkedHashMap<>();
        for (String table : new String[] {"examples", "summary", "runs"}) {
            finals.put(table, new Path(root, table + "/" + part));
        }
        if (!options.replace() && !RunManifest.isFailed(fs, finals.get("runs"))) {
            for (Path f : finals.values()) {
                if (fs.exists(f)) {
                    throw new IllegalArgumentException("run " + runId + " of " + runDate + " already exists at " + f
                            + "; choose another run id, or set certify.replace = true to replace it");
                }
            }
        }
        fs.delete(staging, true);
        CertificationTables.RunKey key = new CertificationTables.RunKey(runId, modelId, dataset, split);
        Broadcast<NetState> bNet = sc.broadcast(NetState.of(net));
        String view = "roll_examples_" + runId.replaceAll("[^A-Za-z0-9_]", "_");
        try {
            sc.setJobDescription("roll certify: " + dataset + " (" + data.size() + " examples)");
            TaskThreads.forStage(sc);
            JavaRDD<Row> rows = data.shards().mapPartitionsWithIndex(new CertifyShard(bNet, key, options, data.numShards()),
                    false);
            spark.createDataFrame(rows, CertificationTables.EXAMPLES).write().mode(SaveMode.ErrorIfExists)
                    .parquet(new Path(staging, "examples").toString());

            spark.read().schema(CertificationTables.EXAMPLES).parquet(new Path(staging, "examples").toString()).createOrReplaceTempView(view);
            Row summary = CertificationTables.summarize(spark, view, key, radii, options.norms());
            long n = summary.<Long>getAs("n");
            if (n != data.size()) {
                throw new IllegalStateException("certification wrote " + n + " rows for " + data.size() + " examples");
            }
            spark.createDataFrame(List.of(summary), CertificationTables.SUMMARY).coalesce(1).write().mode(SaveMode.ErrorIfExists)
                    .parquet(new Path(staging, "summary").toString());
            Path runs = new Path(staging, "runs");
            RunManifest.write(fs, runs, RunManifest.succeeded(runDate, key, summary, finals.get("examples"),
                    finals.get("summary"), config, data.fingerprint()), false);
            fs.create(new Path(runs, "_SUCCESS"), false).close();
            Map<String, String> moves = new LinkedHashMap<>();
            finals.forEach((name, path) -> moves.put(name, path.toString()));
            Staging.commit(RemoteFolders.store(fs), staging.toString(), moves);
            return new Result(runId, n, finals.get("examples").toString(), finals.get("summary").toString(),
                    new Path(finals.get("runs"), RunManifest.FILE).toString(), summary);
        } finally {
            bNet.destroy();
            spark.catalog().dropTempView(view);
            fs.delete(staging, true);
        }
    }

    /**
     * Records a run that failed before or while writing: its {@code _run.json} says {@code failed},
     * with the exit code and the error, and stale partitions of an earlier attempt of the same run
     * id are removed, so the table never shows results the manifest does not vouch for. A completed
     * run of that id is left alone unless {@code replace} (certify.replace) is set.
     */
    public static void recordFailure(Configuration hadoop, String output, String runDate, String runId, String modelId,
            int exitCode, String error, boolean replace) throws IOException {
        Path root = new Path(output);
        FileSystem fs = root.getFileSystem(hadoop);
        String part = "run_date=" + runDate + "/run_id=" + runId;
        Path runs = new Path(root, "runs/" + part);
        if (!replace && fs.exists(runs) && !RunManifest.isFailed(fs, runs)) {
            return;
        }
        fs.delete(new Path(root, "examples/" + part), true);
        fs.delete(new Path(root, "summary/" + part), true);
        fs.delete(runs, true);
        RunManifest.write(fs, runs, RunManifest.failed(runDate, runId, modelId, exitCode, error), true);
    }
}
