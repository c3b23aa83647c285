package org.rollspark.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.rollspark.report.ReportData;
import org.rollspark.report.ReportPage;

/**
 * The report, built from tables the pipeline really wrote: a compare run (with per-pixel bounds and
 * gradient stability), the ROLL model certified again on two later dates (a scheduled job), and the
 * sweep tables of docs/results. Every chart's data is recomputed from the Parquet rows with DuckDB;
 * headless Chromium (when installed; CI installs it) opens the page with the network off.
 */
class ReportTest {
    static Path tmp;
    static String outDir;
    static ObjectNode data;
    static Path page;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void writeTablesAndReport() throws Exception {
        MainTest.quietSpark();
        tmp = Files.createTempDirectory("roll-report-test");
        outDir = tmp.resolve("runs").toString();
        MainTest.Result r = MainTest.run("compare", "data.trainLimit=600", "data.validation=100", "data.testLimit=200",
                "net.hidden=[16, 12]", "train.epochs=2", "output.runId=r1", "output.runDate=2026-11-20", "output.dir=" + outDir,
                "certify.coordinateBounds=true", "certify.gradientExamples=8", "certify.gradientSamples=100",
                "certify.gradientPopulation=40", "certify.gradientGenerations=2", "certify.soundnessExamples=8");
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(r.out().contains("report of 2 run(s) written to "), r.out());
        assertTrue(Files.isRegularFile(Path.of(outDir, "reports", "r1.html")), "compare writes its report");
        String[][] nightly = {{"2026-11-21", "200"}, {"2026-11-22", "120"}};
        for (String[] n : nightly) {
            MainTest.Result c = MainTest.run("certify", "--model", Path.of(outDir, "models", "r1-roll").toString(),
                    "data.testLimit=" + n[1], "output.runId=nightly", "output.runDate=" + n[0], "output.dir=" + outDir,
                    "certify.soundnessExamples=0");
            assertEquals(0, c.code(), c.err() + c.out());
        }
        // 2-D data: the region maps of the paper's Figure 1
        MainTest.Result d2 = MainTest.run("compare", "data.format=synthetic2d", "data.count=600", "data.noise=0.04",
                "data.validation=100", "data.mean=[0.0]", "data.std=[1.0]", "net.hidden=[16, 16]", "train.epochs=3",
                "train.optimizer=adam", "train.lr=0.01", "loss.c=5", "loss.gamma=max", "output.runId=d2",
                "output.runDate=2026-11-20", "output.dir=" + outDir, "certify.soundnessExamples=0");
        assertEquals(0, d2.code(), d2.err() + d2.out());
        copyTree(Path.of("docs/results/sweeps"), Path.of(outDir, "sweeps"));
        SparkSession spark = SparkSession.builder().master("local[2]").appName("report-test").getOrCreate();
        try {
            data = ReportData.build(spark, outDir, new ReportData.Selection(List.of(), null), 0.05, Report.inputs(spark));
        } finally {
            spark.stop();
        }
        page = tmp.resolve("report.html");
        ReportPage.write(ReportPage.html(data, "test"), page, false);
    }

