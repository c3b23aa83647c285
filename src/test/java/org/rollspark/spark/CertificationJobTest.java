package org.rollspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.data.LabeledData;
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.region.Certification;
import org.rollspark.region.RegionCertifier;
import org.rollspark.region.Norm;

/** The certification job on local Spark, its Parquet output read back with Spark SQL. */
class CertificationJobTest {
    /** The job defaults, as the command line resolves them. */
    private static final org.rollspark.cli.JobConfig DEFAULTS = org.rollspark.cli.JobConfig.load(null, java.util.List.of());

    static SparkSession spark;
    static LabeledData test;
    static DenseNet net;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws IOException {
        spark = SparkSession.builder().master("local[2]").appName("roll-certify-test")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        test = LabeledData.bundledMnist(Path.of("."))[1].subset("test", IntStream.range(0, 301).toArray());
        // float64, carried to the executors, so that rows can be compared with local certification
        net = DenseNet.init(new int[] {784, 20, 12, 10}, Activation.relu(), Normalization.mnist(), Init.UNIFORM_FAN_IN, 4,
                DataType.DOUBLE);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @Test
    void writesExactlyOneRowPerExampleReadableWithSparkSql() throws IOException {
        String out = tmp.resolve("out").toString();
        CertificationJob.Result r = CertificationJob.run(spark, net, "m1", test, "mnist-slice", "test", out,
                "2026-11-24", "r1", 3, Map.of("k", "v"), DEFAULTS.radii(), DEFAULTS.certifyOptions());
        assertEquals(301, r.rows());
        spark.read().parquet(out + "/examples").createOrReplaceTempView("ex");
        Row counts = spark.sql("SELECT count(*), count(DISTINCT example_id), min(eps_l2), min(eps_l1), min(eps_linf), "
                + "max(CASE WHEN isnan(eps_l2) OR eps_l2 = double('inf') THEN 1 ELSE 0 END), first(run_date), first(run_id) "
                + "FROM ex WHERE run_id = 'r1'").first();
        assertEquals(301L, counts.getLong(0));
        assertEquals(301L, counts.getLong(1));
        assertTrue(counts.getDouble(2) > 0 && counts.getDouble(3) > 0 && counts.getDouble(4) > 0);
        assertEquals(0, counts.getInt(5));
        assertEquals("2026-11-24", counts.get(6).toString());
        assertEquals("r1", counts.getString(7));

        // the summary's quantiles (a distributed sort) are Spark's exact nearest-rank percentile_disc
        Row disc = spark.sql("SELECT percentile_disc(0.25) WITHIN GROUP (ORDER BY eps_l2), percentile_disc(0.5) WITHIN "
                + "GROUP (ORDER BY eps_l1), percentile_disc(1.0) WITHIN GROUP (ORDER BY eps_linf), percentile_disc(0.75) "
                + "WITHIN GROUP (ORDER BY eps_l2) FROM ex WHERE run_id = 'r1'").first();
        assertEquals(disc.getDouble(0), r.summary().<Double>getAs("eps_l2_p25"), 0.0);
        assertEquals(disc.getDouble(1), r.summary().<Double>getAs("eps_l1_p50"), 0.0);
        assertEquals(disc.getDouble(2), r.summary().<Double>getAs("eps_linf_p100"), 0.0);
        assertEquals(disc.getDouble(3), r.summary().<Double>getAs("eps_l2_p75"), 0.0);

        // the rows agree with certifying locally, example by example (up to the last digits, which vary
        // with the batch composition through the GEMM blocking); MNIST is byte-valued: the exact points p / 255
        assertTrue(DEFAULTS.certifyOptions().byteValued());
        Certification local = new RegionCertifier(net).certify(test.bytePoints());
        List<Row> rows = spark.sql("SELECT example_id, eps_l2, pred, pattern_hash, bind_layer_l2, bind_unit_l2, label, "
                + "dec_linf, cert_l2, cert_l1 FROM ex ORDER BY example_id").collectAsList();
        for (Row row : rows) {
            int i = (int) row.getLong(0);
            assertEquals(local.margin(Norm.L2, i), row.getDouble(1), 1e-9 * local.margin(Norm.L2, i));
            assertEquals(local.pred(i), row.getInt(2));
            assertEquals(local.pattern(i).hash(), row.getString(3));
            assertEquals(local.bindingUnit(Norm.L2, i), row.getInt(5));
            assertEquals(test.label(i), row.getInt(6));
            assertEquals(local.decisionMargin(Norm.LINF, i), row.getDouble(7), 1e-9 * local.decisionMargin(Norm.LINF, i));
            assertEquals(local.certifiedRadius(Norm.L2, i, test.label(i)), row.getDouble(8), 1e-9);
            assertEquals(local.certifiedRadius(Norm.L1, i, test.label(i)), row.getDouble(9), 1e-9);
        }

        Row s = spark.read().parquet(out + "/summary").where("run_id = 'r1'").first();
        assertEquals(301L, s.getLong(s.fieldIndex("n")));
        assertEquals(local.accuracy(test.labels()), s.getDouble(s.fieldIndex("accuracy")), 1e-12);
        assertEquals(local.distinctPatterns(), s.getLong(s.fieldIndex("distinct_patterns")));
        assertEquals(local.distinctJacobians(), s.getLong(s.fieldIndex("distinct_jacobians")));
        assertEquals(64L, s.getLong(s.fieldIndex("soundness_examples")), "the default soundness sample");
        assertEquals(64L * 300, s.getLong(s.fieldIndex("soundness_points")));
        assertEquals(0L, s.getLong(s.fieldIndex("soundness_violations")));
        assertEquals(local.quantile(Norm.L2, 0.5), s.getDouble(s.fieldIndex("eps_l2_p50")), 1e-9 * local.quantile(Norm.L2, 0.5));
        assertEquals(local.quantile(Norm.L1, 1.0), s.getDouble(s.fieldIndex("eps_l1_p100")), 1e-9 * local.quantile(Norm.L1, 1.0));

        List<Double> radii = s.getList(s.fieldIndex("cert_radii_l2"));
        List<Double> acc = s.getList(s.fieldIndex("cert_acc_l2"));
        assertEquals(DEFAULTS.radii()[1].length, acc.size());
        for (int k = 0; k < radii.size(); k++) {
            assertEquals(local.certifiedAccuracy(Norm.L2, radii.get(k), test.labels()), acc.get(k), 1e-12);
        }
        assertEquals(local.certifiedAccuracy(Norm.LINF, DEFAULTS.radii()[2][0], test.labels()),
                s.<Double>getList(s.fieldIndex("cert_acc_linf")).get(0), 1e-12);

        JsonNode manifest = new ObjectMapper().readTree(Path.of(out, "runs/run_date=2026-11-24/run_id=r1/_run.json").toFile());
        assertEquals("succeeded", manifest.path("status").asText());
        assertEquals(301, manifest.path("examples").asInt());
        assertEquals("v", manifest.path("provenance").path("config").path("k").asText());
        assertFalse(Files.exists(Path.of(out, "_staging", "r1")));
    }

    /**
     * certify.norms = [l2]: the l2 columns equal those of an all-norm certification row by row, the other norms'
     * columns and certified accuracies are null, and the soundness mode samples l2 balls only, without a violation.
     */
    @Test
    void l2AloneLeavesTheOtherNormsNull() throws IOException {
        String out = tmp.resolve("out").toString();
        LabeledData some = test.subset("some", IntStream.range(0, 120).toArray());
        org.rollspark.cli.JobConfig l2 = DEFAULTS.with(Map.of(CertificationJob.NORMS.key(), List.of("l2")));
        CertificationJob.Result r = CertificationJob.run(spark, net, "m1", some, "mnist-slice", "test", out,
                "2026-11-24", "l2only", 2, Map.of(), l2.radii(), l2.certifyOptions());
        CertificationJob.run(spark, net, "m1", some, "mnist-slice", "test", out, "2026-11-24", "all", 2, Map.of(),
                DEFAULTS.radii(), DEFAULTS.certifyOptions());
        spark.read().parquet(out + "/examples").createOrReplaceTempView("both");
        Row cmp = spark.sql("SELECT count(*), max(abs(a.eps_l2 - b.eps_l2) / b.eps_l2), max(abs(a.dec_l2 - b.dec_l2) / b.dec_l2), "
                + "count_if(a.bind_unit_l2 <> b.bind_unit_l2), count_if(a.jacobian_hash <> b.jacobian_hash), "
                + "count(a.eps_l1), count(a.eps_linf), count(a.dec_l1), count(a.cert_linf), count(a.bind_layer_l1) "
                + "FROM both a JOIN both b ON a.example_id = b.example_id WHERE a.run_id = 'l2only' AND b.run_id = 'all'")
                .first();
        assertEquals(120L, cmp.getLong(0));
        assertTrue(cmp.getDouble(1) < 1e-9 && cmp.getDouble(2) < 1e-9, "l2 margins agree: " + cmp);
        assertEquals(0L, cmp.getLong(3));
        assertEquals(0L, cmp.getLong(4), "the same logit Jacobians, mapped back from the basis");
        for (int c = 5; c < 10; c++) {
            assertEquals(0L, cmp.getLong(c), "no value in a norm not certified: " + cmp);
        }
        Row s = r.summary();
        assertTrue(s.isNullAt(s.fieldIndex("eps_l1_p50")) && s.isNullAt(s.fieldIndex("eps_linf_min"))
                && s.isNullAt(s.fieldIndex("cert_acc_l1")) && s.isNullAt(s.fieldIndex("cert_acc_linf")));
        assertEquals(5, s.getList(s.fieldIndex("cert_acc_l2")).size());
        assertEquals(64L * 100, s.getLong(s.fieldIndex("soundness_points")), "l2 balls only");
        assertEquals(0L, s.getLong(s.fieldIndex("soundness_violations")));
        // the summary as a table reads back with the same nulls
        Row back = spark.read().parquet(out + "/summary").where("run_id = 'l2only'").first();
        assertTrue(back.isNullAt(back.fieldIndex("cert_acc_l1")));
    }

    /** Graph nets (a residual conv net here) certify into the same tables, soundness mode included. */
    @Test
    void graphNetsCertifyIntoTheSameTables() throws IOException {
        org.rollspark.graph.GraphNet conv = ParameterAveragingTrainerTest.convNet().castTo(DataType.DOUBLE);
        LabeledData small = test.subset("small", IntStream.range(0, 23).toArray());
        String out = tmp.resolve("graph").toString();
        CertificationJob.Result r = CertificationJob.run(spark, conv, "conv", small, "d", "test", out, "2026-11-25", "g1", 3,
                Map.of(), DEFAULTS.radii(), new CertificationJob.Options(6, 20, false));
        assertEquals(23, r.rows());
        spark.read().parquet(out + "/examples").createOrReplaceTempView("gx");
        Row c = spark.sql("SELECT count(*), count(DISTINCT example_id), min(eps_l2), sum(sound_points), "
                + "sum(sound_violations), max(bind_layer_l2) FROM gx").first();
        assertEquals(23L, c.getLong(0));
        assertEquals(23L, c.getLong(1));
        assertTrue(c.getDouble(2) > 0);
        assertTrue(c.getLong(3) > 0, "soundness points were tried");
        assertEquals(0L, c.getLong(4), "no soundness violation");
        assertTrue(c.getInt(5) <= 2, "binding layers index the three neuron groups");
        Certification local = new org.rollspark.region.RegionCertifier(conv, 16).certify(small.allFeatures());
        for (Row row : spark.sql("SELECT example_id, eps_l2 FROM gx").collectAsList()) {
            int i = (int) row.getLong(0);
            assertEquals(local.margin(Norm.L2, i), row.getDouble(1), 1e-9 * local.margin(Norm.L2, i));
        }
    }

    @Test
    void coordinateBoundsAreStoredOnRequest() throws IOException {
        String out = tmp.resolve("out4").toString();
        LabeledData small = test.subset("small", new int[] {3, 4, 5, 6});
        CertificationJob.run(spark, net, "m1", small, "d", "test", out, "2026-11-24", "r4", 2, Map.of(),
                DEFAULTS.radii(), new CertificationJob.Options(0, 2, true));
        Certification local = new RegionCertifier(net).withCoordinateBounds(true).certify(small.allFeatures());
        List<Row> rows = spark.read().parquet(out + "/examples").orderBy("example_id").collectAsList();
        assertEquals(4, rows.size());
        for (int i = 0; i < 4; i++) {
            List<Double> pos = rows.get(i).getList(rows.get(i).fieldIndex("dir_pos"));
            List<Double> neg = rows.get(i).getList(rows.get(i).fieldIndex("dir_neg"));
            assertEquals(784, pos.size());
            assertEquals(local.coordinateBounds(i)[100], pos.get(100), 1e-9 * local.coordinateBounds(i)[100]);
            assertEquals(local.coordinateBounds(i)[784 + 300], neg.get(300), 1e-9 * local.coordinateBounds(i)[784 + 300]);
            assertEquals(0, rows.get(i).getInt(rows.get(i).fieldIndex("sound_points")));
        }
        Row s = spark.read().parquet(out + "/summary").first();
        assertEquals(0L, s.getLong(s.fieldIndex("soundness_examples")));
    }

    @Test
    void gradientStabilityForASampleOfExamples() throws IOException {
        String out = tmp.resolve("out5").toString();
        LabeledData small = test.subset("small", new int[] {10, 11, 12, 13, 14, 15});
        var g = new CertificationJob.Gradient(3, 0.05, 0, 1, 40, 16, 2, 11);
        CertificationJob.run(spark, net, "m1", small, "d", "test", out, "2026-11-24", "r5", 3, Map.of(),
                DEFAULTS.radii(), new CertificationJob.Options(0, 2, false, g));
        List<Row> rows = spark.read().parquet(out + "/examples").where("grad_dist_mean IS NOT NULL").collectAsList();
        assertEquals(3, rows.size(), "one example per shard");
        org.rollspark.region.GradientStability gs = new org.rollspark.region.GradientStability(net, 0.05, 0, 1);
        for (Row r : rows) {
            long id = r.getLong(r.fieldIndex("example_id"));
            int i = java.util.Arrays.asList(10L, 11L, 12L, 13L, 14L, 15L).indexOf(id);
            double[] x = org.rollspark.util.Host.pull(small.features(new int[] {i}, 0, 1));
            var local = gs.evaluate(x, small.label(i), 40, 16, 2, g.seedFor(small.id(i)));
            assertEquals(local.expected(), r.getDouble(r.fieldIndex("grad_dist_mean")), 1e-9 * (1 + local.expected()));
            assertEquals(local.maximum(), r.getDouble(r.fieldIndex("grad_dist_max")), 1e-9 * (1 + local.maximum()));
            assertTrue(local.maximum() >= local.expected());
        }
        Row s = spark.read().parquet(out + "/summary").first();
        assertEquals(3L, s.getLong(s.fieldIndex("grad_dist_examples")));
    }

    @Test
    void aFailedRunLeavesNoPartialTable() throws IOException {
        Path out = tmp.resolve("out2");
        Files.createDirectories(out);
        Files.writeString(out.resolve("summary"), "a file where the summary table must go");
        assertThrows(Exception.class, () -> CertificationJob.run(spark, net, "m1", test, "mnist-slice", "test",
                out.toString(), "2026-11-24", "r2", 2, Map.of(), DEFAULTS.radii(), DEFAULTS.certifyOptions()));
        assertFalse(Files.exists(out.resolve("examples/run_date=2026-11-24/run_id=r2")), "examples rolled back");
        assertFalse(Files.exists(out.resolve("runs/run_date=2026-11-24/run_id=r2")));
        assertFalse(Files.exists(out.resolve("_staging/r2")));
    }

    @Test
    void anExistingRunIsNotOverwritten() throws IOException {
        String out = tmp.resolve("out3").toString();
        LabeledData small = test.subset("small", new int[] {0, 1, 2});
        CertificationJob.run(spark, net, "m1", small, "d", "test", out, "2026-11-24", "r3", 2, Map.of(), DEFAULTS.radii(),
                DEFAULTS.certifyOptions());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CertificationJob.run(spark, net,
                "m1", small, "d", "test", out, "2026-11-24", "r3", 2, Map.of(), DEFAULTS.radii(), DEFAULTS.certifyOptions()));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals(3L, spark.read().parquet(out + "/examples").count());
    }
}
