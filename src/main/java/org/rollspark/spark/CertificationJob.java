package org.rollspark.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.rollspark.Provenance;
import org.rollspark.data.LabeledData;
import org.rollspark.net.Network;
import org.rollspark.region.Certification;
import org.rollspark.region.RegionCertifier;
import org.rollspark.region.Norm;
import org.rollspark.region.GradientStability;
import org.rollspark.region.SoundnessCheck;

/**
 * Certifies every example of a dataset on the executors and writes two Parquet tables plus a
 * manifest under {@code output}:
 * <pre>
 * examples/run_date=YYYY-MM-DD/run_id=ID/part-*.parquet   one row per input example ({@link #EXAMPLES})
 * summary/run_date=YYYY-MM-DD/run_id=ID/part-*.parquet    one row per run ({@link #SUMMARY})
 * runs/run_date=YYYY-MM-DD/run_id=ID/_run.json             resolved config, versions, counts, status
 * </pre>
 * Everything is written under {@code output/_staging/ID} first and renamed into place only when it is
 * complete, so a failed run leaves no partial table. Margins are in raw input units.
 */
public final class CertificationJob {
    /** Schema of the per-example table. */
    public static final StructType EXAMPLES = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("model_id", DataTypes.StringType, false)
            .add("dataset", DataTypes.StringType, false)
            .add("split", DataTypes.StringType, false)
            .add("example_id", DataTypes.LongType, false)
            .add("label", DataTypes.IntegerType, false)
            .add("pred", DataTypes.IntegerType, false)
            .add("correct", DataTypes.BooleanType, false)
            .add("logit_gap", DataTypes.DoubleType, false)
            .add("eps_l1", DataTypes.DoubleType, false)
            .add("eps_l2", DataTypes.DoubleType, false)
            .add("eps_linf", DataTypes.DoubleType, false)
            .add("dec_l1", DataTypes.DoubleType, false)
            .add("dec_l2", DataTypes.DoubleType, false)
            .add("dec_linf", DataTypes.DoubleType, false)
            .add("cert_l1", DataTypes.DoubleType, false)
            .add("cert_l2", DataTypes.DoubleType, false)
            .add("cert_linf", DataTypes.DoubleType, false)
            .add("bind_layer_l1", DataTypes.IntegerType, false)
            .add("bind_unit_l1", DataTypes.IntegerType, false)
            .add("bind_layer_l2", DataTypes.IntegerType, false)
            .add("bind_unit_l2", DataTypes.IntegerType, false)
            .add("bind_layer_linf", DataTypes.IntegerType, false)
            .add("bind_unit_linf", DataTypes.IntegerType, false)
            .add("pattern_hash", DataTypes.StringType, false)
            .add("jacobian_hash", DataTypes.StringType, false)
            .add("sound_points", DataTypes.IntegerType, false)
            .add("sound_violations", DataTypes.IntegerType, false)
            .add("grad_dist_mean", DataTypes.DoubleType, true)
            .add("grad_dist_max", DataTypes.DoubleType, true)
            .add("dir_pos", DataTypes.createArrayType(DataTypes.DoubleType, false), true)
            .add("dir_neg", DataTypes.createArrayType(DataTypes.DoubleType, false), true)
            .add("status", DataTypes.StringType, false);

    /** Schema of the run-summary table (quantiles by the exact nearest-rank rule over all examples). */
    public static final StructType SUMMARY;

