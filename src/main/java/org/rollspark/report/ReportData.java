package org.rollspark.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.rollspark.data.DataSpec;
import org.rollspark.data.LabeledData;
import org.rollspark.model.ModelIO;
import org.rollspark.model.RemoteFolders;
import org.rollspark.net.Network;

/**
 * What the report shows, computed from the tables under {@code output.dir} with Spark SQL: the
 * certification examples are only ever aggregated (grouped counts, approximate quantiles, a handful of
 * picked rows), never collected, so it scales to tables of millions of examples. The result is one JSON
 * document; {@link ReportPage} draws it.
 */
public final class ReportData {
    private ReportData() {}

    static final ObjectMapper JSON = new ObjectMapper();
    /** Radii on the certified-accuracy curves (log-spaced between the smallest and largest certificate). */
    public static final int RADII = 120;
    /** Levels of the margin distributions (0.5 %, 1.5 %, ..., 99.5 %). */
    public static final int LEVELS = 100;
    /** Rank accuracy of the approximate quantiles (Spark's percentile_approx accuracy). */
    public static final int QUANTILE_ACCURACY = 10_000;
    static final String[] NORMS = {"l1", "l2", "linf"};

    /**
     * Where the report reads the examples a certification run certified, as the run's recorded settings
     * ({@code provenance.config}) say: the examples with the given ids, or the first {@code limit} when
     * ids is null. Null when the data can no longer be read (then the report says so).
     */
    public interface Inputs {
        LabeledData read(JsonNode runConfig, long[] ids, int limit);
    }

    /** Grid points per side of a 2-D region map. */
    public static final int MAP_SIDE = 120;
    /** Sample points drawn on a 2-D region map. */
    public static final int MAP_POINTS = 400;

    /** Which runs: ids (a run id or the job id its runs start with, "ID-..."), and runs on or after a date. */
    public record Selection(List<String> runs, String since) {
        /** A SQL condition on run_id and run_date. */
        String where() {
            List<String> c = new ArrayList<>();
            if (runs != null && !runs.isEmpty()) {
                List<String> any = new ArrayList<>();
                for (String r : runs) {
                    String q = r.replace("'", "''");
                    any.add("run_id = '" + q + "' OR startswith(run_id, '" + q + "-')");
                }
                c.add("(" + String.join(" OR ", any) + ")");
            }
            if (since != null && !since.isEmpty()) {
                c.add("CAST(run_date AS STRING) >= '" + since.replace("'", "''") + "'");
            }
            return c.isEmpty() ? "true" : String.join(" AND ", c);
        }

        String describe() {
            List<String> d = new ArrayList<>();
            if (runs != null && !runs.isEmpty()) {
                d.add("runs " + String.join(", ", runs));
            }
            if (since != null && !since.isEmpty()) {
                d.add("since " + since);
            }
            return d.isEmpty() ? "all runs" : String.join(", ", d);
        }
    }

    /** Columns each table must have (an older version's table lacks some). */
    static final Map<String, List<String>> REQUIRED = Map.of(
            "examples", List.of("run_id", "run_date", "model_id", "label", "correct", "eps_l1", "eps_l2", "eps_linf",
                    "cert_l1", "cert_l2", "cert_linf", "grad_dist_mean", "grad_dist_max", "dir_pos", "dir_neg", "example_id"),
            "summary", List.of("run_id", "run_date", "model_id", "dataset", "split", "n", "accuracy", "distinct_patterns",
                    "soundness_violations", "eps_l1_p50", "eps_l2_p50", "eps_linf_p50", "cert_radii_l2", "cert_acc_l2"),
            "training", List.of("run_id", "epoch", "round", "train_loss", "train_roll_term", "val_accuracy",
                    "val_eps_l2_p50"),
            "sweeps", List.of("run_id", "point_id", "status", "loss_type", "val_accuracy", "val_eps_l2_p50", "selected"));

