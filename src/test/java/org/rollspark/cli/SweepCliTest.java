package org.rollspark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sweep command end to end on a small slice: a 2 x 2 grid with two diverging points, then a rerun. */
class SweepCliTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void quietSpark() {
        MainTest.quietSpark();
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"parallel", "sequential"})
    void aGridTrainsPicksRecordsFailuresAndSkipsDonePointsOnRerun(String mode) throws java.io.IOException {
        String outDir = tmp.resolve("runs").toString();
        String[] args = {"sweep", "data.trainLimit=400", "data.validation=100", "data.testLimit=100", "net.hidden=[16]",
            "train.epochs=1", "spark.numWorkers=2", "spark.averagingFrequency=2", "certify.soundnessExamples=4",
            "sweep.mode=" + mode, "sweep.grid={\"loss.lambda\" = [0.5, 1], \"train.lr\" = [0.02, 1e9]}", "output.runId=s1",
            "output.runDate=2026-11-25", "output.dir=" + outDir};
        MainTest.Result first = MainTest.run(args);
        assertEquals(0, first.code(), first.err() + first.out());
        assertTrue(first.out().contains("sweep table: 4 points and the baseline, 2 failed"), first.out());
        assertTrue(first.out().contains(mode.equals("parallel") ? "in parallel, one Spark task per point"
                : "one after another, each with parameter averaging"), first.out());
        assertTrue(first.out().contains("picked on validation"), first.out());

        SparkSession spark = SparkSession.builder().master("local[1]").appName("sweep-table").getOrCreate();
        try {
            spark.read().parquet(outDir + "/sweeps").createOrReplaceTempView("sweeps");
            List<Row> rows = spark.sql("SELECT status, loss_type, set_train_lr, error, selected, val_accuracy, run_id, "
                    + "run_date FROM sweeps ORDER BY point_id").collectAsList();
            assertEquals(5, rows.size());
            long ok = rows.stream().filter(r -> r.getString(0).equals("ok")).count();
            assertEquals(3, ok, rows.toString());
            for (Row r : rows) {
                assertEquals("s1", r.getString(6));
                assertEquals("2026-11-25", String.valueOf(r.get(7)));
                if (r.getString(0).equals("failed")) {
                    assertEquals(1e9, Double.parseDouble(r.getString(2)), rows.toString());
                    assertTrue(r.getString(3).contains("diverged"), r.getString(3));
                } else {
                    assertTrue(r.getDouble(5) > 0.3, "validation accuracy " + r.getDouble(5));
                }
            }
            assertEquals(1, rows.stream().filter(r -> r.getString(1).equals("vanilla")).count());
            // a point's training time is its epochs' wall times, as its training-metrics rows record them
            spark.read().parquet(outDir + "/training").createOrReplaceTempView("training");
            List<Row> times = spark.sql("SELECT s.point_id, s.train_seconds, sum(t.wall_seconds) FROM sweeps s JOIN training t "
                    + "ON t.run_id = concat('s1-sweep-', s.point_id) AND t.round IS NULL WHERE s.status = 'ok' "
                    + "GROUP BY s.point_id, s.train_seconds").collectAsList();
            assertEquals(3, times.size(), times.toString());
            for (Row r : times) {
                assertTrue(r.getDouble(1) > 0, times.toString());
                assertEquals(r.getDouble(2), r.getDouble(1), 1e-9, times.toString());
            }
            // validation certification runs name the training location they were held out of
            List<Row> datasets = spark.read().parquet(outDir + "/certification/summary").where("split = 'validation'")
                    .select("dataset").distinct().collectAsList();
            assertEquals(1, datasets.size(), datasets.toString());
            assertTrue(datasets.get(0).getString(0).contains("train-images"), datasets.toString());
        } finally {
            spark.stop();
        }

        // analysts read the table with DuckDB too (hive partitions from the folder names)
        try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:duckdb:");
                java.sql.ResultSet rs = db.createStatement().executeQuery("SELECT count(*), count(*) FILTER (WHERE status = "
                        + "'failed'), max(run_id), count(selected), count(test_accuracy) FROM read_parquet('" + outDir
                        + "/sweeps/*/*/*.parquet', hive_partitioning = true)")) {
            assertTrue(rs.next());
            assertEquals(5, rs.getLong(1));
            assertEquals(2, rs.getLong(2));
            assertEquals("s1", rs.getString(3));
            assertTrue(rs.getLong(4) >= 1, "at least one pick");
            assertEquals(1 + rs.getLong(4), rs.getLong(5), "the baseline and the picks are certified on test");
        } catch (java.sql.SQLException e) {
            throw new AssertionError("DuckDB could not read the sweep table: " + e.getMessage(), e);
        }

        // a point whose model folder is gone is trained again; the other finished points are skipped
        java.io.File[] models = Path.of(outDir, "models").toFile().listFiles((d, n) -> n.startsWith("s1-sweep-"));
        assertEquals(3, models.length, java.util.Arrays.toString(models));
        org.rollspark.model.ModelIO.deleteTree(models[0].toPath());
        MainTest.Result again = MainTest.run(args);
        assertEquals(0, again.code(), again.err() + again.out());
        assertEquals(2, again.out().split("done in an earlier run, skipped", -1).length - 1, again.out());
        assertTrue(again.out().contains("sweep table: 4 points and the baseline, 2 failed"), again.out());
    }

    /**
     * A point that fails for a reason other than divergence (here an injected failure at the start of its
     * training: on the driver in sequential mode, in its Spark task in parallel mode) is recorded with its
     * error and the other points go on; a rerun trains it again. With sweep.failFast the same failure
     * stops the sweep (exit 1, no table).
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"parallel", "sequential"})
    void aFailedPointIsRecordedAndTheOthersGoOnUnlessFailFast(String mode) throws java.io.IOException {
        String outDir = tmp.resolve("runs").toString();
        String[] args = {"sweep", "data.trainLimit=300", "data.validation=100", "data.testLimit=50", "net.hidden=[12]",
            "train.epochs=1", "spark.numWorkers=2", "spark.averagingFrequency=2", "certify.soundnessExamples=0",
            "sweep.mode=" + mode, "sweep.grid={\"train.lr\" = [0.02, 0.03, 0.04]}", "output.runDate=2026-11-26",
            "output.dir=" + outDir};
        org.rollspark.spark.ParameterAveragingTrainer.failAtLearningRate = 0.03;
        try {
            MainTest.Result first = MainTest.run(with(args, "output.runId=f"));
            assertEquals(0, first.code(), first.err() + first.out());
            assertTrue(first.out().contains("sweep table: 3 points and the baseline, 1 failed"), first.out());
            SparkSession spark = SparkSession.builder().master("local[1]").appName("sweep-failed").getOrCreate();
            try {
                List<Row> rows = spark.read().parquet(outDir + "/sweeps").where("run_id = 'f'")
                        .selectExpr("set_train_lr", "status", "error", "train_seconds", "model").orderBy("set_train_lr")
                        .collectAsList();
                assertEquals(4, rows.size(), rows.toString()); // the baseline's set_train_lr is null, first
                for (Row r : rows.subList(1, 4)) {
                    boolean failing = Double.parseDouble(r.getString(0)) == 0.03;
                    assertEquals(failing ? "failed" : "ok", r.getString(1), rows.toString());
                    if (failing) {
                        assertTrue(r.getString(2).startsWith("failed") && r.getString(2).contains(
                                "injected failure of the run at learning rate 0.03"), r.getString(2));
                        assertTrue(r.getDouble(3) >= 0 && r.isNullAt(4), rows.toString());
                    } else {
                        assertTrue(r.isNullAt(2) && !r.isNullAt(4), rows.toString());
                    }
                }
            } finally {
                spark.stop();
            }

            MainTest.Result fast = MainTest.run(with(args, "output.runId=g", "sweep.failFast=true"));
            assertEquals(1, fast.code(), fast.err() + fast.out());
            assertTrue(fast.err().contains("injected failure of the run at learning rate 0.03"), fast.err());
            try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(Path.of(outDir, "sweeps"))) {
                assertTrue(files.noneMatch(f -> f.getFileName().toString().equals("run_id=g")), "no sweep table for run g");
            }
        } finally {
            org.rollspark.spark.ParameterAveragingTrainer.failAtLearningRate = Double.NaN;
        }
        // the failure gone, a rerun trains the failed point and skips the baseline and the two finished points
        MainTest.Result again = MainTest.run(with(args, "output.runId=f"));
        assertEquals(0, again.code(), again.err() + again.out());
        assertEquals(3, again.out().split("done in an earlier run, skipped", -1).length - 1, again.out());
        assertTrue(again.out().contains("sweep table: 3 points and the baseline, 0 failed"), again.out());
    }

    /**
     * A point trained whole in one Spark task (parallel) is the point trained with parameter averaging
     * across the cluster (sequential): the same rounds over the same shards, so the same parameters bit
     * for bit, and the same validation figures.
     */
    @Test
    void parallelAndSequentialModesTrainTheSameModels() throws java.io.IOException {
        String[] modes = {"parallel", "sequential"};
        List<List<Row>> tables = new java.util.ArrayList<>();
        for (String mode : modes) {
            String outDir = tmp.resolve(mode).toString();
            MainTest.Result r = MainTest.run("sweep", "data.trainLimit=300", "data.validation=100", "data.testLimit=50",
                    "net.hidden=[12]", "train.epochs=2", "spark.numWorkers=3", "spark.batchSizePerWorker=16",
                    "spark.averagingFrequency=2", "certify.soundnessExamples=0", "sweep.mode=" + mode, "sweep.certifyTest=all",
                    "sweep.grid={\"loss.c\" = [0.5, 1]}", "output.runId=m", "output.dir=" + outDir);
            assertEquals(0, r.code(), r.err() + r.out());
            SparkSession spark = SparkSession.builder().master("local[1]").appName("sweep-modes").getOrCreate();
            try {
                tables.add(spark.read().parquet(outDir + "/sweeps").select("point_id", "best_epoch", "val_accuracy",
                        "val_eps_l1_p50", "val_eps_l2_p25", "val_eps_l2_p50", "val_eps_linf_p75", "val_distinct_patterns",
                        "selected", "test_accuracy", "test_eps_l2_p50").orderBy("point_id").collectAsList());
            } finally {
                spark.stop();
            }
        }
        assertEquals(3, tables.get(0).size());
        assertEquals(tables.get(1), tables.get(0));
        for (Row r : tables.get(0)) {
            assertTrue(r.getDouble(9) > 0.3 && r.getDouble(10) > 0, "every point certified on test: " + r);
        }
        for (String point : new String[] {"vanilla", "c"}) {
            java.io.File[] models = new java.io.File[2];
            for (int m = 0; m < 2; m++) {
                java.io.File dir = tmp.resolve(modes[m]).resolve("models").toFile();
                models[m] = java.util.Arrays.stream(dir.listFiles()).filter(f -> point.equals("vanilla")
                        ? f.getName().endsWith(vanillaId()) : !f.getName().endsWith(vanillaId())).sorted().findFirst().orElseThrow();
            }
            double[][] params = new double[2][];
            for (int m = 0; m < 2; m++) {
                params[m] = org.rollspark.util.Host.pull(org.rollspark.model.ModelIO.load(models[m].toString(),
                        new org.apache.hadoop.conf.Configuration()).network().params());
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(params[1], params[0], 0.0, point);
        }
    }

    /**
     * Raising train.epochs and rerunning a sequential sweep continues every point from its checkpoints, and
     * ends with the models of a sweep trained that long from the start, bit for bit.
     */
    @Test
    void aSequentialSweepContinuesWithMoreEpochs() throws java.io.IOException {
        String[] common = {"sweep", "data.trainLimit=200", "data.validation=60", "data.testLimit=40", "net.hidden=[10]",
            "spark.numWorkers=2", "spark.batchSizePerWorker=16", "certify.soundnessExamples=0", "sweep.mode=sequential",
            "sweep.grid={\"loss.c\" = [0.5]}"};
        String extended = tmp.resolve("extended").toString();
        String straight = tmp.resolve("straight").toString();
        MainTest.Result first = MainTest.run(with(common, "train.epochs=1", "output.runId=e", "output.dir=" + extended));
        assertEquals(0, first.code(), first.err() + first.out());
        MainTest.Result more = MainTest.run(with(common, "train.epochs=2", "output.runId=e", "output.dir=" + extended));
        assertEquals(0, more.code(), more.err() + more.out());
        assertEquals(2, more.out().split("resuming from checkpoint", -1).length - 1, more.out());
        MainTest.Result whole = MainTest.run(with(common, "train.epochs=2", "output.runId=e", "output.dir=" + straight));
        assertEquals(0, whole.code(), whole.err() + whole.out());
        for (String id : new String[] {vanillaId(), "sweep-" + pointId(straight)}) {
            double[][] params = new double[2][];
            String[] dirs = {extended, straight};
            for (int m = 0; m < 2; m++) {
                params[m] = org.rollspark.util.Host.pull(org.rollspark.model.ModelIO.load(Path.of(dirs[m], "models", "e-" + id)
                        .toString(), new org.apache.hadoop.conf.Configuration()).network().params());
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(params[1], params[0], 0.0, id);
        }
    }

    private static String[] with(String[] args, String... more) {
        String[] all = java.util.Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }

    /** The id of the one grid point recorded under {@code outDir}. */
    private static String pointId(String outDir) {
        return java.util.Arrays.stream(Path.of(outDir, "sweeps", "_points", "e").toFile().list())
                .filter(n -> !("sweep-" + n).equals(vanillaId())).findFirst().orElseThrow();
    }

    private static String vanillaId() {
        return "sweep-" + org.rollspark.Provenance.configHash(java.util.Map.of("loss.type", "vanilla")).substring(0, 12);
    }

    @Test
    void badGridsAreSettingErrorsBeforeAnythingRuns() {
        MainTest.Result r = MainTest.run("sweep", "--dry-run", "sweep.grid={\"loss.lambdaa\" = [1]}");
        assertEquals(Main.USAGE, r.code(), r.err());
        assertTrue(r.err().contains("roll.loss.lambdaa"), r.err());
        r = MainTest.run("sweep", "--dry-run", "sweep.grid={}");
        assertEquals(Main.USAGE, r.code(), r.err());
        assertTrue(r.err().contains("empty"), r.err());
        r = MainTest.run("sweep", "--dry-run", "sweep.grid={\"loss.c\" = 1}");
        assertEquals(Main.USAGE, r.code(), r.err());
        assertTrue(r.err().contains("list of values"), r.err());
        r = MainTest.run("sweep", "--dry-run", "sweep.grid={loss.c = [1, 2]}");
        assertEquals(Main.USAGE, r.code(), r.err());
        assertTrue(r.err().contains("quote dotted keys"), r.err());
        r = MainTest.run("sweep", "--dry-run", "loss.type=vanilla", "sweep.grid={\"loss.c\" = [1, 2]}");
        assertEquals(Main.USAGE, r.code(), r.err());
        assertTrue(r.err().contains("roll.loss.type"), r.err());
        r = MainTest.run("sweep", "--dry-run", "data.trainLimit=200", "sweep.grid={\"net.hidden\" = [[8], [8, 0]]}");
        assertEquals(Main.USAGE, r.code(), r.err());
        assertTrue(r.err().contains("net.hidden"), r.err());
    }
}
