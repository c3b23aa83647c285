package org.rollspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * A real Spark standalone cluster on 127.0.0.1 started from the Maven-resolved Spark jars: a master
 * and a worker offering two executors of one core each. The shaded jar's training and certification
 * are submitted through run-cluster.sh; the Parquet output is read back and checked. Every process
 * started here is stopped by PID (with its children), also when the test fails.
 */
class StandaloneClusterIT {

    @Test
    void trainsAndCertifiesOnAStandaloneCluster() throws Exception {
        Path work = Files.createDirectories(Path.of("target", "standalone-it").toAbsolutePath());
        Path out = work.resolve("runs");
        deleteTree(out);
        // Spark's jars only (provided scope), as a SPARK_HOME/jars folder the worker launches executors from
        Path cpFile = Path.of("target", "spark-classpath.txt").toAbsolutePath();
        run(work.resolve("classpath.log"), "mvn", "-q", "-B", "dependency:build-classpath", "-Dmdep.includeScope=provided",
                "-Dmdep.outputFile=" + cpFile);
        String sparkCp = Files.readString(cpFile).trim();
        Path sparkHome = work.resolve("spark-home");
        deleteTree(sparkHome);
        Path jars = Files.createDirectories(sparkHome.resolve("jars"));
        for (String jar : sparkCp.split(File.pathSeparator)) {
            Path j = Path.of(jar);
            Files.createSymbolicLink(jars.resolve(j.getFileName()), j);
        }
        int masterPort = freePort();
        String master = "spark://127.0.0.1:" + masterPort;
        List<Process> started = new ArrayList<>();
        try {
            started.add(daemon(work.resolve("master.log"), sparkHome, sparkCp, "org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", Integer.toString(masterPort), "--webui-port", Integer.toString(freePort())));
            waitForPort(masterPort, 60);
            started.add(daemon(work.resolve("worker.log"), sparkHome, sparkCp, "org.apache.spark.deploy.worker.Worker",
                    "--host", "127.0.0.1", "--cores", "2", "--memory", "4g", "--webui-port", Integer.toString(freePort()),
                    "--work-dir", work.resolve("worker").toString(), master));
            Thread.sleep(3000);

            String[] submit = {"./run-cluster.sh", "--target", "standalone", "--master", master,
                "--conf", "spark.executor.cores=1", "--conf", "spark.cores.max=2", "--conf", "spark.executor.memory=1500m",
                "--conf", "spark.driver.host=127.0.0.1"};
            List<String> trainArgs = List.of("train", "data.trainLimit=4000", "data.validation=400", "net.hidden=[32, 16]",
                    "train.epochs=4", "spark.numWorkers=2", "spark.averagingFrequency=1", "output.runDate=2026-11-24",
                    "output.dir=" + out);

            // A: undisturbed training and certification
            String trainLog = run(work.resolve("train-a.log"), command(submit, trainArgs, "output.runId=it-a"));
            assertTrue(trainLog.contains("epoch 4/4 done") && trainLog.contains("rounds: barrier stages (2 long-lived tasks"),
                    trainLog);
            assertTrue(Files.isRegularFile(out.resolve("models/it-a/model.json")), trainLog);
            List<String> certArgs = List.of("certify", "--model", out.resolve("models/it-a").toString(), "data.testLimit=1000",
                    "certify.partitions=4", "certify.gradientExamples=200", "certify.gradientSamples=400",
                    "certify.gradientPopulation=100", "certify.gradientGenerations=4", "output.runDate=2026-11-24",
                    "output.dir=" + out);
            String certLog = run(work.resolve("certify-a.log"), command(submit, certArgs, "output.runId=it-cert-a"));
            assertTrue(certLog.contains("1000 examples, accuracy"), certLog);
            assertOneRowPerExample(out, "it-cert-a", 1000);

            // B: an executor killed in the middle of training (after the first epoch's checkpoint)
            Process b = start(work.resolve("train-b.log"), command(submit, trainArgs, "output.runId=it-b"));
            waitFor(out.resolve("checkpoints/it-b/epoch-1/_COMPLETE"), b, work.resolve("train-b.log"));
            killAnExecutor();
            String trainB = finish(b, work.resolve("train-b.log"));
            assertTrue(trainB.contains("epoch 4/4 done") && trainB.contains("Lost executor"), trainB);
            assertEquals(validationAccuracy(trainLog), validationAccuracy(trainB), 0.005,
                    "accuracy within 0.5 points of the undisturbed run");
            assertSameWeights(out.resolve("models/it-a"), out.resolve("models/it-b"));

            // C: an executor killed in the middle of certification (once tasks write their Parquet parts)
            Process c = start(work.resolve("certify-c.log"), command(submit, certArgs, "output.runId=it-cert-c"));
            waitFor(out.resolve("certification/_staging/it-cert-c/examples/_temporary"), c, work.resolve("certify-c.log"));
            killAnExecutor();
            String certC = finish(c, work.resolve("certify-c.log"));
            assertTrue(certC.contains("1000 examples, accuracy") && certC.contains("Lost executor"), certC);
            assertOneRowPerExample(out, "it-cert-c", 1000);

            // D: the driver killed in the middle of training; the same command resumes from its checkpoint
            Process d = start(work.resolve("train-d1.log"), command(submit, trainArgs, "output.runId=it-d"));
            waitFor(out.resolve("checkpoints/it-d/epoch-2/_COMPLETE"), d, work.resolve("train-d1.log"));
            kill(d);
            assertTrue(!Files.exists(out.resolve("models/it-d")), "the killed run saved no model");
            String trainD = run(work.resolve("train-d2.log"), command(submit, trainArgs, "output.runId=it-d"));
            assertTrue(trainD.contains("resuming from checkpoint") && trainD.contains("epoch-2 (epoch 2 done)"), trainD);
            assertTrue(!trainD.contains("epoch 1/4 done") && trainD.contains("epoch 4/4 done"), trainD);
            assertSameWeights(out.resolve("models/it-a"), out.resolve("models/it-d"));

            // E: the scheduled-evaluation script, twice for one date: the rerun replaces its own partition only
            String clusterArgs = String.join(" ", java.util.Arrays.copyOfRange(submit, 1, submit.length));
            for (String limit : new String[] {"300", "200"}) {
                String log = run(work.resolve("scheduled-" + limit + ".log"), java.util.Map.of("RUN_CLUSTER_ARGS", clusterArgs),
                        "jobs/certify-scheduled.sh", out.resolve("models/it-a").toString(), "2026-11-25", "nightly",
                        "data.testLimit=" + limit, "output.dir=" + out);
                assertTrue(log.contains(limit + " examples, accuracy"), log);
            }
            assertOneRowPerExample(out, "nightly", 200);
            assertEquals("succeeded", new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                    out.resolve("certification/runs/run_date=2026-11-25/run_id=nightly/_run.json").toFile()).path("status").asText());
            assertOneRowPerExample(out, "it-cert-a", 1000);

            // F: a BLAS that fails its self-test. As the user's OPENBLAS_CORETYPE, run-cluster.sh refuses it before
            // any job starts; given to the executors only, the first executor task stops the job, naming the host
            String core = org.rollspark.blas.OpenBlas.info().coreType();
            Run f1 = runAllowingFailure(work.resolve("blas-refused.log"), java.util.Map.of("OPENBLAS_CORETYPE", core,
                    "ROLL_TEST_BLAS_FAULT", core), command(submit, trainArgs, "output.runId=it-f1"));
            assertEquals(1, f1.code(), f1.text());
            assertTrue(f1.text().contains("roll: OPENBLAS_CORETYPE=" + core + " (set in the environment) fails the BLAS "
                    + "self-test on this machine"), f1.text());
            assertTrue(!Files.exists(out.resolve("models/it-f1")) && !Files.exists(out.resolve("checkpoints/it-f1")));
            String[] faultyExecutors = command(submit, List.of("--conf", "spark.executorEnv.ROLL_TEST_BLAS_FAULT=*"));
            Run f2 = runAllowingFailure(work.resolve("blas-executor.log"), java.util.Map.of(),
                    command(faultyExecutors, certArgs, "output.runId=it-cert-f"));
            assertEquals(1, f2.code(), f2.text());
            assertTrue(f2.text().contains("roll: BLAS self-test failed on executor ") && f2.text().contains(" on "
                    + java.net.InetAddress.getLocalHost().getHostName() + ": OpenBLAS "), f2.text());
            assertTrue(f2.text().contains("float32 product"), f2.text());
            assertNoRows(out, "it-cert-f");

            try (var logs = Files.walk(work.resolve("worker"))) {
                boolean memoryLogged = false;
                boolean blasLogged = false;
                for (Path f : logs.filter(q -> q.getFileName().toString().equals("stderr")).toList()) {
                    String text = Files.readString(f);
                    memoryLogged |= text.contains("roll executor memory: ND4J off-heap limit");
                    blasLogged |= text.contains("OPENBLAS_CORETYPE=" + core + ") on ") && text.contains("BLAS self-test "
                            + "passed");
                }
                assertTrue(memoryLogged, "executors log their off-heap limits");
                assertTrue(blasLogged, "executors log their BLAS, its core type and the self-test");
            }
            assertTrue(trainLog.contains("driver: " + org.rollspark.blas.OpenBlas.info().describe()), trainLog);
            String workerLog = Files.readString(work.resolve("worker.log"));
            assertTrue(workerLog.contains("\"--cores\" \"1\""), workerLog);
        } finally {
            for (Process p : started) {
                stop(p);
            }
        }
    }

    private static String[] command(String[] submit, List<String> args, String... more) {
        List<String> c = new ArrayList<>(List.of(submit));
        c.addAll(args);
        c.addAll(List.of(more));
        return c.toArray(String[]::new);
    }

    private static void assertOneRowPerExample(Path out, String runId, long n) {
        SparkSession spark = SparkSession.builder().master("local[1]").appName("it-check")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            Row r = spark.read().parquet(out.resolve("certification/examples").toString()).where("run_id = '" + runId + "'")
                    .selectExpr("count(*)", "count(DISTINCT example_id)",
                            "sum(CASE WHEN eps_l2 > 0 AND eps_l2 < double('inf') AND eps_l1 > 0 AND eps_linf > 0 "
                                    + "AND eps_l1 < double('inf') AND eps_linf < double('inf') THEN 1 ELSE 0 END)")
                    .first();
            assertEquals(n, r.getLong(0), "one row per example");
            assertEquals(n, r.getLong(1));
            assertEquals(n, r.getLong(2), "margins finite and positive");
            Row s = spark.read().parquet(out.resolve("certification/summary").toString()).where("run_id = '" + runId + "'").first();
            assertEquals(n, s.getLong(s.fieldIndex("n")));
        } finally {
            spark.stop();
        }
    }

    /** The validation accuracy of the kept epoch, from a training log. */
    private static double validationAccuracy(String log) {
        java.util.regex.Matcher kept = java.util.regex.Pattern.compile("kept epoch (\\d+)").matcher(log);
        assertTrue(kept.find(), log);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("epoch " + kept.group(1) + "/\\d+: .*val acc ([0-9.]+)")
                .matcher(log);
        double acc = Double.NaN;
        while (m.find()) {
            acc = Double.parseDouble(m.group(1));
        }
        return acc;
    }

    private static void assertSameWeights(Path a, Path b) throws IOException {
        try (var files = Files.list(a)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".npy")).toList()) {
                assertTrue(java.util.Arrays.equals(Files.readAllBytes(f), Files.readAllBytes(b.resolve(f.getFileName()))),
                        f.getFileName() + " differs between " + a + " and " + b);
            }
        }
    }

    /** Kills (SIGKILL) one executor JVM of the running application. */
    private static void killAnExecutor() {
        ProcessHandle executor = ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend"))
                .findFirst().orElseThrow(() -> new AssertionError("no executor process to kill"));
        executor.destroyForcibly();
    }

    private static Process start(Path log, String... cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        return pb.start();
    }

    /** Waits until {@code file} exists (5 minutes at most) while {@code p} runs. */
    private static void waitFor(Path file, Process p, Path log) throws Exception {
        long end = System.nanoTime() + 300_000_000_000L;
        while (!Files.exists(file)) {
            if (!p.isAlive() || System.nanoTime() > end) {
                throw new AssertionError(file + " never appeared:\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
    }

    /** Waits for a started command (10 minutes at most); returns its output; fails on a non-zero exit. */
    private static String finish(Process p, Path log) throws Exception {
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                throw new AssertionError("did not finish in 10 minutes:\n" + Files.readString(log));
            }
        } finally {
            stop(p);
        }
        String text = Files.readString(log);
        assertEquals(0, p.exitValue(), "failed:\n" + text);
        return text;
    }

    /** SIGKILL to a command and every process under it (the driver JVM of run-cluster.sh). */
    private static void kill(Process p) throws InterruptedException {
        List<ProcessHandle> children = p.descendants().toList();
        children.forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(20, TimeUnit.SECONDS);
        for (ProcessHandle c : children) {
            c.onExit().join();
        }
    }

    private static Process daemon(Path log, Path sparkHome, String cp, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(javaBin(), "-Xmx512m", "-cp", cp, mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.12");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        return pb.start();
    }

    record Run(int code, String text) {}

    /** Runs a command to completion (10 minutes at most); its exit code and output. */
    private static Run runAllowingFailure(Path log, java.util.Map<String, String> env, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                throw new AssertionError(String.join(" ", cmd) + " did not finish in 10 minutes");
            }
        } finally {
            stop(p);
        }
        return new Run(p.exitValue(), Files.readString(log));
    }

    private static void assertNoRows(Path out, String runId) {
        SparkSession spark = SparkSession.builder().master("local[1]").appName("it-check")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            assertEquals(0, spark.read().parquet(out.resolve("certification/examples").toString())
                    .where("run_id = '" + runId + "'").count(), "no rows of a run whose executors failed their BLAS check");
        } finally {
            spark.stop();
        }
    }

    /** Runs a command to completion (10 minutes at most); returns its output; fails on a non-zero exit. */
    private static String run(Path log, String... cmd) throws Exception {
        return run(log, java.util.Map.of(), cmd);
    }

    private static String run(Path log, java.util.Map<String, String> env, String... cmd) throws Exception {
        Run r = runAllowingFailure(log, env, cmd);
        assertEquals(0, r.code(), String.join(" ", cmd) + " failed:\n" + r.text());
        return r.text();
    }

    private static void stop(Process p) throws InterruptedException {
        List<ProcessHandle> children = p.descendants().toList();
        p.destroy();
        children.forEach(ProcessHandle::destroy);
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        for (ProcessHandle c : children) {
            c.destroyForcibly();
        }
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private static void waitForPort(int port, int seconds) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(250);
            }
        }
        throw new AssertionError("Spark master did not open port " + port + " in " + seconds + " s");
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