    /**
     * The report's data for the selected runs under {@code outputDir}. Fails with an IOException when the
     * certification tables are missing or lack columns (naming the table and the columns), and with an
     * IllegalArgumentException when no run matches.
     */
    public static ObjectNode build(SparkSession spark, String outputDir, Selection sel, double driftThreshold,
            Inputs inputs) throws IOException {
        ObjectNode out = JSON.createObjectNode();
        out.put("selection", sel.describe());
        out.put("outputDir", outputDir);
        out.put("driftThreshold", driftThreshold);
        ArrayNode notes = out.putArray("notes");
        String cert = RemoteFolders.join(outputDir, "certification");
        Dataset<Row> examples = table(spark, RemoteFolders.join(cert, "examples"), "examples", true).where(sel.where());
        Dataset<Row> summary = table(spark, RemoteFolders.join(cert, "summary"), "summary", true).where(sel.where());
        List<Row> runs = summary.orderBy("run_date", "run_id").collectAsList();
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("no certification run under " + cert + " matches " + sel.describe());
        }
        // a run id certified on several dates (a scheduled job) is one series per date
        java.util.Set<String> repeated = runs.stream().collect(java.util.stream.Collectors.groupingBy(
                r -> r.<String>getAs("run_id"), java.util.stream.Collectors.counting())).entrySet().stream()
                .filter(e -> e.getValue() > 1).map(Map.Entry::getKey).collect(java.util.stream.Collectors.toSet());
        examples.selectExpr("*", repeated.isEmpty() ? "run_id AS series" : "CASE WHEN run_id IN ("
                + String.join(", ", repeated.stream().map(id -> "'" + id.replace("'", "''") + "'").toList())
                + ") THEN concat(run_id, ' @ ', CAST(run_date AS STRING)) ELSE run_id END AS series")
                .createOrReplaceTempView("report_examples");
        Map<String, JsonNode> manifests = manifests(spark, RemoteFolders.join(cert, "runs"));
        runsTable(out, runs, repeated, manifests);
        certifiedAccuracy(spark, out);
        distributions(spark, out);
        perClass(spark, out);
        Map<String, JsonNode> configs = configs(out, manifests);
        bounds(spark, out, notes, inputs, configs);
        regions(spark, out, notes, inputs, configs, outputDir);
        gradients(spark, out, notes);
        schedule(out, runs, driftThreshold);
        Dataset<Row> training = table(spark, RemoteFolders.join(outputDir, "training"), "training", false);
        if (training != null) {
            training(out, training.where(sel.where()));
        }
        Dataset<Row> sweeps = table(spark, RemoteFolders.join(outputDir, "sweeps"), "sweeps", false);
        if (sweeps != null) {
            sweeps(out, sweeps.where(sel.where()));
        }
        if (!out.has("training") || out.get("training").isEmpty()) {
            notes.add("No training metrics for these runs (the training table, output.dir/training, is written by train, "
                    + "compare and sweep).");
        }
        return out;
    }

    /** A table read whole (Hive partitions, schemas merged); null when optional and absent. */
    static Dataset<Row> table(SparkSession spark, String location, String name, boolean required) throws IOException {
        FileSystem fs = RemoteFolders.fs(location, spark.sparkContext().hadoopConfiguration());
        Path p = new Path(location);
        if (!fs.exists(p) || !hasData(fs, p)) {
            if (required) {
                throw new IOException(location + ": no " + name + " table (run compare, certify or sweep with output.dir "
                        + "pointing here first)");
            }
            return null;
        }
        Dataset<Row> d = spark.read().option("mergeSchema", "true").parquet(location);
        List<String> have = List.of(d.columns());
        List<String> missing = REQUIRED.get(name).stream().filter(c -> !have.contains(c)).toList();
        if (!missing.isEmpty()) {
            throw new IOException(location + ": the " + name + " table lacks column(s) " + String.join(", ", missing)
                    + " (written by an older version? certify the models again into a new output.dir)");
        }
        return d;
    }

    private static boolean hasData(FileSystem fs, Path p) throws IOException {
        for (FileStatus s : fs.listStatus(p)) {
            if (s.getPath().getName().startsWith("run_date=")) {
                return true;
            }
        }
        return false;
    }

    /** The certification runs' manifests by run id (their provenance hash and the model's classes). */
    static Map<String, JsonNode> manifests(SparkSession spark, String runsRoot) throws IOException {
        Map<String, JsonNode> m = new TreeMap<>();
        FileSystem fs = RemoteFolders.fs(runsRoot, spark.sparkContext().hadoopConfiguration());
        Path root = new Path(runsRoot);
        if (!fs.exists(root)) {
            return m;
        }
        for (FileStatus date : fs.listStatus(root)) {
            if (!date.isDirectory()) {
                continue;
            }
            for (FileStatus run : fs.listStatus(date.getPath())) {
                Path f = new Path(run.getPath(), "_run.json");
                if (run.getPath().getName().startsWith("run_id=") && fs.exists(f)) {
                    try (InputStream in = fs.open(f)) {
                        m.put(date.getPath().getName() + "/" + run.getPath().getName(), JSON.readTree(in));
                    } catch (IOException e) {
                        // a damaged manifest: the run is still shown, without its hash
                    }
                }
            }
        }
        return m;
    }

    private static void runsTable(ObjectNode out, List<Row> runs, java.util.Set<String> repeated,
            Map<String, JsonNode> manifests) {
        ArrayNode a = out.putArray("runs");
        for (Row r : runs) {
            ObjectNode o = a.addObject();
            String date = String.valueOf(r.<Object>getAs("run_date"));
            o.put("run_date", date);
            o.put("series", repeated.contains(r.<String>getAs("run_id")) ? r.getAs("run_id") + " @ " + date
                    : r.<String>getAs("run_id"));
            for (String c : new String[] {"run_id", "model_id", "dataset", "split"}) {
                o.put(c, r.<String>getAs(c));
            }
            o.put("n", r.<Long>getAs("n"));
            o.put("accuracy", r.<Double>getAs("accuracy"));
            o.put("distinct_patterns", r.<Long>getAs("distinct_patterns"));
            for (String p : NORMS) {
                putDouble(o, "eps_" + p + "_p50", r.getAs("eps_" + p + "_p50"));
            }
            o.put("soundness_violations", r.<Long>getAs("soundness_violations"));
            JsonNode m = manifests.get("run_date=" + date + "/run_id=" + r.getAs("run_id"));
            o.put("config_hash", m == null ? "" : m.path("provenance").path("configHash").asText(""));
            o.put("data_fingerprint", m == null ? "" : m.path("provenance").path("dataFingerprint").asText(""));
            JsonNode names = m == null ? null : m.path("provenance").path("config").path(org.rollspark.Provenance.CLASS_NAMES);
            if (names != null && names.isArray()) {
                o.set("class_names", names);
            }
        }
    }

    /**
     * Certified accuracy against radius per norm, all runs on one log-spaced grid: the fraction of a run's
     * examples that are correct with a certificate of at least r. One grouped count per bucket of the
     * grid, then running sums from the top.
     */
    private static void certifiedAccuracy(SparkSession spark, ObjectNode out) {
        ObjectNode node = out.putObject("certifiedAccuracy");
        Map<String, Long> n = new LinkedHashMap<>();
        for (Row r : spark.sql("SELECT series, count(*) FROM report_examples GROUP BY series ORDER BY series").collectAsList()) {
            n.put(r.getString(0), r.getLong(1));
        }
        for (String p : NORMS) {
            String c = "cert_" + p;
            Row range = spark.sql("SELECT min(" + c + "), max(" + c + ") FROM report_examples WHERE correct AND " + c
                    + " > 0 AND " + c + " < double('Infinity')").first();
            ObjectNode pn = node.putObject(p);
            if (range.isNullAt(0)) {
                pn.putArray("radii");
                pn.putObject("runs");
                continue;
            }
            double[] radii = grid(Math.max(range.getDouble(0), range.getDouble(1) * 1e-4), range.getDouble(1));
            double r0 = radii[0];
            // the bucket of a certificate: the last radius at or below it. The logarithm's estimate is off by
            // one at most, near a radius; the comparison with the radii themselves settles it exactly.
            StringBuilder lit = new StringBuilder();
            for (double r : radii) {
                lit.append(lit.length() > 0 ? ", " : "").append(Double.toString(r)).append('D');
            }
            String estimate = String.format(Locale.ROOT, "least(%d, greatest(0, CAST(floor(ln(%s / %sD) / %sD) AS INT)))",
                    RADII - 1, c, Double.toString(r0), Double.toString(Math.log(radii[1] / radii[0])));
            String exact = "CASE WHEN c < element_at(r, b0 + 1) THEN b0 - 1 WHEN b0 < " + (RADII - 1)
                    + " AND c >= element_at(r, b0 + 2) THEN b0 + 1 ELSE b0 END";
            long[][] counts = new long[n.size()][RADII];
            List<String> ids = new ArrayList<>(n.keySet());
            for (Row r : spark.sql("SELECT series, " + exact + " AS b, count(*) FROM (SELECT series, " + c + " AS c, array("
                    + lit + ") AS r, " + estimate + " AS b0 FROM report_examples WHERE correct AND " + c + " >= "
                    + Double.toString(r0) + "D) GROUP BY series, b").collectAsList()) {
                counts[ids.indexOf(r.getString(0))][r.getInt(1)] += r.getLong(2);
            }
            ArrayNode ra = pn.putArray("radii");
            for (double r : radii) {
                ra.add(r);
            }
            ObjectNode rs = pn.putObject("runs");
            for (int i = 0; i < ids.size(); i++) {
                ArrayNode acc = rs.putArray(ids.get(i));
                double[] v = new double[RADII];
                long above = 0;
                for (int b = RADII - 1; b >= 0; b--) {
                    above += counts[i][b];
                    v[b] = (double) above / n.get(ids.get(i));
                }
                for (double x : v) {
                    acc.add(x);
                }
            }
        }
    }

    /** {@link #RADII} radii, log-spaced from lo to hi (one radius when they agree). */
    static double[] grid(double lo, double hi) {
        double[] r = new double[RADII];
        double ratio = hi > lo ? Math.pow(hi / lo, 1.0 / (RADII - 1)) : 1.0000001;
        for (int i = 0; i < RADII; i++) {
            r[i] = lo * Math.pow(ratio, i);
        }
        if (hi > lo) {
            r[RADII - 1] = hi; // the largest certificate itself, not its rounding
        }
        return r;
    }

    /** The levels of the margin distributions. */
    static double[] levels() {
        double[] q = new double[LEVELS];
        for (int i = 0; i < LEVELS; i++) {
            q[i] = (i + 0.5) / LEVELS;
        }
        return q;
    }

    /** The distributions of eps_1, eps_2, eps_inf per run: approximate quantiles at {@link #levels()}. */
    private static void distributions(SparkSession spark, ObjectNode out) {
        ObjectNode node = out.putObject("distributions");
        StringBuilder lv = new StringBuilder();
        ArrayNode levels = node.putArray("levels");
        for (double q : levels()) {
            lv.append(lv.length() > 0 ? ", " : "").append(q);
            levels.add(q);
        }
        StringBuilder cols = new StringBuilder("series");
        for (String p : NORMS) {
            cols.append(", percentile_approx(eps_").append(p).append(", array(").append(lv).append("), ")
                    .append(QUANTILE_ACCURACY).append(")");
        }
        for (String p : NORMS) {
            node.putObject(p);
        }
        for (Row r : spark.sql("SELECT " + cols + " FROM report_examples GROUP BY series ORDER BY series").collectAsList()) {
            for (int p = 0; p < NORMS.length; p++) {
                if (r.isNullAt(p + 1)) {
                    continue; // a run not certified in this norm: no curve
                }
                ArrayNode a = ((ObjectNode) node.get(NORMS[p])).putArray(r.getString(0));
                for (Object v : r.getList(p + 1)) {
                    double d = (Double) v;
                    if (Double.isFinite(d)) {
                        a.add(d);
                    } else {
                        a.addNull();
                    }
                }
            }
        }
    }

    /** Per class: examples, accuracy and the approximate median eps_2. */
    private static void perClass(SparkSession spark, ObjectNode out) {
        ObjectNode node = out.putObject("perClass");
        for (Row r : spark.sql("SELECT series, label, count(*), avg(CAST(correct AS DOUBLE)), percentile_approx(eps_l2, 0.5, "
                + QUANTILE_ACCURACY + ") FROM report_examples GROUP BY series, label ORDER BY series, label").collectAsList()) {
            ObjectNode run = node.has(r.getString(0)) ? (ObjectNode) node.get(r.getString(0)) : node.putObject(r.getString(0));
            ((ArrayNode) run.withArray("labels")).add(r.getInt(1));
            ((ArrayNode) run.withArray("n")).add(r.getLong(2));
            ((ArrayNode) run.withArray("accuracy")).add(r.getDouble(3));
            putDouble((ArrayNode) run.withArray("medianEps2"), r.getDouble(4));
        }
    }

    /**
     * The paper's stability-bound picture: per run with per-coordinate bounds, the examples nearest the
     * P25, P50 and P75 of eps_2 among those with bounds, with their bounds.
     */
    private static void bounds(SparkSession spark, ObjectNode out, ArrayNode notes, Inputs inputs,
            Map<String, JsonNode> configs) {
        ArrayNode node = out.putArray("bounds");
        List<Row> withBounds = spark.sql("SELECT series, percentile_approx(eps_l2, array(0.25, 0.5, 0.75), "
                + QUANTILE_ACCURACY + ") FROM report_examples WHERE dir_pos IS NOT NULL GROUP BY series ORDER BY series")
                .collectAsList();
        if (withBounds.isEmpty()) {
            notes.add("No per-pixel stability bounds in these runs: certify with certify.coordinateBounds=true to see the "
                    + "paper's stability-bound pictures.");
            return;
        }
        String[] names = {"P25", "P50", "P75"};
        for (Row r : withBounds) {
            List<Object> qs = r.getList(1);
            for (int i = 0; i < 3; i++) {
                String id = r.getString(0).replace("'", "''");
                Row e = spark.sql("SELECT example_id, label, pred, eps_l2, dir_pos, dir_neg FROM report_examples WHERE series = '"
                        + id + "' AND dir_pos IS NOT NULL ORDER BY abs(eps_l2 - " + qs.get(i) + "), example_id LIMIT 1").first();
                ObjectNode o = node.addObject();
                o.put("series", r.getString(0));
                o.put("quantile", names[i]);
                o.put("example_id", e.getLong(0));
                o.put("label", e.getInt(1));
                o.put("pred", e.getInt(2));
                o.put("eps_l2", e.getDouble(3));
                ArrayNode pos = o.putArray("pos");
                ArrayNode neg = o.putArray("neg");
                for (Object v : e.getList(4)) {
                    putDouble(pos, (Double) v);
                }
                for (Object v : e.getList(5)) {
                    putDouble(neg, (Double) v);
                }
                o.set("shape", shape(e.getList(4).size()));
            }
        }
        // the images themselves, read from the data the runs certified
        Map<String, List<ObjectNode>> bySeries = new LinkedHashMap<>();
        node.forEach(b -> bySeries.computeIfAbsent(b.get("series").asText(), k -> new ArrayList<>()).add((ObjectNode) b));
        int missing = 0;
        for (Map.Entry<String, List<ObjectNode>> e : bySeries.entrySet()) {
            long[] ids = e.getValue().stream().mapToLong(b -> b.get("example_id").asLong()).toArray();
            LabeledData d = configs.containsKey(e.getKey()) ? inputs.read(configs.get(e.getKey()), ids, 0) : null;
            for (ObjectNode b : e.getValue()) {
                float[] x = d == null ? null : row(d, b.get("example_id").asLong());
                if (x == null) {
                    missing++;
                    continue;
                }
                ArrayNode img = b.putArray("image");
                for (float v : x) {
                    img.add(v);
                }
            }
        }
        if (missing > 0) {
            notes.add(missing + " stability-bound picture(s) without their image: the data they were certified on could not "
                    + "be read from the run's recorded data settings.");
        }
    }

    /** The features of the example with this id, or null. */
    static float[] row(LabeledData d, long id) {
        for (int i = 0; i < d.size(); i++) {
            if (d.id(i) == id) {
                return d.features(new int[] {i}, 0, 1).data().asFloat();
            }
        }
        return null;
    }

    /** The recorded settings (provenance.config) of each series' certification run. */
    static Map<String, JsonNode> configs(ObjectNode out, Map<String, JsonNode> manifests) {
        Map<String, JsonNode> m = new TreeMap<>();
        for (JsonNode r : out.get("runs")) {
            JsonNode man = manifests.get("run_date=" + r.get("run_date").asText() + "/run_id=" + r.get("run_id").asText());
            if (man != null && man.path("provenance").path("config").isObject()) {
                m.put(r.get("series").asText(), man.path("provenance").path("config"));
            }
        }
        return m;
    }

    /**
     * The paper's Figure 1 for 2-D data: for each run on 2-D inputs whose model is under
     * {@code output.dir/models}, a {@link #MAP_SIDE} x {@link #MAP_SIDE} grid over the data, certified on the
     * executors (the pattern hash and prediction of every grid point), the decision boundary (grid cells
     * whose prediction differs from a neighbour's), sample points, and the largest certified l2 ball among
     * the run's examples.
     */
    private static void regions(SparkSession spark, ObjectNode out, ArrayNode notes, Inputs inputs,
            Map<String, JsonNode> configs, String outputDir) throws IOException {
        ArrayNode node = out.putArray("regions");
        for (JsonNode r : out.get("runs")) {
            String series = r.get("series").asText();
            JsonNode cfg = configs.get(series);
            if (cfg == null || !cfg.path(DataSpec.FORMAT.key()).asText().equals("synthetic2d")) {
                continue;
            }
            String model = RemoteFolders.join(outputDir, "models", r.get("model_id").asText());
            Network net;
            try {
                net = ModelIO.load(model, spark.sparkContext().hadoopConfiguration()).network();
            } catch (IOException e) {
                notes.add("No region map for " + series + ": its model " + model + " could not be read (" + e.getMessage() + ").");
                continue;
            }
            LabeledData points = inputs.read(cfg, null, MAP_POINTS);
            if (points == null || points.numFeatures() != 2 || net.inputSize() != 2) {
                notes.add("No region map for " + series + ": its 2-D examples could not be read.");
                continue;
            }
            float[] xy = points.allFeatures().data().asFloat();
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            for (float v : xy) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            double pad = 0.1 * (hi - lo);
            lo -= pad;
            hi += pad;
            Row ball = spark.sql("SELECT example_id, eps_l2 FROM report_examples WHERE series = '" + series.replace("'", "''")
                    + "' AND eps_l2 < double('Infinity') ORDER BY eps_l2 DESC, example_id LIMIT 1").first();
            ObjectNode o = node.addObject();
            o.put("series", series);
            o.put("model", model);
            o.put("lo", lo);
            o.put("hi", hi);
            o.put("side", MAP_SIDE);
            RegionMap map = RegionMap.compute(spark, net, lo, hi, MAP_SIDE);
            ArrayNode region = o.putArray("region");
            for (int v : map.region()) {
                region.add(v);
            }
            o.put("regions", map.regions());
            ArrayNode boundary = o.putArray("boundary");
            for (double[] b : map.boundary()) {
                boundary.addArray().add(b[0]).add(b[1]);
            }
            ArrayNode pts = o.putArray("points");
            for (int i = 0; i < points.size(); i++) {
                pts.addArray().add(xy[2 * i]).add(xy[2 * i + 1]).add(points.label(i));
            }
            LabeledData centre = inputs.read(cfg, new long[] {ball.getLong(0)}, 0);
            float[] c = centre == null ? null : row(centre, ball.getLong(0));
            if (c != null) {
                ObjectNode b = o.putObject("ball");
                b.put("example_id", ball.getLong(0));
                b.put("x", c[0]);
                b.put("y", c[1]);
                b.put("r", ball.getDouble(1));
            }
        }
    }

    /** An image shape for d coordinates: (h, w) of a square, or (c, h, w) of c square channels; else (1, d). */
    static ArrayNode shape(int d) {
        ArrayNode s = JSON.createArrayNode();
        for (int c : new int[] {1, 3}) {
            int side = (int) Math.round(Math.sqrt(d / (double) c));
            if (c * side * side == d) {
                if (c > 1) {
                    s.add(c);
                }
                return s.add(side).add(side);
            }
        }
        return s.add(1).add(d);
    }

    /** Histograms of the expected and maximum gradient distortion, for runs that measured them. */
    private static void gradients(SparkSession spark, ObjectNode out, ArrayNode notes) {
        ObjectNode node = out.putObject("gradients");
        Row range = spark.sql("SELECT max(grad_dist_mean), max(grad_dist_max) FROM report_examples").first();
        if (range.isNullAt(0)) {
            notes.add("No gradient-stability measurements: certify with certify.gradientExamples > 0 to add them.");
            return;
        }
        int bins = 40;
        for (int k = 0; k < 2; k++) {
            String c = k == 0 ? "grad_dist_mean" : "grad_dist_max";
            double hi = Math.max(range.getDouble(k), 1e-12);
            ObjectNode kind = node.putObject(k == 0 ? "mean" : "max");
            ArrayNode edges = kind.putArray("edges");
            for (int b = 0; b <= bins; b++) {
                edges.add(hi * b / bins);
            }
            ObjectNode runs = kind.putObject("runs");
            for (Row r : spark.sql("SELECT series, least(" + (bins - 1) + ", CAST(floor(" + c + " / " + hi + " * " + bins
                    + ") AS INT)) AS b, count(*) FROM report_examples WHERE " + c + " IS NOT NULL GROUP BY series, b "
                    + "ORDER BY series, b").collectAsList()) {
                ArrayNode counts = runs.has(r.getString(0)) ? (ArrayNode) runs.get(r.getString(0)) : runs.putArray(r.getString(0));
                while (counts.size() < bins) {
                    counts.add(0);
                }
                counts.set(r.getInt(1), counts.get(r.getInt(1)).asLong() + r.getLong(2));
            }
        }
    }

    /**
     * Scheduled evaluation: per model certified on several dates, accuracy, median eps_2 and certified
     * accuracy at the configured l2 radii over run_date, with the dates whose figures moved by more than
     * the threshold (relative to the date before) marked.
     */
    private static void schedule(ObjectNode out, List<Row> runs, double threshold) {
        Map<String, List<Row>> byModel = new TreeMap<>();
        for (Row r : runs) {
            byModel.computeIfAbsent(r.getAs("model_id") + " on " + r.getAs("dataset") + " (" + r.getAs("split") + ")",
                    k -> new ArrayList<>()).add(r);
        }
        ArrayNode node = out.putArray("schedule");
        for (Map.Entry<String, List<Row>> m : byModel.entrySet()) {
            List<Row> rs = m.getValue();
            if (rs.stream().map(r -> String.valueOf(r.<Object>getAs("run_date"))).distinct().count() < 2) {
                continue;
            }
            ObjectNode o = node.addObject();
            o.put("model", m.getKey());
            ArrayNode dates = o.putArray("dates");
            ArrayNode runIds = o.putArray("run_ids");
            ObjectNode series = o.putObject("series");
            List<Object> radii = rs.get(rs.size() - 1).getList(rs.get(rs.size() - 1).fieldIndex("cert_radii_l2"));
            for (Row r : rs) {
                dates.add(String.valueOf(r.<Object>getAs("run_date")));
                runIds.add(r.<String>getAs("run_id"));
                ((ArrayNode) series.withArray("accuracy")).add(r.<Double>getAs("accuracy"));
                putDouble((ArrayNode) series.withArray("median eps_2"), r.getAs("eps_l2_p50"));
                List<Object> acc = r.isNullAt(r.fieldIndex("cert_acc_l2")) ? null : r.getList(r.fieldIndex("cert_acc_l2"));
                List<Object> rr = r.getList(r.fieldIndex("cert_radii_l2"));
                for (Object radius : radii) {
                    int at = rr.indexOf(radius);
                    putDouble((ArrayNode) series.withArray("certified accuracy, l2 radius " + radius),
                            at < 0 || acc == null ? null : (Double) acc.get(at));
                }
            }
            ArrayNode drift = o.putArray("drift");
            series.fields().forEachRemaining(f -> {
                for (int i = 1; i < f.getValue().size(); i++) {
                    JsonNode a = f.getValue().get(i - 1);
                    JsonNode b = f.getValue().get(i);
                    if (a.isNumber() && b.isNumber() && moved(a.asDouble(), b.asDouble(), threshold)) {
                        ObjectNode d = drift.addObject();
                        d.put("series", f.getKey());
                        d.put("index", i);
                        d.put("date", dates.get(i).asText());
                        d.put("from", a.asDouble());
                        d.put("to", b.asDouble());
                    }
                }
            });
        }
    }

    /** Whether a figure moved from a to b by more than the threshold, relative to a. */
    static boolean moved(double a, double b, double threshold) {
        return Math.abs(b - a) > threshold * Math.max(Math.abs(a), 1e-12);
    }

    /** Training curves: per run, its epoch rows. */
    private static void training(ObjectNode out, Dataset<Row> training) {
        ObjectNode node = out.putObject("training");
        for (Row r : training.where("round IS NULL").orderBy("run_id", "epoch").collectAsList()) {
            ObjectNode run = node.has(r.<String>getAs("run_id")) ? (ObjectNode) node.get(r.<String>getAs("run_id"))
                    : node.putObject(r.<String>getAs("run_id"));
            ((ArrayNode) run.withArray("epoch")).add(r.<Integer>getAs("epoch"));
            for (String c : new String[] {"train_loss", "train_roll_term", "val_accuracy", "val_eps_l2_p50"}) {
                putDouble((ArrayNode) run.withArray(c), r.getAs(c));
            }
        }
    }

    /** Sweeps: each sweep's points with their swept settings, validation and test figures, and the picks. */
    private static void sweeps(ObjectNode out, Dataset<Row> sweeps) {
        ArrayNode node = out.putArray("sweeps");
        List<String> setCols = new ArrayList<>();
        for (String c : sweeps.columns()) {
            if (c.startsWith("set_")) {
                setCols.add(c);
            }
        }
        Map<String, ObjectNode> byRun = new TreeMap<>();
        for (Row r : sweeps.orderBy("run_id", "point_id").collectAsList()) {
            String run = r.getAs("run_id");
            ObjectNode s = byRun.computeIfAbsent(run, k -> {
                ObjectNode o = JSON.createObjectNode();
                o.put("run_id", k);
                o.putArray("keys");
                o.putArray("points");
                return o;
            });
            ObjectNode p = ((ArrayNode) s.get("points")).addObject();
            p.put("point_id", r.<String>getAs("point_id"));
            p.put("status", r.<String>getAs("status"));
            p.put("loss_type", r.<String>getAs("loss_type"));
            p.put("selected", r.<String>getAs("selected"));
            for (String c : new String[] {"val_accuracy", "val_eps_l2_p50", "test_accuracy", "test_eps_l2_p50"}) {
                putDouble(p, c, List.of(sweeps.columns()).contains(c) ? r.getAs(c) : null);
            }
            ObjectNode set = p.putObject("settings");
            for (String c : setCols) {
                Object v = r.getAs(c);
                if (v != null) {
                    set.put(key(c), v.toString());
                    ArrayNode keys = (ArrayNode) s.get("keys");
                    if (!contains(keys, key(c))) {
                        keys.add(key(c));
                    }
                }
            }
        }
        byRun.values().forEach(node::add);
    }

    /** The setting key of a sweep column ({@code set_loss_c} is loss.c). */
    private static String key(String column) {
        String k = column.substring("set_".length());
        int dot = k.indexOf('_');
        return dot < 0 ? k : k.substring(0, dot) + "." + k.substring(dot + 1);
    }

    private static boolean contains(ArrayNode a, String v) {
        for (JsonNode n : a) {
            if (n.asText().equals(v)) {
                return true;
            }
        }
        return false;
    }

    private static void putDouble(ObjectNode o, String k, Object v) {
        if (v instanceof Double d && Double.isFinite(d)) {
            o.put(k, d);
        } else {
            o.putNull(k);
        }
    }

    private static void putDouble(ArrayNode a, Object v) {
        if (v instanceof Double d && Double.isFinite(d)) {
            a.add(d);
        } else {
            a.addNull();
        }
    }
}
