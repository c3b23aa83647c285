package org.rollspark.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.model.TrainingCheckpoints;
import org.rollspark.data.LabeledData;
import org.rollspark.loss.RollLoss;
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.net.Init;
import org.rollspark.model.ModelIO;
import org.rollspark.net.Normalization;
import org.rollspark.train.EpochStats;
import org.rollspark.train.LocalTrainer;
import org.rollspark.train.TrainConfig;
import org.rollspark.train.TrainingHistory;
import org.rollspark.util.Host;

/** Parameter averaging on a real local Spark context (local[2]). */
class ParameterAveragingTrainerTest {
    static JavaSparkContext sc;
    static LabeledData[] tv;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws IOException {
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("roll-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"));
        sc.setLogLevel("WARN");
        // the local trainers compared with Spark runs compute in this JVM with the tasks' ND4J thread count
        TaskThreads.forStage(sc);
        tv = LabeledData.bundledMnist(Path.of("."))[0].subset("s", IntStream.range(0, 600).toArray()).splitValidation(120, 2);
    }

    @AfterAll
    static void stop() {
        sc.stop();
    }

    static DenseNet net() {
        return DenseNet.init(new int[] {784, 24, 16, 10}, Activation.leakyRelu(0.01), Normalization.mnist(),
                Init.UNIFORM_FAN_IN, 3, DataType.FLOAT);
    }

    /** One worker, averaging every minibatch: exactly the local trainer's steps, for both losses and optimisers. */
    @Test
    void oneWorkerAveragingEveryStepMatchesTheLocalTrainer() {
        for (String optimizer : new String[] {"sgd", "adam"}) {
            for (RollLoss loss : new RollLoss[] {RollLoss.vanilla(), RollLoss.roll(1, 0.5)}) {
                TrainConfig cfg = new TrainConfig(2, 16, 5, optimizer, optimizer.equals("sgd") ? 0.02 : 0.003, 0.5, loss, 64);
                DenseNet local = net();
                List<EpochStats> localEpochs = new ArrayList<>();
                TrainingHistory lh = new LocalTrainer(cfg, localEpochs::add).fit(local, tv[0], tv[1]);
                DenseNet spark = net();
                SparkTrainConfig sc1 = new SparkTrainConfig(cfg, 1, 16, 1, null);
                TrainingHistory sh = new ParameterAveragingTrainer(sc, sc1, m -> { }, Map.of()).fit(spark, tv[0], tv[1], e -> { });
                assertArrayEquals(Host.pull(local.params()), Host.pull(spark.params()), 0.0, optimizer + " " + loss.lambda());
                assertEquals(lh.bestEpoch(), sh.bestEpoch());
                for (int e = 0; e < 2; e++) {
                    assertEquals(lh.epochs().get(e).validation().total(), sh.epochs().get(e).validation().total(), 1e-9);
                    assertEquals(lh.epochs().get(e).train().total(), sh.epochs().get(e).train().total(), 1e-9);
                }
            }
        }
    }

    /**
     * The paper's batch of 64 as 2 workers x 32 averaging every step (conf/mnist-paper.conf): the
     * gradient of a mean is the mean of the gradients, and SGD with (Nesterov) momentum is linear in
     * the gradient and its state, so averaging the two workers' steps is one step on the union of their
     * minibatches. Checked against the local trainer run on those unions, in float64, for both losses.
     * (Adam is not linear in the gradient: its averaged steps differ, as in DL4J.)
     */
    @Test
    void twoWorkersOf32AveragingEveryStepAreTheLocalTrainerAtBatch64() {
        for (String optimizer : new String[] {"sgd", "momentum"}) {
            for (RollLoss loss : new RollLoss[] {RollLoss.vanilla(), RollLoss.roll(2, 0.25)}) {
                TrainConfig cfg = new TrainConfig(1, 64, 5, optimizer, 0.02, 0.5, loss, 64);
                DenseNet spark = net().castTo(DataType.DOUBLE);
                new ParameterAveragingTrainer(sc, new SparkTrainConfig(cfg, 2, 32, 1, null), m -> { }, Map.of())
                        .fit(spark, tv[0], tv[1], e -> { });

                // the same minibatches on one machine: step r is worker 0's r-th batch then worker 1's
                LabeledData[] shards = tv[0].shards(2, cfg.seed());
                assertEquals(shards[0].size(), shards[1].size(), "balanced shards");
                int half = shards[0].size();
                int[][] orders = new int[2][];
                for (int w = 0; w < 2; w++) {
                    orders[w] = LabeledData.permutation(half, ParameterAveragingTrainer.shardSeed(cfg.seed(), 1, w));
                }
                int[] order = new int[2 * half];
                int at = 0;
                for (int from = 0; from < half; from += 32) {
                    for (int w = 0; w < 2; w++) {
                        for (int i = from; i < Math.min(half, from + 32); i++) {
                            order[at++] = orders[w][i] + w * half;
                        }
                    }
                }
                LabeledData both = LabeledData.concat("both", List.of(shards[0], shards[1]), tv[0].shape(),
                        tv[0].numClasses());
                DenseNet local = net().castTo(DataType.DOUBLE);
                org.rollspark.train.Optimizer opt = cfg.newOptimizer(local.params().length(), local.dataType());
                LocalTrainer.runBatches(local, loss.gradientFor(local), opt, loss, both, order, 0, order.length, 64, 0,
                        "batch 64");
                double[] a = Host.pull(local.params());
                double[] b = Host.pull(spark.params());
                double err = 0;
                for (int i = 0; i < a.length; i++) {
                    err = Math.max(err, Math.abs(a[i] - b[i]));
                }
                assertTrue(err < 1e-12, optimizer + ", lambda " + loss.lambda() + ": max parameter difference " + err);
            }
        }
    }

    /** A small residual conv net on 28x28 MNIST images. */
    static org.rollspark.graph.GraphNet convNet() {
        String json = """
                [{"type": "conv2d", "filters": 4, "kernel": 3, "stride": 2, "padding": 1, "bias": false},
                 {"type": "batchnorm"}, {"type": "relu"},
                 {"type": "residual", "main": [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1},
                                              {"type": "relu"},
                                              {"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1}]},
                 {"type": "avgpool", "kernel": 2},
                 {"type": "dense", "units": 10}]
                """;
        return org.rollspark.graph.GraphNet.init(new int[] {1, 28, 28}, org.rollspark.TestNets.layers(json),
                Normalization.mnist(), Init.HE_NORMAL, 3, DataType.FLOAT);
    }

    /**
     * Graph nets go through the same pipeline: with one worker averaging every step, the sampled ROLL
     * loss (same coordinates drawn) and batch-norm statistics give exactly the local trainer's model.
     */
    @Test
    void graphNetsWithTheSampledLossMatchTheLocalTrainer() {
        RollLoss loss = RollLoss.roll(0.5, 0.5).withSampling(new org.rollspark.loss.Sampling(3, false));
        TrainConfig cfg = new TrainConfig(1, 16, 5, "adam", 0.003, 0, loss, 64);
        LabeledData small = tv[0].subset("t", IntStream.range(0, 96).toArray());
        org.rollspark.graph.GraphNet local = convNet();
        TrainingHistory lh = new LocalTrainer(cfg, e -> { }).fit(local, small, tv[1]);
        org.rollspark.graph.GraphNet spark = convNet();
        TrainingHistory sh = new ParameterAveragingTrainer(sc, new SparkTrainConfig(cfg, 1, 16, 1, null), m -> { }, Map.of())
                .fit(spark, small, tv[1], e -> { });
        assertArrayEquals(Host.pull(local.params()), Host.pull(spark.params()), 0.0);
        assertEquals(lh.epochs().get(0).validation().total(), sh.epochs().get(0).validation().total(), 1e-9);
        assertNotEquals(0.0, sh.epochs().get(0).train().rollTerm());
    }

    /**
     * The rounds run in one JVM over shards held in memory (a parallel sweep's point inside one task) give
     * the bits of the same rounds run as Spark jobs: uneven shards of 3 workers, momentum and Adam,
     * averaging every 2 steps, exact ROLL on a dense net and sampled ROLL on a conv net with batch norm
     * (statistics re-estimated per shard).
     */
    @Test
    void inProcessRoundsAreTheSparkRoundsBitForBit() {
        LabeledData train = tv[0].subset("t", IntStream.range(0, 301).toArray());
        for (String optimizer : new String[] {"momentum", "adam"}) {
            RollLoss loss = optimizer.equals("adam") ? RollLoss.roll(1, 0.5).withSampling(new org.rollspark.loss.Sampling(3, false))
                    : RollLoss.roll(1, 0.5);
            TrainConfig cfg = new TrainConfig(2, 16, 5, optimizer, optimizer.equals("adam") ? 0.003 : 0.02, 0.5, loss, 64);
            SparkTrainConfig c = new SparkTrainConfig(cfg, 3, 16, 2, null);
            List<org.rollspark.net.Network> nets = optimizer.equals("adam") ? List.of(convNet(), convNet()) : List.of(net(), net());
            TrainingHistory onSpark = new ParameterAveragingTrainer(sc, c, m -> { }, Map.of()).fit(nets.get(0), train, tv[1],
                    e -> { });
            TrainingHistory inProcess = ParameterAveragingTrainer.fitInProcess(c, nets.get(1), train.shards(3, cfg.seed()),
                    tv[1].shards(3, cfg.seed()), train.name(), train.fingerprint(), e -> { });
            assertArrayEquals(Host.pull(nets.get(0).params()), Host.pull(nets.get(1).params()), 0.0, optimizer);
            assertEquals(onSpark.bestEpoch(), inProcess.bestEpoch());
            for (int e = 0; e < 2; e++) {
                assertEquals(onSpark.epochs().get(e).train(), inProcess.epochs().get(e).train(), optimizer);
                assertEquals(onSpark.epochs().get(e).validation(), inProcess.epochs().get(e).validation(), optimizer);
            }
            assertEquals(optimizer.equals("adam"), nets.get(0).hasBatchNorm());
        }
    }

    @Test
    void twoWorkersLearnDeterministicallyAndCheckpointEveryEpoch() throws IOException {
        TrainConfig cfg = new TrainConfig(2, 16, 9, "sgd", 0.05, 0.9, RollLoss.roll(1, 1), 64);
        double[][] params = new double[2][];
        TrainingHistory h = null;
        for (int run = 0; run < 2; run++) {
            DenseNet n = net();
            Path ck = tmp.resolve("ck" + run);
            SparkTrainConfig c = new SparkTrainConfig(cfg, 2, 16, 3, ck.toString());
            h = new ParameterAveragingTrainer(sc, c, m -> { }, c.toMap()).fit(n, tv[0], tv[1], e -> { });
            params[run] = Host.pull(n.params());
            for (String name : new String[] {"epoch-1", "epoch-2", "best"}) {
                assertTrue(Files.isRegularFile(ck.resolve(name).resolve("model.json")), name);
            }
            assertArrayEquals(params[run], Host.pull(ModelIO.load(ck.resolve("best")).params()), 0.0);
            assertEquals("3", ModelIO.provenance(ck.resolve("best")).path("config").path("spark.averagingFrequency").asText());
        }
        assertArrayEquals(params[0], params[1], 0.0, "same seed and partitioning, same model");
        assertTrue(h.best().validation().accuracy() > 0.5, "it learns: " + h.best().validation());
        assertEquals(480, h.epochs().get(0).train().count(), "every training example is used once per epoch");
        assertNotEquals(0.0, h.best().train().rollTerm());
    }

    /** Thrown by a log consumer to stop training right after a checkpoint, as a killed driver would. */
    /** The log, writing the run's partition of the metrics table at {@code root} after every row. */
    private static TrainingLog writing(org.apache.spark.sql.SparkSession spark, String root, TrainingLog log) {
        return log.onRow(e -> {
            try {
                TrainingLog.write(spark, root, "2026-11-25", "run", log.entries(), Map.of(), "fp");
            } catch (IOException x) {
                throw new java.io.UncheckedIOException(x);
            }
        });
    }

    static final class DriverLost extends RuntimeException {
        DriverLost() {
            super("simulated driver loss");
        }
    }

    /**
     * A run killed right after a checkpoint (at an epoch's end, or after an averaging round inside an
     * epoch) and restarted with the same settings resumes from it and ends with exactly the model,
     * best epoch and history of an uninterrupted run. Half-written checkpoints are never picked, and
     * checkpoints of other settings are refused. The training-metrics table, written as rows come and
     * continued by the resumed run, ends with exactly the uninterrupted run's rows, none twice.
     */
    @Test
    void resumedRunsEqualUninterruptedOnesBitForBit() throws IOException {
        TrainConfig cfg = new TrainConfig(3, 16, 11, "adam", 0.003, 0, RollLoss.roll(1, 0.5), 64);
        // the undisturbed run has one Spark job per round; the interrupted ones run barrier stages (spans of 2
        // rounds: metrics and checkpoints every 2 rounds), and resume in either mode
        SparkTrainConfig plain = new SparkTrainConfig(cfg, 2, 16, 2, tmp.resolve("plain").toString(), 2);
        DenseNet clean = net();
        TrainingLog cleanLog = new TrainingLog(2);
        TrainingHistory ch = new ParameterAveragingTrainer(sc, plain, m -> { }, plain.toMap()).rounds("tasks")
                .fit(clean, tv[0], tv[1], cleanLog);
        org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        for (String crashAfter : new String[] {"epoch-2", "epoch-2-round-4"}) {
            String metrics = tmp.resolve("training-" + crashAfter).toString();
            Path dir = tmp.resolve("resume-" + crashAfter);
            SparkTrainConfig c = new SparkTrainConfig(cfg, 2, 16, 2, dir.toString(), 2);
            DenseNet first = net();
            try {
                new ParameterAveragingTrainer(sc, c, m -> {
                    if (m.endsWith("/" + crashAfter)) {
                        throw new DriverLost();
                    }
                }, c.toMap()).fit(first, tv[0], tv[1], writing(spark, metrics, new TrainingLog(2)));
                throw new AssertionError("the run should have been stopped");
            } catch (DriverLost expected) {
                // the driver is gone; its checkpoints stay
            }
            assertTrue(Files.isRegularFile(dir.resolve(crashAfter).resolve(TrainingCheckpoints.COMPLETE)));
            // a later checkpoint that was being written when the driver died: no _COMPLETE marker
            Path partial = Files.createDirectories(dir.resolve("epoch-3"));
            Files.writeString(partial.resolve("model.json"), "{ half");
            Files.createDirectories(dir.resolve(".epoch-3.tmp-1"));
            List<String> log = new ArrayList<>();
            DenseNet resumed = net();
            TrainingHistory rh = new ParameterAveragingTrainer(sc, c, log::add, c.toMap())
                    .rounds(crashAfter.equals("epoch-2") ? "barrier" : "tasks").fit(resumed, tv[0], tv[1],
                    writing(spark, metrics, new TrainingLog(2, TrainingLog.read(spark, metrics, "run"))));
            assertTrue(log.get(0).startsWith("resuming from checkpoint") && log.get(0).contains(crashAfter), log.get(0));
            assertArrayEquals(Host.pull(clean.params()), Host.pull(resumed.params()), 0.0, crashAfter);
            assertEquals(ch.bestEpoch(), rh.bestEpoch());
            assertEquals(3, rh.epochs().size());
            for (int e = 0; e < 3; e++) {
                assertEquals(ch.epochs().get(e).train(), rh.epochs().get(e).train(), crashAfter + " epoch " + (e + 1));
                assertEquals(ch.epochs().get(e).validation(), rh.epochs().get(e).validation());
            }
            assertTrue(Files.isRegularFile(dir.resolve("epoch-3").resolve(TrainingCheckpoints.COMPLETE)), "rewritten");
            List<TrainingLog.Entry> table = TrainingLog.read(spark, metrics, "run");
            assertEquals(cleanLog.entries().size(), table.size(), crashAfter + ": " + table);
            // the training time counts the epochs the lost driver ran too (their rows were written by it)
            double wall = table.stream().filter(x -> x.round() == null).mapToDouble(TrainingLog.Entry::wallSeconds).sum();
            assertTrue(rh.epochs().get(0).seconds() > 0, crashAfter);
            assertEquals(wall, rh.seconds(), 1e-9, crashAfter);
            for (int i = 0; i < table.size(); i++) {
                TrainingLog.Entry a = cleanLog.entries().get(i);
                TrainingLog.Entry b = table.get(i);
                String where = crashAfter + " row " + i;
                assertEquals(List.of(a.epoch(), String.valueOf(a.round()), a.trainLoss(), a.trainCrossEntropy(),
                        a.trainRollTerm(), a.trainAccuracy(), String.valueOf(a.valLoss()), String.valueOf(a.valAccuracy())),
                        List.of(b.epoch(), String.valueOf(b.round()), b.trainLoss(), b.trainCrossEntropy(), b.trainRollTerm(),
                        b.trainAccuracy(), String.valueOf(b.valLoss()), String.valueOf(b.valAccuracy())), where);
            }
            assertEquals(3, table.stream().filter(e -> e.round() == null).count());
            assertTrue(table.stream().anyMatch(e -> e.round() != null), "round rows every 2 rounds");
        }
        // the same checkpoint folder with other settings is refused, naming the folder
        Path dir = tmp.resolve("resume-epoch-2");
        TrainConfig other = new TrainConfig(3, 16, 11, "adam", 0.01, 0, RollLoss.roll(1, 0.5), 64);
        SparkTrainConfig c = new SparkTrainConfig(other, 3, 16, 2, dir.toString(), 2);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new ParameterAveragingTrainer(sc, c, m -> { }, c.toMap()).fit(net(), tv[0], tv[1], x -> { }));
        assertTrue(e.getMessage().contains("other settings") && e.getMessage().contains("train.lr: 0.003 there, 0.01 here")
                && e.getMessage().contains(dir.toString()), e.getMessage());

        // a finished 2-epoch run continues to 3 epochs, checkpointing at another interval, and ends with the
        // uninterrupted 3-epoch run's model; going back to fewer epochs is refused, naming the setting
        Path ext = tmp.resolve("extend");
        TrainConfig two = new TrainConfig(2, 16, 11, "adam", 0.003, 0, RollLoss.roll(1, 0.5), 64);
        SparkTrainConfig shortRun = new SparkTrainConfig(two, 2, 16, 2, ext.toString(), 0);
        new ParameterAveragingTrainer(sc, shortRun, m -> { }, shortRun.toMap()).fit(net(), tv[0], tv[1], x -> { });
        SparkTrainConfig longer = new SparkTrainConfig(cfg, 2, 16, 2, ext.toString(), 3);
        List<String> log = new ArrayList<>();
        DenseNet continued = net();
        TrainingHistory xh = new ParameterAveragingTrainer(sc, longer, log::add, longer.toMap()).fit(continued, tv[0], tv[1],
                x -> { });
        assertTrue(log.get(0).startsWith("resuming from checkpoint") && log.get(0).contains("epoch-2 ("), log.get(0));
        assertArrayEquals(Host.pull(clean.params()), Host.pull(continued.params()), 0.0);
        assertEquals(ch.bestEpoch(), xh.bestEpoch());
        assertEquals(3, xh.epochs().size());
        TrainConfig one = new TrainConfig(1, 16, 11, "adam", 0.003, 0, RollLoss.roll(1, 0.5), 64);
        SparkTrainConfig fewer = new SparkTrainConfig(one, 2, 16, 2, ext.toString(), 0);
        IllegalArgumentException past = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new ParameterAveragingTrainer(sc, fewer, m -> { }, fewer.toMap()).fit(net(), tv[0], tv[1], x -> { }));
        assertTrue(past.getMessage().contains("train.epochs is 1") && past.getMessage().contains("epoch-3"), past.getMessage());

        // a checkpoint written before checkpoints recorded their settings resumes by its model's provenance
        Path state = ext.resolve("epoch-3").resolve("state.json");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode old = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(
                state.toFile());
        assertTrue(old.has("settings"));
        old.remove("settings");
        Files.writeString(state, json.writeValueAsString(old));
        List<String> again = new ArrayList<>();
        DenseNet reloaded = net();
        new ParameterAveragingTrainer(sc, longer, again::add, longer.toMap()).fit(reloaded, tv[0], tv[1], x -> { });
        assertTrue(again.get(0).startsWith("resuming from checkpoint") && again.get(0).contains("epoch-3 ("), again.get(0));
        assertArrayEquals(Host.pull(clean.params()), Host.pull(reloaded.params()), 0.0);
    }

    /**
     * 16 workers on local[2]: the rounds' results are added in a tree of ordered partial sums (groups of 4 on
     * the executors, then 4 on the driver). Tasks finishing in reverse shard order give the bits of an
     * undisturbed run and of the same rounds in process.
     */
    @Test
    void sixteenWorkersGiveTheSameBitsInAnyFinishOrder() {
        LabeledData train = tv[0].subset("t", IntStream.range(0, 16 * 24).toArray());
        TrainConfig cfg = new TrainConfig(1, 8, 5, "momentum", 0.02, 0.5, RollLoss.roll(1, 0.5), 64);
        SparkTrainConfig c = new SparkTrainConfig(cfg, 16, 8, 2, null);
        assertEquals(1, TreeSum.levels(16));
        DenseNet reversed = net();
        List<String> log = new ArrayList<>();
        ParameterAveragingTrainer.reverseFinishOrder = true;
        try {
            new ParameterAveragingTrainer(sc, c, log::add, Map.of()).fit(reversed, train, tv[1], e -> { });
        } finally {
            ParameterAveragingTrainer.reverseFinishOrder = false;
        }
        DenseNet plain = net();
        TrainingHistory h = new ParameterAveragingTrainer(sc, c, m -> { }, Map.of()).fit(plain, train, tv[1], e -> { });
        DenseNet inProcess = net();
        TrainingHistory p = ParameterAveragingTrainer.fitInProcess(c, inProcess, train.shards(16, cfg.seed()),
                tv[1].shards(16, cfg.seed()), train.name(), train.fingerprint(), e -> { });
        assertTrue(log.contains("rounds: one Spark job per round (2 task slots for 16 workers: a barrier stage starts all its "
                + "tasks at once)"), log.toString());
        IllegalArgumentException forced = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new ParameterAveragingTrainer(sc, c, m -> { }, Map.of()).rounds("barrier").fit(net(), train, tv[1], e -> { }));
        assertTrue(forced.getMessage().contains("2 task slots for 16 workers"), forced.getMessage());
        assertArrayEquals(Host.pull(plain.params()), Host.pull(reversed.params()), 0.0, "reverse finish order");
        assertArrayEquals(Host.pull(plain.params()), Host.pull(inProcess.params()), 0.0, "in process");
        assertEquals(h.epochs().get(0).train(), p.epochs().get(0).train());
        assertEquals(h.epochs().get(0).validation(), p.epochs().get(0).validation());
    }

    /**
     * Barrier stages (one long-lived task per worker, results added between the tasks) give the bits of one
     * Spark job per round: 2, 6 and 17 workers (no tree level, one, two) on local[17], shards of unequal size
     * (some workers have nothing to add in an epoch's last round), two epochs, momentum and ROLL.
     */
    @Test
    void barrierRoundsGiveTheBitsOfOneJobPerRound() throws IOException {
        sc.stop();
        sc = new JavaSparkContext(new SparkConf().setMaster("local[17]").setAppName("roll-barrier-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"));
        sc.setLogLevel("WARN");
        try {
            for (int workers : new int[] {2, 6, 17}) {
                LabeledData train = tv[0].subset("t", IntStream.range(0, workers * 16 + workers / 2).toArray());
                TrainConfig cfg = new TrainConfig(2, 8, 5, "momentum", 0.02, 0.5, RollLoss.roll(1, 0.5), 64);
                SparkTrainConfig c = new SparkTrainConfig(cfg, workers, 8, 2, null);
                List<String> barrierLog = new ArrayList<>();
                DenseNet b = net();
                TrainingHistory hb = new ParameterAveragingTrainer(sc, c, barrierLog::add, Map.of()).rounds("auto")
                        .fit(b, train, tv[1], e -> { });
                List<String> tasksLog = new ArrayList<>();
                DenseNet t = net();
                TrainingHistory ht = new ParameterAveragingTrainer(sc, c, tasksLog::add, Map.of()).rounds("tasks")
                        .fit(t, train, tv[1], e -> { });
                assertTrue(barrierLog.get(0).startsWith("rounds: barrier stages (" + workers + " long-lived tasks"), barrierLog.get(0));
                assertEquals("rounds: one Spark job per round (spark.rounds = tasks)", tasksLog.get(0));
                assertArrayEquals(Host.pull(t.params()), Host.pull(b.params()), 0.0, workers + " workers");
                for (int e = 0; e < 2; e++) {
                    assertEquals(ht.epochs().get(e).train(), hb.epochs().get(e).train(), workers + " workers, epoch " + e);
                    assertEquals(ht.epochs().get(e).validation(), hb.epochs().get(e).validation());
                }
                if (workers == 2) { // tasks that meet through Spark's allGather instead of the driver's rendezvous
                    DenseNet g = net();
                    new ParameterAveragingTrainer(sc, c, m -> { }, Map.of()).meetThroughAllGather().fit(g, train, tv[1], e -> { });
                    assertArrayEquals(Host.pull(t.params()), Host.pull(g.params()), 0.0, "through allGather");
                }
            }
        } finally {
            sc.stop();
            start();
        }
    }

    /** Failed and retried tasks contribute once: the result equals an undisturbed run bit for bit. */
    @Test
    void retriedTasksDoNotCorruptTheAverage() {
        TrainConfig cfg = new TrainConfig(1, 16, 4, "adam", 0.003, 0, RollLoss.roll(1, 0.5), 64);
        SparkTrainConfig c = new SparkTrainConfig(cfg, 2, 16, 4, null);
        DenseNet clean = net();
        new ParameterAveragingTrainer(sc, c, m -> { }, Map.of()).fit(clean, tv[0], tv[1], e -> { });
        sc.stop();
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2,3]").setAppName("roll-retry-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"));
        sc.setLogLevel("OFF");
        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        sc.sc().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
            @Override
            public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd end) {
                if (!end.taskInfo().successful()) {
                    failed.incrementAndGet();
                }
            }
        });
        DenseNet retried = net();
        DenseNet retriedTasks = net();
        List<String> log = new ArrayList<>();
        ParameterAveragingTrainer.failFirstAttempts = true;
        try {
            new ParameterAveragingTrainer(sc, c, log::add, Map.of()).fit(retried, tv[0], tv[1], e -> { });
            new ParameterAveragingTrainer(sc, c, m -> { }, Map.of()).rounds("tasks").fit(retriedTasks, tv[0], tv[1], e -> { });
        } finally {
            ParameterAveragingTrainer.failFirstAttempts = false;
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("barrier stage failed") && l.contains("attempt 2 of 4")), log.toString());
        assertArrayEquals(Host.pull(clean.params()), Host.pull(retried.params()), 0.0, "a barrier stage run again");
        assertArrayEquals(Host.pull(clean.params()), Host.pull(retriedTasks.params()), 0.0, "tasks retried");
        long deadline = System.currentTimeMillis() + 10_000;
        while (failed.get() == 0 && System.currentTimeMillis() < deadline) {
            Thread.onSpinWait();
        }
        assertTrue(failed.get() >= 2, "task attempts must really have failed and been retried: " + failed.get());
    }
}
