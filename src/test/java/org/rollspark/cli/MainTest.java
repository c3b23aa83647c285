package org.rollspark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rollspark.model.ModelIO;

/** The command line end to end, on Spark local mode. */
class MainTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {}

    @BeforeAll
    static void quietSpark() {
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.driver.host", "127.0.0.1");
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void compareTrainsAndCertifiesBothModelsThenCertifyReadsOneBack() throws Exception {
        String outDir = tmp.resolve("runs").toString();
        Result r = run("compare", "data.trainLimit=700", "data.validation=100", "data.testLimit=150", "net.hidden=[16, 12]",
                "train.epochs=2", "spark.numWorkers=2", "spark.averagingFrequency=2", "output.runId=t1",
                "output.runDate=2026-11-24", "output.dir=" + outDir, "output.metricsEveryRounds=2");
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(r.out().contains("vanilla epoch 2/2") && r.out().contains("roll epoch 2/2"), r.out());
        assertTrue(r.out().contains("median l2 margin, ROLL / vanilla"), r.out());
        for (String m : new String[] {"vanilla", "roll"}) {
            Path model = Path.of(outDir, "models", "t1-" + m);
            assertEquals(m, ModelIO.provenance(model).path("config").path("loss.type").asText());
            // the kernel it was trained on: float results depend on it
            assertEquals(org.rollspark.blas.OpenBlas.info().describe(), ModelIO.provenance(model).path("versions")
                    .path("blas").asText());
            assertTrue(Files.isDirectory(Path.of(outDir, "checkpoints", "t1-" + m, "epoch-2")));
            assertTrue(Files.isRegularFile(Path.of(outDir, "certification/runs/run_date=2026-11-24/run_id=t1-" + m, "_run.json")));
            assertTrue(Files.isRegularFile(Path.of(outDir, "training/_runs/run_date=2026-11-24/run_id=t1-" + m, "_run.json")));
        }
        // the training-metrics table: 2 epoch rows per model with the probe's margin, round rows every 2 rounds
        // (300 training examples a worker, 2 minibatches of 32 per round: 5 rounds, rows after rounds 2 and 4)
        try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:duckdb:");
                java.sql.ResultSet rs = db.createStatement().executeQuery("SELECT run_id, count(*) FILTER (WHERE round IS "
                        + "NULL), count(val_eps_l2_p50), string_agg(CAST(round AS VARCHAR), ',' ORDER BY epoch, round), "
                        + "min(train_accuracy) FROM read_parquet('" + outDir + "/training/*/*/*.parquet', hive_partitioning "
                        + "= true) GROUP BY run_id ORDER BY run_id")) {
            for (String m : new String[] {"roll", "vanilla"}) {
                assertTrue(rs.next());
                assertEquals("t1-" + m, rs.getString(1));
                assertEquals(2, rs.getInt(2));
                assertEquals(2, rs.getInt(3));
                assertEquals("2,4,2,4", rs.getString(4));
                assertTrue(rs.getDouble(5) > 0);
            }
            assertFalse(rs.next());
        }
        Result c = run("certify", "--model", Path.of(outDir, "models", "t1-roll").toString(), "data.testLimit=40",
                "output.runId=c1", "output.dir=" + outDir);
        assertEquals(0, c.code(), c.err() + c.out());
        assertTrue(c.out().contains("40 examples, accuracy"), c.out());
        assertTrue(Files.isDirectory(Path.of(outDir, "certification", "examples")));
    }

    /**
     * A model exported by PyTorch (src/test/resources/onnx/make_fixtures.py) is certified from its ONNX file
     * on the bundled test images; its per-example predictions are PyTorch's.
     */
    @Test
    void certifyReadsAnOnnxModelExportedByPyTorch() throws Exception {
        String outDir = tmp.resolve("runs").toString();
        Result r = run("certify", "--model", "src/test/resources/onnx/mnist_mlp.onnx", "data.testLimit=200",
                "output.runId=onnx", "output.dir=" + outDir, "certify.soundnessExamples=16");
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(r.out().contains("200 examples, accuracy"), r.out());
        com.fasterxml.jackson.databind.JsonNode torch = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Path.of("src/test/resources/onnx/mnist_mlp.json").toFile()).get("pred");
        try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:duckdb:");
                java.sql.ResultSet rs = db.createStatement().executeQuery("SELECT example_id, pred, model_id, sound_violations "
                        + "FROM read_parquet('" + outDir + "/certification/examples/*/*/*.parquet', hive_partitioning = true) "
                        + "ORDER BY example_id")) {
            int n = 0;
            while (rs.next()) {
                assertEquals(n, rs.getLong(1));
                assertEquals(torch.get(n).asInt(), rs.getInt(2), "example " + n);
                assertEquals("mnist_mlp.onnx", rs.getString(3));
                assertEquals(0, rs.getInt(4));
                n++;
            }
            assertEquals(200, n);
        }
        Result bad = run("certify", "--model", "src/test/resources/onnx/mlp_sigmoid.onnx", "output.dir=" + outDir,
                "output.runId=refused");
        assertEquals(3, bad.code(), bad.err());
        assertTrue(bad.err().contains("(Sigmoid) is not supported"), bad.err());
        try (java.util.stream.Stream<Path> all = Files.walk(Path.of(outDir))) {
            assertTrue(all.noneMatch(p -> p.toString().contains("refused")), "a refused model writes nothing");
        }

        // fine-tuning starts from the imported weights: with a vanishing learning rate the trained model is them
        Result t = run("train", "train.initModel=src/test/resources/onnx/mnist_mlp.onnx", "train.epochs=1", "train.lr=1e-12", "data.trainLimit=300", "data.validation=100", "output.runId=ft", "output.dir=" + outDir,
                "net.hidden=[7]");
        assertEquals(0, t.code(), t.err() + t.out());
        org.rollspark.net.Network tuned = ModelIO.load(Path.of(outDir, "models", "ft"));
        org.rollspark.net.Network onnx = org.rollspark.model.OnnxImport.load(Path.of("src/test/resources/onnx/mnist_mlp.onnx"))
                .network();
        assertEquals(onnx.architecture(), tuned.architecture(), "the ONNX net's architecture, not net.hidden's");
        org.junit.jupiter.api.Assertions.assertArrayEquals(org.rollspark.util.Host.pull(onnx.params()),
                org.rollspark.util.Host.pull(tuned.params()), 1e-6);
        assertEquals(0.1307, tuned.normalization().mean(0), 1e-7, "the normalisation it was trained with");
        Result mismatch = run("train", "train.initModel=src/test/resources/onnx/mlp_relu.onnx", "train.epochs=1",
                "output.dir=" + outDir);
        assertEquals(2, mismatch.code(), mismatch.err());
        assertTrue(mismatch.err().contains("takes 20 inputs"), mismatch.err());

        // and back out: export writes the fine-tuned model as ONNX, once
        String file = tmp.resolve("ft.onnx").toString();
        Result e = run("export", "--model", Path.of(outDir, "models", "ft").toString(), "--onnx", file);
        assertEquals(0, e.code(), e.err());
        assertEquals(onnx.architecture(), org.rollspark.model.OnnxImport.load(Path.of(file)).network().architecture());
        Result again = run("export", "--model", Path.of(outDir, "models", "ft").toString(), "--onnx", file);
        assertEquals(2, again.code(), again.err());
        assertTrue(again.err().contains("--force"), again.err());
    }

    /** A graph net (the residual conv net's job file, shrunk) trains and certifies through the CLI, and reloads. */
    @Test
    void graphNetsTrainAndCertifyThroughTheCli() throws Exception {
        String outDir = tmp.resolve("graph").toString();
        Result r = run("train", "-c", "conf/mnist-rnn.conf", "net.layers=[{type = rnn, hidden = 8, activation = relu,"
                + " recurrent_init = identity}, {type = dense, units = 10}]", "data.trainLimit=300", "data.validation=60",
                "train.epochs=1", "loss.samples=4", "output.runId=g1", "output.dir=" + outDir);
        assertEquals(0, r.code(), r.err() + r.out());
        Path model = Path.of(outDir, "models", "g1");
        assertTrue(Files.isRegularFile(model.resolve("0.weight_hh.npy")), "one .npy per tensor");
        Result c = run("certify", "--model", model.toString(), "data.testLimit=30", "certify.soundnessExamples=5",
                "output.runId=g2", "output.dir=" + outDir);
        assertEquals(0, c.code(), c.err() + c.out());
        assertTrue(c.out().contains("30 examples, accuracy") && c.out().contains(" 0 violations"), c.out());

        // exported as ONNX (Transpose, RNN, Squeeze) and certified from the .onnx file: the same certificates
        String onnx = tmp.resolve("g1.onnx").toString();
        Result e = run("export", "--model", model.toString(), "--onnx", onnx);
        assertEquals(0, e.code(), e.err());
        Result o = run("certify", "--model", onnx, "data.testLimit=30", "output.runId=g3", "output.dir=" + outDir);
        assertEquals(0, o.code(), o.err() + o.out());
        try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:duckdb:");
                java.sql.ResultSet rs = db.createStatement().executeQuery("SELECT a.pred, b.pred, a.eps_l2, b.eps_l2, "
                        + "a.eps_linf, b.eps_linf FROM read_parquet('" + outDir + "/certification/examples/*/run_id=g2/*.parquet') a "
                        + "JOIN read_parquet('" + outDir + "/certification/examples/*/run_id=g3/*.parquet') b USING (example_id)")) {
            int n = 0;
            while (rs.next()) {
                assertEquals(rs.getInt(1), rs.getInt(2));
                assertEquals(rs.getDouble(3), rs.getDouble(4), 1e-6 * rs.getDouble(3));
                assertEquals(rs.getDouble(5), rs.getDouble(6), 1e-6 * rs.getDouble(5));
                n++;
            }
            assertEquals(30, n);
        }
    }

    /** Output, checkpoints, data and models named by Hadoop URIs (file: here; hdfs: or s3a: on a cluster). */
    @Test
    void hadoopUrisWorkForDataOutputAndModels() throws Exception {
        Path root = tmp.resolve("uri-runs");
        String out = root.toUri().toString();
        String data = Path.of("data/mnist").toAbsolutePath().toUri().toString();
        assertTrue(out.startsWith("file:/") && data.startsWith("file:/"));
        Result r = run("train", "data.dir=" + data, "data.trainLimit=300", "data.validation=60", "net.hidden=[8]",
                "train.epochs=1", "output.runId=u1", "output.dir=" + out);
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(Files.isRegularFile(root.resolve("models/u1/model.json")), "the model under the URI's folder");
        assertTrue(Files.isRegularFile(root.resolve("checkpoints/u1/epoch-1/_COMPLETE")));
        assertFalse(Files.exists(Path.of("file:")), "no folder named after the scheme");
        Result c = run("certify", "--model", root.resolve("models/u1").toUri().toString(), "data.dir=" + data,
                "data.testLimit=20", "output.runId=u2", "output.dir=" + out);
        assertEquals(0, c.code(), c.err() + c.out());
        assertTrue(Files.isDirectory(root.resolve("certification/examples/run_date=" + java.time.LocalDate.now(
                java.time.ZoneOffset.UTC) + "/run_id=u2")), c.out());
    }

    /**
     * train.seed seeds the model (initialisation, shuffles) and data.seed the split and shards, so a seed
     * study trains on the same examples: the recorded training-data fingerprint follows data.seed only.
     */
    @Test
    void theModelSeedLeavesTheSplitAndTheDataSeedMovesIt() throws Exception {
        String outDir = tmp.resolve("seeds").toString();
        String[][] runs = {{"s7"}, {"s8", "train.seed=8"}, {"d8", "data.seed=8"}};
        for (String[] extra : runs) {
            List<String> args = new java.util.ArrayList<>(List.of("train", "data.trainLimit=300", "data.validation=60",
                    "net.hidden=[8]", "train.epochs=1", "output.runId=" + extra[0], "output.dir=" + outDir));
            args.addAll(List.of(extra).subList(1, extra.length));
            Result r = run(args.toArray(String[]::new));
            assertEquals(0, r.code(), r.err() + r.out());
        }
        com.fasterxml.jackson.databind.JsonNode[] prov = new com.fasterxml.jackson.databind.JsonNode[runs.length];
        org.nd4j.linalg.api.ndarray.INDArray[] params = new org.nd4j.linalg.api.ndarray.INDArray[runs.length];
        for (int i = 0; i < runs.length; i++) {
            Path model = Path.of(outDir, "models", runs[i][0]);
            prov[i] = ModelIO.provenance(model);
            params[i] = ModelIO.load(model).params();
        }
        assertEquals(prov[0].path("dataFingerprint").asText(), prov[1].path("dataFingerprint").asText());
        assertFalse(prov[0].path("dataFingerprint").asText().isEmpty());
        assertNotEquals(prov[0].path("dataFingerprint").asText(), prov[2].path("dataFingerprint").asText());
        assertEquals(8, prov[1].path("config").path("train.seed").asLong());
        assertEquals(7, prov[1].path("config").path("data.seed").asLong());
        assertNotEquals(params[0], params[1], "another model seed, another model");
    }

    @Test
    void dryRunValidatesAndRunsNothing() {
        Path outDir = tmp.resolve("dry");
        Result r = run("train", "--dry-run", "train.epochs=3", "output.dir=" + outDir);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("epochs=3") && r.out().contains("dry run"), r.out());
        assertFalse(Files.exists(outDir));
    }

    @Test
    void errorsHaveDistinctExitCodesAndNameTheCulprit() throws Exception {
        Result unknown = run("train", "--dry-run", "train.epochz=3");
        assertEquals(Main.USAGE, unknown.code());
        assertTrue(unknown.err().contains("roll.train.epochz"), unknown.err());

        Result badType = run("train", "--dry-run", "train.epochs=many");
        assertEquals(Main.USAGE, badType.code());
        assertTrue(badType.err().contains("epochs"), badType.err());

        Result badValue = run("train", "--dry-run", "loss.gamma=250");
        assertEquals(Main.USAGE, badValue.code());
        assertTrue(badValue.err().contains("gamma"), badValue.err());

        Path file = tmp.resolve("job.conf");
        Files.writeString(file, "roll { net { hiddenn = [3] } }\n");
        Result inFile = run("train", "--dry-run", "-c", file.toString());
        assertEquals(Main.USAGE, inFile.code());
        assertTrue(inFile.err().contains("roll.net.hiddenn") && inFile.err().contains("job.conf"), inFile.err());

        Result noData = run("train", "--dry-run", "data.dir=" + tmp);
        assertEquals(Main.INPUT, noData.code());
        assertTrue(noData.err().contains("train-images-idx3-ubyte"), noData.err());

        Result noModel = run("certify", "--dry-run", "--model", tmp.resolve("nope").toString());
        assertEquals(Main.INPUT, noModel.code());
        assertTrue(noModel.err().contains("nope") && noModel.err().contains("no model.json"), noModel.err());

        Result maxPool = run("train", "--dry-run", "-c", "conf/mnist-resnet.conf",
                "net.layers=[{type = conv2d, filters = 2}, {type = maxpool, kernel = 2}, {type = relu}, {type = dense, units = 10}]");
        assertEquals(Main.USAGE, maxPool.code());
        assertTrue(maxPool.err().contains("net.layers") && maxPool.err().contains("max pooling"), maxPool.err());

        Result badShape = run("train", "--dry-run", "-c", "conf/mnist-rnn.conf", "net.inputShape=[28, 27]");
        assertEquals(Main.USAGE, badShape.code());
        assertTrue(badShape.err().contains("inputShape") && badShape.err().contains("784"), badShape.err());

        Result biased = run("train", "--dry-run", "loss.samples=3", "loss.gamma=50");
        assertEquals(Main.USAGE, biased.code());
        assertTrue(biased.err().contains("unbiased"), biased.err());

        Result noFile = run("train", "--dry-run", "-c", tmp.resolve("missing.conf").toString());
        assertEquals(Main.USAGE, noFile.code());
        assertTrue(noFile.err().contains("missing.conf"), noFile.err());
    }
}