    static {
        StructType s = new StructType()
                .add("run_id", DataTypes.StringType, false)
                .add("model_id", DataTypes.StringType, false)
                .add("dataset", DataTypes.StringType, false)
                .add("split", DataTypes.StringType, false)
                .add("n", DataTypes.LongType, false)
                .add("accuracy", DataTypes.DoubleType, false)
                .add("distinct_patterns", DataTypes.LongType, false)
                .add("distinct_jacobians", DataTypes.LongType, false)
                .add("soundness_examples", DataTypes.LongType, false)
                .add("soundness_points", DataTypes.LongType, false)
                .add("soundness_violations", DataTypes.LongType, false)
                .add("grad_dist_examples", DataTypes.LongType, false)
                .add("grad_dist_mean_p50", DataTypes.DoubleType, true)
                .add("grad_dist_max_p50", DataTypes.DoubleType, true);
        for (Norm p : Norm.values()) {
            for (String stat : new String[] {"min", "mean", "p25", "p50", "p75", "p100"}) {
                s = s.add("eps_" + p.label() + "_" + stat, DataTypes.DoubleType, true);
            }
        }
        for (Norm p : Norm.values()) {
            s = s.add("cert_radii_" + p.label(), DataTypes.createArrayType(DataTypes.DoubleType, false), false);
            s = s.add("cert_acc_" + p.label(), DataTypes.createArrayType(DataTypes.DoubleType, false), false);
        }
        SUMMARY = s;
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private CertificationJob() {}

    /** What a run wrote. */
    public record Result(String runId, long rows, String examplesPath, String summaryPath, String manifestPath,
            Row summary) {}

    /**
     * Runs the job.
     *
     * @param partitions number of Spark partitions to certify in
     * @param config the resolved configuration, recorded in the manifest
     */
    public static Result run(SparkSession spark, Network net, String modelId, LabeledData data, String dataset,
            String split, String output, String runDate, String runId, int partitions, Map<String, Object> config)
            throws IOException {
        return run(spark, net, modelId, data, dataset, split, output, runDate, runId, partitions, config, DEFAULT_RADII,
                new Options(64, 100, false));
    }

    /**
     * Optional parts of a run. Soundness mode: re-verify the certificates of {@code soundnessExamples}
     * examples (spread over the shards; 0 = off) in float64 with {@code soundnessPoints} sampled points
     * per norm each ({@link SoundnessCheck}). {@code coordinateBounds}: store the directional
     * certificates along +e_k and -e_k of every input coordinate as array columns.
     */
    public record Options(int soundnessExamples, int soundnessPoints, boolean coordinateBounds, Gradient gradient,
            boolean replace) implements java.io.Serializable {
        public Options(int soundnessExamples, int soundnessPoints, boolean coordinateBounds) {
            this(soundnessExamples, soundnessPoints, coordinateBounds, Gradient.OFF, false);
        }

        public Options(int soundnessExamples, int soundnessPoints, boolean coordinateBounds, Gradient gradient) {
            this(soundnessExamples, soundnessPoints, coordinateBounds, gradient, false);
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
        public static final Gradient OFF = new Gradient(0, 8.0 / 256, 0, 1, 8000, 4800, 30, 0);

        /** The seed of one example's sampling and search. */
        public long seedFor(long exampleId) {
            return seed * 0x9E3779B97F4A7C15L + exampleId;
        }
    }

    /** Default radii (raw MNIST pixel units) at which the summary reports certified accuracy: l1, l2, l_inf. */
    public static final double[][] DEFAULT_RADII = {{0.05, 0.1, 0.2, 0.5, 1.0}, {0.01, 0.02, 0.05, 0.1, 0.2},
        {0.001, 0.002, 0.005, 0.01, 0.02}};

    /**
     * Runs the job.
     *
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
        Path[] finals = {new Path(root, "examples/" + part), new Path(root, "summary/" + part), new Path(root, "runs/" + part)};
        if (!options.replace() && !failed(fs, finals[2])) {
            for (Path f : finals) {
                if (fs.exists(f)) {
                    throw new IllegalArgumentException("run " + runId + " of " + runDate + " already exists at " + f
                            + "; choose another run id, or set certify.replace = true to replace it");
                }
            }
        }
        fs.delete(staging, true);
        try {
            Broadcast<NetState> bNet = sc.broadcast(NetState.of(net));
            int parts = data.numShards();
            JavaRDD<LabeledData> shards = data.shards();

            sc.setJobDescription("roll certify: " + dataset + " (" + data.size() + " examples)");
            JavaRDD<Row> rows = shards.mapPartitionsWithIndex(new CertifyShard(bNet, runId, modelId, dataset, split,
                    options, parts), false);
            Dataset<Row> df = spark.createDataFrame(rows, EXAMPLES);
            df.write().mode(SaveMode.ErrorIfExists).parquet(new Path(staging, "examples").toString());
            bNet.destroy();

            Dataset<Row> written = spark.read().schema(EXAMPLES).parquet(new Path(staging, "examples").toString());
            written.createOrReplaceTempView("roll_examples_" + runId.replaceAll("[^A-Za-z0-9_]", "_"));
            Row summary = summarize(spark, written, runId, modelId, dataset, split, radii);
            long n = summary.getLong(4);
            if (n != data.size()) {
                throw new IllegalStateException("certification wrote " + n + " rows for " + data.size() + " examples");
            }
            spark.createDataFrame(List.of(summary), SUMMARY).coalesce(1).write().mode(SaveMode.ErrorIfExists)
                    .parquet(new Path(staging, "summary").toString());
            Map<String, Object> manifest = new LinkedHashMap<>();
            manifest.put("runId", runId);
            manifest.put("runDate", runDate);
            manifest.put("status", "succeeded");
            manifest.put("exitCode", 0);
            manifest.put("modelId", modelId);
            manifest.put("dataset", dataset);
            manifest.put("split", split);
            manifest.put("examples", n);
            manifest.put("accuracy", summary.getDouble(5));
            manifest.put("distinctPatterns", summary.getLong(6));
            manifest.put("distinctJacobians", summary.getLong(7));
            manifest.put("soundness", Map.of("examples", summary.getLong(8), "points", summary.getLong(9),
                    "violations", summary.getLong(10)));
            manifest.put("marginUnits", "raw input units");
            manifest.put("tables", Map.of("examples", finals[0].toString(), "summary", finals[1].toString()));
            manifest.put("provenance", Provenance.record(config, 0, data.fingerprint()));
            fs.mkdirs(new Path(staging, "runs"));
            try (OutputStream o = fs.create(new Path(staging, "runs/_run.json"), false)) {
                o.write(JSON.writeValueAsString(manifest).getBytes(StandardCharsets.UTF_8));
            }
            fs.create(new Path(staging, "runs/_SUCCESS"), false).close();
            commit(fs, staging, finals);
            return new Result(runId, n, finals[0].toString(), finals[1].toString(), new Path(finals[2], "_run.json").toString(),
                    summary);
        } finally {
            fs.delete(staging, true);
        }
    }

    /**
     * Moves the staged tables into their partitions, replacing this run's earlier partitions (a rerun
     * of the same run id: only its own partitions change, like Spark's dynamic partition overwrite);
     * if a move fails, the new partitions are removed and the earlier ones restored.
     */
    private static void commit(FileSystem fs, Path staging, Path[] finals) throws IOException {
        String[] names = {"examples", "summary", "runs"};
        List<Path> done = new ArrayList<>();
        List<Path[]> moved = new ArrayList<>(); // {earlier partition, where it was parked}
        try {
            for (int i = 0; i < names.length; i++) {
                if (fs.exists(finals[i])) {
                    Path parked = new Path(staging, "earlier-" + names[i]);
                    if (!fs.rename(finals[i], parked)) {
                        throw new IOException("could not move the earlier partition " + finals[i] + " aside");
                    }
                    moved.add(new Path[] {finals[i], parked});
                }
            }
            for (int i = 0; i < names.length; i++) {
                fs.mkdirs(finals[i].getParent());
                if (!fs.rename(new Path(staging, names[i]), finals[i])) {
                    throw new IOException("could not move " + new Path(staging, names[i]) + " to " + finals[i]);
                }
                done.add(finals[i]);
            }
        } catch (IOException | RuntimeException e) {
            for (Path p : done) {
                fs.delete(p, true);
            }
            for (Path[] m : moved) {
                fs.rename(m[1], m[0]);
            }
            throw e;
        }
    }

    /** True when a run's manifest says it failed (its partitions may be replaced by a rerun). */
    private static boolean failed(FileSystem fs, Path runPartition) throws IOException {
        Path manifest = new Path(runPartition, "_run.json");
        if (!fs.exists(manifest)) {
            return false;
        }
        try (java.io.InputStream in = fs.open(manifest)) {
            return "failed".equals(JSON.readTree(in).path("status").asText());
        } catch (IOException e) {
            return false;
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
        if (!replace && fs.exists(runs) && !failed(fs, runs)) {
            return;
        }
        fs.delete(new Path(root, "examples/" + part), true);
        fs.delete(new Path(root, "summary/" + part), true);
        fs.delete(runs, true);
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("runId", runId);
        manifest.put("runDate", runDate);
        manifest.put("status", "failed");
        manifest.put("exitCode", exitCode);
        manifest.put("error", error);
        manifest.put("modelId", modelId);
        manifest.put("finished", java.time.Instant.now().toString());
        fs.mkdirs(runs);
        try (OutputStream o = fs.create(new Path(runs, "_run.json"), true)) {
            o.write(JSON.writeValueAsString(manifest).getBytes(StandardCharsets.UTF_8));
        }
    }

    static List<Row> certifyShard(Network net, LabeledData shard, String runId, String modelId, String dataset,
            String split, int soundExamples, int gradExamples, Options options) {
        org.nd4j.linalg.api.ndarray.INDArray x = shard.allFeatures();
        int[] lengths = shard.lengths(LabeledData.identity(shard.size()), 0, shard.size());
        Certification c = new RegionCertifier(net).withCoordinateBounds(options.coordinateBounds()).certify(x, lengths);
        SoundnessCheck check = soundExamples > 0 ? new SoundnessCheck(net, options.soundnessPoints(), 1) : null;
        double[] xs = check == null ? null : org.rollspark.util.Host.pull(x);
        int d = shard.numFeatures();
        GradientStability.Result[] grad = new GradientStability.Result[c.size()];
        if (gradExamples > 0) {
            Gradient gc = options.gradient();
            GradientStability gs = new GradientStability(net.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE), gc.eps(),
                    gc.boxLow(), gc.boxHigh());
            double[] all = xs != null ? xs : org.rollspark.util.Host.pull(x);
            for (int i = 0; i < Math.min(gradExamples, c.size()); i++) {
                if (lengths != null) {
                    break; // gradient stability perturbs every coordinate: not defined for padded sequences
                }
                grad[i] = gs.evaluate(java.util.Arrays.copyOfRange(all, i * d, (i + 1) * d), shard.label(i), gc.samples(),
                        gc.population(), gc.generations(), gc.seedFor(shard.id(i)));
            }
        }
        List<Row> rows = new ArrayList<>(c.size());
        for (int i = 0; i < c.size(); i++) {
            boolean bounded = Double.isFinite(c.margin(Norm.L2, i));
            SoundnessCheck.Report sound = check != null && i < soundExamples
                    ? check.verify(java.util.Arrays.copyOfRange(xs, i * d, (i + 1) * d), c, i, shard.label(i), shard.id(i),
                            lengths == null ? 0 : lengths[i])
                    : new SoundnessCheck.Report(0, 0, 0);
            rows.add(RowFactory.create(runId, modelId, dataset, split, shard.id(i), shard.label(i), c.pred(i),
                    c.pred(i) == shard.label(i), c.logitGap(i), c.margin(Norm.L1, i), c.margin(Norm.L2, i),
                    c.margin(Norm.LINF, i), c.decisionMargin(Norm.L1, i), c.decisionMargin(Norm.L2, i),
                    c.decisionMargin(Norm.LINF, i), c.certifiedRadius(Norm.L1, i, shard.label(i)),
                    c.certifiedRadius(Norm.L2, i, shard.label(i)), c.certifiedRadius(Norm.LINF, i, shard.label(i)),
                    c.bindingLayer(Norm.L1, i), c.bindingUnit(Norm.L1, i),
                    c.bindingLayer(Norm.L2, i), c.bindingUnit(Norm.L2, i), c.bindingLayer(Norm.LINF, i),
                    c.bindingUnit(Norm.LINF, i), c.pattern(i).hash(), c.jacobianHash(i), (int) sound.points(), (int) sound.violations(),
                    grad[i] == null ? null : grad[i].expected(), grad[i] == null ? null : grad[i].maximum(),
                    half(c.coordinateBounds(i), 0), half(c.coordinateBounds(i), 1), bounded ? "ok" : "unbounded"));
        }
        return rows;
    }

    private static Row summarize(SparkSession spark, Dataset<Row> df, String runId, String modelId, String dataset,
            String split, double[][] radii) {
        StringBuilder sql = new StringBuilder("SELECT count(*) AS n, avg(CAST(correct AS DOUBLE)) AS accuracy, "
                + "count(DISTINCT pattern_hash) AS distinct_patterns, count(DISTINCT jacobian_hash) AS distinct_jacobians, "
                + "count_if(sound_points > 0), CAST(sum(sound_points) AS BIGINT), CAST(sum(sound_violations) AS BIGINT), "
                + "count(grad_dist_mean), percentile_disc(0.5) WITHIN GROUP (ORDER BY grad_dist_mean), "
                + "percentile_disc(0.5) WITHIN GROUP (ORDER BY grad_dist_max)");
        for (Norm p : Norm.values()) {
            String c = "eps_" + p.label();
            sql.append(", min(").append(c).append("), avg(").append(c).append(")");
            for (String q : new String[] {"0.25", "0.5", "0.75", "1.0"}) {
                // nearest-rank quantile, exact: the smallest value with at least q*n values at or below it
                sql.append(", percentile_disc(").append(q).append(") WITHIN GROUP (ORDER BY ").append(c).append(")");
            }
        }
        for (Norm p : Norm.values()) {
            // certified accuracy: examples certified at radius r over ALL examples
            sql.append(", array(");
            double[] rs = radii[p.ordinal()];
            for (int i = 0; i < rs.length; i++) {
                sql.append(i > 0 ? ", " : "").append("avg(CASE WHEN cert_").append(p.label()).append(" >= ")
                        .append(Double.toString(rs[i])).append(" AND correct THEN 1.0D ELSE 0.0D END)");
            }
            sql.append(")");
        }
        String view = "roll_examples_" + runId.replaceAll("[^A-Za-z0-9_]", "_");
        Row r = spark.sql(sql.append(" FROM ").append(view).toString()).first();
        Object[] v = new Object[SUMMARY.size()];
        v[0] = runId;
        v[1] = modelId;
        v[2] = dataset;
        v[3] = split;
        int stats = 10 + 3 * 6;
        for (int i = 0; i < stats; i++) {
            v[4 + i] = r.get(i);
        }
        for (Norm p : Norm.values()) {
            double[] rs = radii[p.ordinal()];
            scala.collection.Seq<?> acc = r.getSeq(stats + p.ordinal());
            v[4 + stats + 2 * p.ordinal()] = toList(rs);
            java.util.List<Double> a = new ArrayList<>();
            for (int i = 0; i < acc.size(); i++) {
                a.add(((Number) acc.apply(i)).doubleValue());
            }
            v[4 + stats + 2 * p.ordinal() + 1] = scala.collection.JavaConverters.asScalaBuffer(a).toSeq();
        }
        return new org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema(v, SUMMARY);
    }

    /**
     * Certifies one shard on an executor; shard p re-verifies floor((p+1)N/P) - floor(pN/P) of its
     * examples in the soundness mode, N over all P shards.
     */
    private static final class CertifyShard implements Function2<Integer, java.util.Iterator<LabeledData>, java.util.Iterator<Row>> {
        private static final long serialVersionUID = 1L;
        private final Broadcast<NetState> net;
        private final String runId;
        private final String modelId;
        private final String dataset;
        private final String split;
        private final Options options;
        private final int shards;

        CertifyShard(Broadcast<NetState> net, String runId, String modelId, String dataset, String split,
                Options options, int shards) {
            this.net = net;
            this.runId = runId;
            this.modelId = modelId;
            this.dataset = dataset;
            this.split = split;
            this.options = options;
            this.shards = shards;
        }

        @Override
        public java.util.Iterator<Row> call(Integer index, java.util.Iterator<LabeledData> it) {
            List<Row> rows = new ArrayList<>();
            long n = options.soundnessExamples();
            long mine = n * (index + 1) / shards - n * index / shards;
            long g = options.gradient().examples();
            long mineGrad = g * (index + 1) / shards - g * index / shards;
            while (it.hasNext()) {
                rows.addAll(certifyShard(net.value().toNet(), it.next(), runId, modelId, dataset, split, (int) mine,
                        (int) mineGrad, options));
            }
            return rows.iterator();
        }
    }

    private static scala.collection.Seq<Double> toList(double[] v) {
        java.util.List<Double> l = new ArrayList<>();
        for (double d : v) {
            l.add(d);
        }
        return scala.collection.JavaConverters.asScalaBuffer(l).toSeq();
    }

    /** The first (part 0) or second (part 1) half of a bounds array as a Spark array value; null stays null. */
    private static scala.collection.Seq<Double> half(double[] bounds, int part) {
        if (bounds == null) {
            return null;
        }
        int d = bounds.length / 2;
        return toList(java.util.Arrays.copyOfRange(bounds, part * d, (part + 1) * d));
    }
}
