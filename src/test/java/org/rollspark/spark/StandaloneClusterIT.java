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
            List<String> train = new ArrayList<>(List.of(submit));
            train.addAll(List.of("train", "data.trainLimit=1200", "data.validation=200", "net.hidden=[32, 16]",
                    "train.epochs=2", "spark.numWorkers=2", "output.runId=it", "output.runDate=2026-11-24",
                    "output.dir=" + out));
            String trainLog = run(work.resolve("train.log"), train.toArray(String[]::new));
            assertTrue(trainLog.contains("epoch 2/2"), trainLog);
            assertTrue(Files.isRegularFile(out.resolve("models/it/model.json")), trainLog);

            List<String> certify = new ArrayList<>(List.of(submit));
            certify.addAll(List.of("certify", "--model", out.resolve("models/it").toString(), "data.testLimit=500",
                    "certify.partitions=4", "output.runId=it-cert", "output.runDate=2026-11-24", "output.dir=" + out));
            String certLog = run(work.resolve("certify.log"), certify.toArray(String[]::new));
            assertTrue(certLog.contains("500 examples, accuracy"), certLog);
            String workerLog = Files.readString(work.resolve("worker.log"));
            long launched = workerLog.lines().filter(l -> l.contains("Asked to launch executor")).count();
            assertEquals(4, launched, "two one-core executors per job ran on the worker:\n" + workerLog);
            assertTrue(workerLog.contains("\"--cores\" \"1\""), workerLog);
        } finally {
            for (Process p : started) {
                stop(p);
            }
        }
        SparkSession spark = SparkSession.builder().master("local[1]").appName("it-check")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            Row r = spark.read().parquet(out.resolve("certification/examples").toString()).where("run_id = 'it-cert'")
                    .selectExpr("count(*)", "count(DISTINCT example_id)",
                            "sum(CASE WHEN eps_l2 > 0 AND eps_l2 < double('inf') AND eps_l1 > 0 AND eps_linf > 0 "
                                    + "AND eps_l1 < double('inf') AND eps_linf < double('inf') THEN 1 ELSE 0 END)")
                    .first();
            assertEquals(500L, r.getLong(0), "one row per example");
            assertEquals(500L, r.getLong(1));
            assertEquals(500L, r.getLong(2), "margins finite and positive");
            Row s = spark.read().parquet(out.resolve("certification/summary").toString()).where("run_id = 'it-cert'").first();
            assertEquals(500L, s.getLong(s.fieldIndex("n")));
        } finally {
            spark.stop();
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

    /** Runs a command to completion (10 minutes at most); returns its output; fails on a non-zero exit. */
    private static String run(Path log, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                throw new AssertionError(String.join(" ", cmd) + " did not finish in 10 minutes");
            }
        } finally {
            stop(p);
        }
        String text = Files.readString(log);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + text);
        return text;
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
