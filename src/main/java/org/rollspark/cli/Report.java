package org.rollspark.cli;

import static org.rollspark.config.Setting.Type.DOUBLE;
import static org.rollspark.config.Setting.finiteAtLeast;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.rollspark.config.Setting;
import org.rollspark.data.DataSpec;
import org.rollspark.data.LabeledData;
import org.rollspark.report.ReportData;
import org.rollspark.report.ReportPage;
import org.rollspark.spark.CertificationJob;
import org.rollspark.spark.DataPipeline;
import org.rollspark.spark.SparkTrainConfig;
import org.rollspark.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** The report command: one self-contained HTML file from the tables under output.dir. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Write one self-contained HTML report (charts inline, opens offline) from the certification, "
                + "training and sweep tables under output.dir.")
final class Report implements Callable<Integer> {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<Double> DRIFT_THRESHOLD = SETTINGS.add(Setting.of("report.driftThreshold", DOUBLE, 0.05,
            "The report's scheduled-evaluation charts mark a run date whose accuracy, median eps_2 or certified accuracy "
                    + "moved by more than this fraction of the date before's value.", finiteAtLeast(0)).main());

    @CommandLine.Mixin
    Main.JobOptions options = new Main.JobOptions();
    @Option(names = "--runs", split = ",", paramLabel = "ID",
            description = "Run ids to show (a job's id also selects its runs ID-...); default: all.")
    List<String> runs = new ArrayList<>();
    @Option(names = "--since", paramLabel = "DATE", description = "Only runs on or after this run date (2026-11-24).")
    String since;
    @Option(names = "--out", paramLabel = "FILE", description = "The HTML file; default: output.dir/report.html (local).")
    Path out;
    @Option(names = "--force", description = "Replace an existing output file.")
    boolean force;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        JobConfig cfg = options.load();
        if (since != null) {
            try {
                java.time.LocalDate.parse(since);
            } catch (java.time.format.DateTimeParseException e) {
                throw new IllegalArgumentException("--since " + since + " is not a date like 2026-11-24");
            }
        }
        Path file = out != null ? out : defaultPath(cfg, "report.html");
        Main.mayWrite(file, force);
        SparkConf conf = new SparkConf().setAppName("roll report");
        if (!conf.contains("spark.master")) {
            conf.setMaster(cfg.get(SparkTrainConfig.MASTER));
        }
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        try {
            write(spark, cfg, new ReportData.Selection(runs, since), file, force, o);
        } finally {
            spark.stop();
        }
        return 0;
    }

    /**
     * Reads a certification run's test examples as its recorded settings say (its data settings, seed and
     * partitions over today's defaults), on the executors; only the examples asked for come to the driver.
     * Null when they cannot be read (moved data, settings of another version, a validation split).
     */
    static ReportData.Inputs inputs(SparkSession spark) {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        return (config, ids, limit) -> {
            try {
                if (!config.path(CertificationJob.SPLIT.key()).asText("test").equals("test")) {
                    return null;
                }
                JobConfig base = JobConfig.load(null, List.of());
                Map<String, Object> known = base.toMap();
                Map<String, Object> recorded = new TreeMap<>();
                config.fields().forEachRemaining(f -> {
                    String k = f.getKey();
                    if ((k.startsWith("data.") || k.equals(CertificationJob.PARTITIONS.key())) && known.containsKey(k)) {
                        recorded.put(k, json.convertValue(f.getValue(), Object.class));
                    }
                });
                if (!recorded.containsKey(DataSpec.SEED.key()) && config.path(TrainConfig.SEED.key()).isIntegralNumber()) {
                    recorded.put(DataSpec.SEED.key(), config.path(TrainConfig.SEED.key()).asLong()); // recorded before data.seed existed
                }
                JobConfig cfg = base.with(recorded);
                List<String> classes = org.rollspark.Provenance.classNames(config);
                DataPipeline.Request r = new DataPipeline.Request(cfg.dataSpec(classes), null, cfg.dataLocation(false), 0,
                        cfg.get(DataSpec.TEST_LIMIT), 0, false, cfg.dataSeed(), cfg.get(DataPipeline.SEQUENTIAL), 1,
                        cfg.get(CertificationJob.PARTITIONS), 0);
                DataPipeline.Loaded loaded = DataPipeline.load(JavaSparkContext.fromSparkContext(spark.sparkContext()), r);
                try {
                    JavaRDD<LabeledData> shards = loaded.test().shards();
                    List<LabeledData> got;
                    if (ids == null) {
                        got = shards.map(d -> d.head(Math.min(limit, d.size()))).collect();
                    } else {
                        java.util.Set<Long> want = new java.util.HashSet<>();
                        for (long id : ids) {
                            want.add(id);
                        }
                        got = shards.map(d -> {
                            int[] at = java.util.stream.IntStream.range(0, d.size()).filter(i -> want.contains(d.id(i))).toArray();
                            return d.subset(d.name(), at);
                        }).filter(d -> d.size() > 0).collect();
                    }
                    LabeledData all = LabeledData.concat("report", got, loaded.test().shape(), loaded.test().numClasses());
                    return ids == null ? all.head(Math.min(limit, all.size())) : all;
                } finally {
                    loaded.unpersist();
                }
            } catch (IOException | RuntimeException e) {
                return null;
            }
        };
    }

    /** output.dir/NAME when output.dir is on the local disk, else ./NAME (the page is for people, not the cluster). */
    static Path defaultPath(JobConfig cfg, String name) {
        java.net.URI dir = new org.apache.hadoop.fs.Path(cfg.get(Main.OUTPUT_DIR)).toUri();
        return dir.getScheme() == null || dir.getScheme().equals("file") ? Path.of(dir.getPath(), name) : Path.of(name);
    }

    /** Builds and writes the report for the selection; prints where it went. */
    static void write(SparkSession spark, JobConfig cfg, ReportData.Selection sel, Path file, boolean force, PrintWriter o)
            throws IOException {
        long t0 = System.nanoTime();
        spark.sparkContext().setJobDescription("roll report: " + sel.runs());
        var data = ReportData.build(spark, cfg.get(Main.OUTPUT_DIR), sel, cfg.get(Report.DRIFT_THRESHOLD),
                inputs(spark));
        ReportPage.write(ReportPage.html(data, java.time.Instant.now().toString()), file, force);
        o.printf(Locale.ROOT, "report of %d run(s) written to %s (%.1f s)%n", data.path("runs").size(),
                file.toAbsolutePath(), (System.nanoTime() - t0) / 1e9);
    }
}