    @AfterAll
    static void cleanUp() throws IOException {
        org.rollspark.model.ModelIO.deleteTree(tmp);
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (var files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(f, t);
                }
            }
        }
    }

    /** One example row of the certification table, read with DuckDB. */
    record Ex(String series, long id, int label, boolean correct, double[] eps, double[] cert, Double gradMean) {}

    static List<Ex> examples() throws SQLException {
        List<Ex> out = new ArrayList<>();
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:");
                ResultSet rs = db.createStatement().executeQuery("SELECT CASE WHEN run_id = 'nightly' THEN run_id || ' @ ' "
                        + "|| CAST(run_date AS VARCHAR) ELSE run_id END, example_id, label, correct, eps_l1, eps_l2, eps_linf, "
                        + "cert_l1, cert_l2, cert_linf, grad_dist_mean FROM read_parquet('" + outDir
                        + "/certification/examples/*/*/*.parquet', hive_partitioning = true)")) {
            while (rs.next()) {
                out.add(new Ex(rs.getString(1), rs.getLong(2), rs.getInt(3), rs.getBoolean(4),
                        new double[] {rs.getDouble(5), rs.getDouble(6), rs.getDouble(7)},
                        new double[] {rs.getDouble(8), rs.getDouble(9), rs.getDouble(10)},
                        rs.getObject(11) == null ? null : rs.getDouble(11)));
            }
        }
        return out;
    }

    static Map<String, List<Ex>> bySeries() throws SQLException {
        Map<String, List<Ex>> m = new HashMap<>();
        for (Ex e : examples()) {
            m.computeIfAbsent(e.series(), k -> new ArrayList<>()).add(e);
        }
        return m;
    }

    @Test
    void runsTableListsEveryCertificationRunWithItsAccuracyAndHash() throws SQLException {
        Map<String, List<Ex>> s = bySeries();
        assertEquals(6, data.get("runs").size(), data.get("runs").toString());
        for (JsonNode r : data.get("runs")) {
            List<Ex> ex = s.get(r.get("series").asText());
            assertEquals(ex.size(), r.get("n").asLong(), r.toString());
            assertEquals(ex.stream().filter(Ex::correct).count() / (double) ex.size(), r.get("accuracy").asDouble(), 1e-12);
            assertEquals(64, r.get("config_hash").asText().length(), r.toString());
        }
        assertTrue(s.containsKey("nightly @ 2026-11-21") && s.containsKey("nightly @ 2026-11-22"));
    }

    /** certified accuracy at r = count(correct and cert >= r) / n, on every radius of the grid. */
    @Test
    void certifiedAccuracyIsTheFractionCorrectAndCertifiedAtEachRadius() throws SQLException {
        Map<String, List<Ex>> s = bySeries();
        String[] norms = {"l1", "l2", "linf"};
        for (int p = 0; p < 3; p++) {
            JsonNode c = data.get("certifiedAccuracy").get(norms[p]);
            assertEquals(ReportData.RADII, c.get("radii").size());
            assertEquals(s.keySet(), fieldNames(c.get("runs")));
            for (var e : s.entrySet()) {
                JsonNode curve = c.get("runs").get(e.getKey());
                for (int i = 0; i < ReportData.RADII; i++) {
                    double r = c.get("radii").get(i).asDouble();
                    int pp = p;
                    long k = e.getValue().stream().filter(x -> x.correct() && x.cert()[pp] >= r).count();
                    assertEquals(k / (double) e.getValue().size(), curve.get(i).asDouble(), 1e-12,
                            norms[p] + " " + e.getKey() + " r " + r);
                }
            }
        }
    }

    /** Each plotted quantile has the rank it claims, within the approximation's error. */
    @Test
    void marginDistributionsHaveTheirRanks() throws SQLException {
        Map<String, List<Ex>> s = bySeries();
        String[] norms = {"l1", "l2", "linf"};
        JsonNode levels = data.get("distributions").get("levels");
        assertEquals(ReportData.LEVELS, levels.size());
        for (int p = 0; p < 3; p++) {
            for (var e : s.entrySet()) {
                JsonNode q = data.get("distributions").get(norms[p]).get(e.getKey());
                int n = e.getValue().size();
                for (int i = 0; i < levels.size(); i++) {
                    double v = q.get(i).asDouble();
                    int pp = p;
                    long atOrBelow = e.getValue().stream().filter(x -> x.eps()[pp] <= v).count();
                    long below = e.getValue().stream().filter(x -> x.eps()[pp] < v).count();
                    double level = levels.get(i).asDouble();
                    String where = norms[p] + " " + e.getKey() + " level " + level + " value " + v;
                    assertTrue(atOrBelow >= level * n - 1e-3 * n - 1, where + ": " + atOrBelow + " of " + n + " at or below");
                    assertTrue(below <= level * n + 1e-3 * n + 1, where + ": " + below + " of " + n + " below");
                }
            }
        }
    }

    @Test
    void perClassFiguresAreRecomputedFromTheRows() throws SQLException {
        for (var e : bySeries().entrySet()) {
            JsonNode pc = data.get("perClass").get(e.getKey());
            for (int i = 0; i < pc.get("labels").size(); i++) {
                int label = pc.get("labels").get(i).asInt();
                List<Ex> of = e.getValue().stream().filter(x -> x.label() == label).toList();
                assertEquals(of.size(), pc.get("n").get(i).asLong());
                assertEquals(of.stream().filter(Ex::correct).count() / (double) of.size(), pc.get("accuracy").get(i).asDouble(),
                        1e-12);
                double m = pc.get("medianEps2").get(i).asDouble();
                long atOrBelow = of.stream().filter(x -> x.eps()[1] <= m).count();
                assertTrue(atOrBelow >= of.size() / 2.0 - 1 && of.stream().filter(x -> x.eps()[1] < m).count() <= of.size() / 2.0 + 1,
                        e.getKey() + " class " + label);
            }
        }
    }

    /**
     * The 2-D region maps: grid points certified here one by one fall into the map's regions (same pattern,
     * same number; different patterns, different numbers) with the map's predictions; the ball is the
     * example with the largest eps_2, centred on it.
     */
    @Test
    void regionMapsAreTheModelsRegionsOnTheGrid() throws Exception {
        JsonNode maps = data.get("regions");
        assertEquals(2, maps.size(), "vanilla and ROLL of the 2-D compare run");
        for (JsonNode m : maps) {
            org.rollspark.net.Network net = org.rollspark.model.ModelIO.load(m.get("model").asText(),
                    new org.apache.hadoop.conf.Configuration()).network();
            int n = m.get("side").asInt();
            double lo = m.get("lo").asDouble();
            double step = (m.get("hi").asDouble() - lo) / (n - 1);
            java.util.Random rnd = new java.util.Random(7);
            Map<String, Integer> seen = new HashMap<>();
            for (int t = 0; t < 200; t++) {
                int r = rnd.nextInt(n);
                int c = rnd.nextInt(n);
                org.rollspark.region.Certification cert = new org.rollspark.region.RegionCertifier(net).certify(
                        org.nd4j.linalg.factory.Nd4j.create(new float[] {(float) (lo + c * step), (float) (lo + r * step)},
                                new long[] {1, 2}));
                int region = m.get("region").get(r * n + c).asInt();
                Integer before = seen.putIfAbsent(cert.pattern(0).hash(), region);
                assertEquals(before == null ? region : before, region, "one pattern, one region number");
            }
            assertEquals(seen.size(), new java.util.HashSet<>(seen.values()).size(), "different patterns, different numbers");
            assertTrue(m.get("regions").asInt() >= seen.size());
            assertTrue(m.get("boundary").size() > 0, "the spirals are separated somewhere on the grid");
            assertEquals(ReportData.MAP_POINTS, m.get("points").size());
            try (Connection db = DriverManager.getConnection("jdbc:duckdb:");
                    ResultSet rs = db.createStatement().executeQuery("SELECT example_id, eps_l2 FROM read_parquet('" + outDir
                            + "/certification/examples/*/*/*.parquet', hive_partitioning = true) WHERE run_id = '"
                            + m.get("series").asText() + "' ORDER BY eps_l2 DESC, example_id LIMIT 1")) {
                assertTrue(rs.next());
                assertEquals(rs.getLong(1), m.get("ball").get("example_id").asLong());
                assertEquals(rs.getDouble(2), m.get("ball").get("r").asDouble(), 0.0);
            }
        }
    }

    /** The stability-bound pictures show the rows' own bounds, for examples near the quartiles of eps_2. */
    @Test
    void stabilityBoundsAreTheExamplesOwnBounds() throws SQLException {
        JsonNode b = data.get("bounds");
        assertEquals(6, b.size(), "P25/P50/P75 for the two compare models (the nightly runs have no bounds)");
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:")) {
            for (JsonNode x : b) {
                assertEquals("[28,28]", x.get("shape").toString());
                assertEquals(784, x.get("image").size(), "the image itself, read from the data");
                try (ResultSet rs = db.createStatement().executeQuery("SELECT dir_pos, dir_neg, eps_l2 FROM read_parquet('"
                        + outDir + "/certification/examples/*/*/*.parquet', hive_partitioning = true) WHERE run_id = '"
                        + x.get("series").asText() + "' AND example_id = " + x.get("example_id").asLong())) {
                    assertTrue(rs.next(), x.toString());
                    assertArrayEquals(doubles(rs.getArray(1)), doubles(x.get("pos")), 0.0, "dir_pos of " + x.get("example_id"));
                    assertArrayEquals(doubles(rs.getArray(2)), doubles(x.get("neg")), 0.0, "dir_neg of " + x.get("example_id"));
                    assertEquals(rs.getDouble(3), x.get("eps_l2").asDouble(), 0.0);
                }
            }
        }
    }

    @Test
    void gradientHistogramsCountEveryMeasuredExample() throws SQLException {
        for (var e : bySeries().entrySet()) {
            long measured = e.getValue().stream().filter(x -> x.gradMean() != null).count();
            JsonNode h = data.get("gradients").get("mean").get("runs").get(e.getKey());
            long counted = 0;
            if (h != null) {
                for (JsonNode c : h) {
                    counted += c.asLong();
                }
            }
            assertEquals(measured, counted, e.getKey());
        }
    }

    /** The ROLL model certified on three dates is a time series; a date that moved more than 5 % is marked. */
    @Test
    void scheduledEvaluationIsATimeSeriesWithDrift() throws SQLException {
        assertEquals(1, data.get("schedule").size(), data.get("schedule").toString());
        JsonNode m = data.get("schedule").get(0);
        assertEquals("[\"2026-11-20\",\"2026-11-21\",\"2026-11-22\"]", m.get("dates").toString());
        Map<String, List<Ex>> s = bySeries();
        String[] series = {"r1-roll", "nightly @ 2026-11-21", "nightly @ 2026-11-22"};
        JsonNode acc = m.get("series").get("accuracy");
        int marked = 0;
        for (int i = 0; i < 3; i++) {
            List<Ex> ex = s.get(series[i]);
            double a = ex.stream().filter(Ex::correct).count() / (double) ex.size();
            assertEquals(a, acc.get(i).asDouble(), 1e-12);
            if (i > 0 && Math.abs(a - acc.get(i - 1).asDouble()) > 0.05 * acc.get(i - 1).asDouble()) {
                marked++;
            }
        }
        long flagged = 0;
        for (JsonNode d : m.get("drift")) {
            flagged += d.get("series").asText().equals("accuracy") ? 1 : 0;
        }
        assertEquals(marked, flagged, m.get("drift").toString());
        assertTrue(m.get("series").size() >= 3, "accuracy, median eps_2 and certified accuracy at the l2 radii");
    }

    @Test
    void trainingCurvesAndSweepsComeFromTheirTables() throws SQLException {
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:");
                ResultSet rs = db.createStatement().executeQuery("SELECT run_id, list(train_loss ORDER BY epoch), "
                        + "list(val_eps_l2_p50 ORDER BY epoch) FROM read_parquet('" + outDir + "/training/*/*/*.parquet', "
                        + "hive_partitioning = true) WHERE round IS NULL GROUP BY run_id ORDER BY run_id")) {
            int runs = 0;
            while (rs.next()) {
                runs++;
                JsonNode t = data.get("training").get(rs.getString(1));
                assertArrayEquals(doubles(rs.getArray(2)), doubles(t.get("train_loss")), 0.0);
                assertArrayEquals(doubles(rs.getArray(3)), doubles(t.get("val_eps_l2_p50")), 0.0);
            }
            assertEquals(4, runs);
            assertEquals(4, data.get("training").size());
        }
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:");
                ResultSet rs = db.createStatement().executeQuery("SELECT run_id, count(*), count(selected) FROM read_parquet('"
                        + outDir + "/sweeps/*/*/*.parquet', hive_partitioning = true, union_by_name = true) GROUP BY run_id "
                        + "ORDER BY run_id")) {
            int i = 0;
            while (rs.next()) {
                JsonNode sw = data.get("sweeps").get(i++);
                assertEquals(rs.getString(1), sw.get("run_id").asText());
                assertEquals(rs.getLong(2), sw.get("points").size());
                long selected = 0;
                for (JsonNode p : sw.get("points")) {
                    selected += p.get("selected").isNull() ? 0 : 1;
                }
                assertEquals(rs.getLong(3), selected);
            }
            assertEquals(3, i);
        }
    }

    /** The page carries the data as is, and nothing it needs comes from the network. */
    @Test
    void thePageIsSelfContained() throws IOException {
        String html = Files.readString(page);
        Matcher m = Pattern.compile("<script type=\"application/json\" id=\"report-data\">(.*?)</script>", Pattern.DOTALL)
                .matcher(html);
        assertTrue(m.find());
        assertTrue(data.toString().equals(JSON.readTree(m.group(1).replace("<\\/", "</")).toString()), "the page's data");
        assertFalse(Pattern.compile("(src|href)\\s*=\\s*[\"']?(https?:)?//").matcher(html).find(), "no external resources");
        assertTrue(html.contains("echarts") && html.length() > 1_000_000, "ECharts is inline");
    }

    @Test
    void badInputIsAClearErrorAndWritesNothing() throws IOException {
        Path out = tmp.resolve("bad.html");
        MainTest.Result none = MainTest.run("report", "--runs", "no-such-run", "--out", out.toString(), "output.dir=" + outDir);
        assertEquals(2, none.code(), none.err());
        assertTrue(none.err().contains("no certification run") && none.err().contains("no-such-run"), none.err());
        assertFalse(Files.exists(out));
        MainTest.Result empty = MainTest.run("report", "--out", out.toString(), "output.dir=" + tmp.resolve("nothing"));
        assertEquals(3, empty.code(), empty.err());
        assertTrue(empty.err().contains("no examples table"), empty.err());
        // a table written by an older version: no dir_pos / dir_neg columns
        Path old = tmp.resolve("old/certification");
        copyTree(Path.of(outDir, "certification", "summary"), old.resolve("summary"));
        SparkSession spark = SparkSession.builder().master("local[1]").appName("report-test-old").getOrCreate();
        try {
            spark.read().parquet(outDir + "/certification/examples").drop("dir_pos", "dir_neg", "run_date")
                    .write().partitionBy("run_id").parquet(old.resolve("examples/run_date=2026-11-20").toString());
        } finally {
            spark.stop();
        }
        MainTest.Result older = MainTest.run("report", "--out", out.toString(), "output.dir=" + tmp.resolve("old"));
        assertEquals(3, older.code(), older.err());
        assertTrue(older.err().contains("lacks column(s) dir_pos, dir_neg"), older.err());
        assertFalse(Files.exists(out));
        // an existing file is kept without --force
        Files.writeString(out, "keep");
        MainTest.Result exists = MainTest.run("report", "--out", out.toString(), "output.dir=" + outDir);
        assertEquals(2, exists.code(), exists.err());
        assertTrue(exists.err().contains("--force"), exists.err());
        assertEquals("keep", Files.readString(out));
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList(), "no leftovers");
        }
    }

    /**
     * Headless Chromium opens the page with the network off: no script or console error, every chart
     * has data and drew marks, and a screenshot is taken. Skipped where Chromium is not installed, unless
     * ROLL_REQUIRE_BROWSER is set (CI sets it).
     */
    @Test
    void aRealBrowserDrawsEveryChart() throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        boolean required = System.getenv("ROLL_REQUIRE_BROWSER") != null;
        Assumptions.assumeTrue(required || Files.isExecutable(chromium), "Chromium is not installed");
        assertTrue(Files.isExecutable(chromium), "ROLL_REQUIRE_BROWSER is set but /usr/bin/chromium is missing");
        String dom = chromium(chromium, "--dump-dom");
        Matcher m = Pattern.compile("<pre id=\"report-status\"[^>]*>(.*?)</pre>", Pattern.DOTALL).matcher(dom);
        assertTrue(m.find(), "no self-check in the page");
        JsonNode status = JSON.readTree(m.group(1).replace("&quot;", "\"").replace("&amp;", "&").replace("&lt;", "<")
                .replace("&gt;", ">"));
        assertTrue(status.get("done").asBoolean(), status.toString());
        assertEquals("[]", status.get("errors").toString(), "script errors");
        assertEquals("[]", status.get("empty").toString(), "charts without data or marks");
        assertTrue(status.get("charts").asInt() >= 40, status.toString());
        Path shot = Path.of("target", "report-screenshot.png");
        chromium(chromium, "--screenshot=" + shot.toAbsolutePath(), "--window-size=1400,2400", "--hide-scrollbars");
        assertTrue(Files.size(shot) > 50_000, "screenshot " + shot);
    }

    private static String chromium(Path exe, String... extra) throws Exception {
        Path profile = Files.createTempDirectory(tmp, "chromium-");
        List<String> cmd = new ArrayList<>(List.of(exe.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + profile, "--host-resolver-rules=MAP * ~NOTFOUND",
                "--proxy-server=127.0.0.1:9", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000"));
        cmd.addAll(List.of(extra));
        cmd.add(page.toUri().toString());
        Path err = tmp.resolve("chromium.err");
        Path out = tmp.resolve("chromium.out");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectOutput(out.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("Chromium did not finish in 120 s: " + cmd);
        }
        List<String> console = Files.readAllLines(err).stream().filter(l -> l.contains(":CONSOLE(") || l.contains("Uncaught"))
                .toList();
        assertEquals(List.of(), console, "console messages");
        return Files.readString(out);
    }

    /** A SQL array of doubles (infinities as such). */
    private static double[] doubles(java.sql.Array a) throws SQLException {
        Object[] v = (Object[]) a.getArray();
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = ((Number) v[i]).doubleValue();
        }
        return d;
    }

    /** A JSON array of numbers (null for a non-finite value, read as +infinity: bounds are never -inf). */
    private static double[] doubles(JsonNode a) {
        double[] d = new double[a.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = a.get(i).isNull() ? Double.POSITIVE_INFINITY : a.get(i).asDouble();
        }
        return d;
    }

    private static java.util.Set<String> fieldNames(JsonNode n) {
        java.util.Set<String> s = new java.util.HashSet<>();
        n.fieldNames().forEachRemaining(s::add);
        return s;
    }
}
