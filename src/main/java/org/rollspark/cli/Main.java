package org.rollspark.cli;

import static org.rollspark.config.Setting.Type.STRING;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.rollspark.Provenance;
import org.rollspark.blas.KernelCheck;
import org.rollspark.blas.KernelChoice;
import org.rollspark.config.Setting;
import org.rollspark.data.DataSpec;
import org.rollspark.data.LabeledData;
import org.rollspark.loss.RollLoss;
import org.rollspark.model.ModelIO;
import org.rollspark.model.RemoteFolders;
import org.rollspark.net.Network;
import org.rollspark.net.Normalization;
import org.rollspark.region.Norm;
import org.rollspark.region.RegionCertifier;
import org.rollspark.spark.CertificationJob;
import org.rollspark.spark.DataPipeline;
import org.rollspark.spark.ParameterAveragingTrainer;
import org.rollspark.spark.ShardedData;
import org.rollspark.spark.SparkTrainConfig;
import org.rollspark.spark.TrainingLog;
import org.rollspark.train.TrainConfig;
import org.rollspark.train.TrainingHistory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/**
 * Command-line entry points, for {@code spark-submit} (main class of the shaded jar) or a plain JVM
 * (Spark local mode). Exit codes: 0 success, 2 usage or setting error, 3 input error (a file that
 * cannot be read or is malformed), 1 any other failure.
 */
@Command(name = "roll", mixinStandardHelpOptions = true, version = Provenance.VERSION,
        description = "Train piecewise-linear networks with the ROLL loss on Spark and certify their linear regions.",
        subcommands = {Main.Compare.class, Main.Train.class, Main.Certify.class, Sweep.class, Report.class, Export.class})
public final class Main implements Callable<Integer> {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<String> OUTPUT_DIR = SETTINGS.add(Setting.of("output.dir", STRING, "runs",
            "Root folder (any Hadoop file system path for the certification tables): models/<run_id>, "
                    + "checkpoints/<run_id>, certification/{examples,summary,runs}/run_date=.../run_id=...").main());
    public static final Setting<String> OUTPUT_RUN_ID = SETTINGS.add(Setting.of("output.runId", STRING, "",
            "Empty: a new id from the time and a random suffix. A rerun with the same runId and settings resumes "
                    + "training from its newest complete checkpoint; with train.epochs raised it continues a finished run.",
            v -> {
                if (!v.isEmpty() && !v.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")) {
                    throw new IllegalArgumentException("must be letters, digits, '_', '.' or '-' (at most 128)");
                }
            }).main());
    public static final Setting<String> OUTPUT_RUN_DATE = SETTINGS.add(Setting.of("output.runDate", STRING, "",
            "The run's date in the certification tables (empty: today, UTC).", v -> {
                if (!v.isEmpty()) {
                    try {
                        java.time.LocalDate.parse(v);
                    } catch (java.time.format.DateTimeParseException e) {
                        throw new IllegalArgumentException("is not a date like 2026-11-24");
                    }
                }
            }).main());
    public static final Setting<String> OUTPUT_CHECKPOINT_DIR = SETTINGS.add(Setting.of("output.checkpointDir", STRING, "",
            "Where resumable checkpoints go (any Hadoop path; <dir>/<run_id>[-name]); empty: output.dir/checkpoints.")
            .main());

    public static final int USAGE = 2;
    public static final int INPUT = 3;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line and returns its exit code (for tests and embedding). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            int code = exitCode(e);
            Throwable t = cause(e);
            String blas = blasFailure(e);
            if (blas != null) {
                err.println("roll: " + blas);
                return 1;
            }
            if (code == INPUT) {
                err.println("roll: input error: " + t.getMessage());
            } else if (code == USAGE) {
                err.println("roll: " + t.getMessage());
            } else {
                err.println("roll: failed: " + e);
                e.printStackTrace(err);
            }
            return code;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() {
        CommandLine.usage(this, System.out);
        return USAGE;
    }

    /**
     * The driver's BLAS check, before any computation ({@link KernelCheck}): the self-test, and the core type
     * {@code blas.coreType} forces, which OpenBLAS must already run (it reads OPENBLAS_CORETYPE once, when it loads).
     */
    static void checkBlas(JobConfig cfg) {
        org.rollspark.blas.OpenBlas.Info info = KernelCheck.ensure(() -> "driver");
        String forced = cfg.get(KernelChoice.CORE_TYPE);
        if (!forced.equals("auto") && !org.rollspark.blas.CoreTypes.canonical(forced).equalsIgnoreCase(info.coreType())) {
            throw new KernelCheck.KernelException(KernelChoice.CORE_TYPE.key() + "=" + forced + ", but this JVM runs "
                    + "OpenBLAS's " + info.coreType() + " kernels (" + KernelCheck.VARIABLE + "="
                    + (KernelCheck.requested().isEmpty() ? "unset" : KernelCheck.requested()) + "): OpenBLAS reads "
                    + KernelCheck.VARIABLE + " once, when it loads. Launch through run-cluster.sh, which sets it, or set "
                    + KernelCheck.VARIABLE + "=" + forced + " (and spark.executorEnv." + KernelCheck.VARIABLE + ") yourself");
        }
    }

    /** The message of a BLAS check that failed anywhere (the driver, or an executor: inside Spark's), or null. */
    /** output.runId, or a new id from the time and a random suffix after {@code prefix}. */
    static String runId(JobConfig cfg, String prefix) {
        String set = cfg.get(OUTPUT_RUN_ID);
        return !set.isEmpty() ? set : prefix + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))
                + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
    }

    static String blasFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof KernelCheck.KernelException) {
                return t.getMessage();
            }
            String m = t.getMessage();
            String marker = KernelCheck.KernelException.class.getName() + ": ";
            int at = m == null ? -1 : m.indexOf(marker);
            if (at >= 0) {
                String rest = m.substring(at + marker.length());
                int trace = rest.indexOf("\n\tat ");
                return trace < 0 ? rest : rest.substring(0, trace);
            }
        }
        return null;
    }

    /** Refuses to replace an existing output file unless --force was given (a setting error: exit 2). */
    static void mayWrite(java.nio.file.Path file, boolean force) {
        if (java.nio.file.Files.exists(file) && !force) {
            throw new IllegalArgumentException(file + " exists; pass --force to replace it");
        }
    }

    /** The first input error (IOException) or setting error (IllegalArgumentException) in a cause chain, else e. */
    static Throwable cause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && !(t instanceof IOException) && !(t instanceof IllegalArgumentException)) {
            t = t.getCause();
        }
        return t;
    }

    /** The exit code of a failure: {@link #INPUT} for input errors, {@link #USAGE} for setting errors, 1 otherwise. */
    static int exitCode(Throwable e) {
        Throwable t = cause(e);
        return t instanceof IOException ? INPUT : t instanceof IllegalArgumentException ? USAGE : 1;
    }

    /** Options every job takes. */
    static class JobOptions {
        @Option(names = {"-c", "--config"}, description = "HOCON job file (see conf/); overrides reference.conf.")
        Path file;
        @Option(names = "--dry-run", description = "Validate the settings and inputs, print the resolved settings, run nothing.")
        boolean dryRun;
        @Parameters(paramLabel = "KEY=VALUE", description = "Settings overriding the file, e.g. train.epochs=3 loss.lambda=1.")
        List<String> overrides = new ArrayList<>();

        JobConfig load() {
            return JobConfig.load(file, overrides);
        }
    }

    /** Spark's setting for how often Java serialization streams forget the objects they wrote. */
    static final String STREAM_RESET = "spark.serializer.objectStreamReset";

    abstract static class Job implements Callable<Integer> {
        @CommandLine.Mixin
        JobOptions options = new JobOptions();
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        PrintWriter out;
        String runId;
        Map<String, Object> tables; // what the job's tables were read from (empty for files)
        Dataset<Row> trainFrame; // a Spark program's training rows (fit), or null
        java.util.Set<Long> heldIds; // the ids of its rows marked for validation, or null

        @Override
        public Integer call() throws Exception {
            out = spec.commandLine().getOut();
            JobConfig cfg = options.load();
            runId = runId(cfg, "");
            checkSettings(cfg);
            checkBlas(cfg);
            SparkConf conf = new SparkConf().setAppName("roll " + spec.name() + " " + runId);
            if (!conf.contains("spark.master")) {
                conf.setMaster(cfg.get(SparkTrainConfig.MASTER));
            }
            if (!conf.contains(STREAM_RESET)) {
                // Java serialization keeps every object a stream wrote referenced until it resets (every 100 by
                // default): the shuffle that cuts a table's partition of many chunks into shards writes one stream
                // per shard, and 100 pieces held per stream exhausted a 512 MB executor on 1M rows. Each of our
                // records is large, so resetting after each costs nothing measurable
                conf.set(STREAM_RESET, "1");
            }
            SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
            Data data = null;
            try {
                data = loadData(cfg, spark);
                checkInputs(cfg, data);
                log("resolved settings:\n" + cfg.render());
                if (options.dryRun) {
                    log("dry run: settings and inputs are valid; nothing was run");
                    return 0;
                }
                return run(cfg, spark, data);
            } catch (Exception e) {
                if (!options.dryRun) {
                    recordFailure(cfg, spark, e);
                }
                throw e;
            } finally {
                if (data != null) {
                    data.splits().unpersist();
                }
                spark.stop();
            }
        }

        void log(String message) {
            out.println("[roll " + runId + "] " + message);
        }

        /** Jobs that write a run of the certification tables record its failure there (certify). */
        void recordFailure(JobConfig cfg, SparkSession spark, Exception e) {
        }

        /** The splits, living on the executors, and the input normalisation the network gets. */
        record Data(DataPipeline.Loaded splits, Normalization normalization) {
            ShardedData train() {
                return splits.train();
            }

            ShardedData validation() {
                return splits.validation();
            }

            ShardedData test() {
                return splits.test();
            }
        }

        /** Checks what needs no data (before Spark starts). */
        void checkSettings(JobConfig cfg) throws IOException {
            cfg.loss();
        }

        /** Whether the job trains (reads the training location) and certifies (reads the test location). */
        boolean needsTrain() {
            return true;
        }

        /** Class names fixed before reading (a saved model's), or null. */
        List<String> classNames() {
            return null;
        }

        /** Sequence steps the test data is padded to when it is not read with the training data (0: its own). */
        int testSteps() {
            return 0;
        }

        /** Train split, validation split and test set per the settings, read and sharded on the executors. */
        Data loadData(JobConfig cfg, SparkSession spark) throws IOException {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            boolean train = needsTrain();
            DataPipeline.Request r = new DataPipeline.Request(cfg.dataSpec(classNames()), train ? cfg.dataLocation(true) : null,
                    trainFrame != null ? null : cfg.dataLocation(false), cfg.get(DataSpec.TRAIN_LIMIT), cfg.get(DataSpec.TEST_LIMIT),
                    cfg.get(DataPipeline.VALIDATION), cfg.get(DataPipeline.STRATIFIED), cfg.dataSeed(), cfg.get(DataPipeline.SEQUENTIAL),
                    cfg.get(SparkTrainConfig.NUM_WORKERS), cfg.get(CertificationJob.PARTITIONS), testSteps());
            DataPipeline.Loaded splits = DataPipeline.load(sc, r, trainFrame, null, heldIds);
            tables = splits.tables();
            Normalization norm = cfg.normalization();
            if (train && !cfg.get(DataPipeline.NORMALIZE).equals("config")) {
                norm = DataPipeline.statistics(splits.train(), cfg.get(DataPipeline.NORMALIZE));
            }
            if (train) {
                log(String.format(Locale.ROOT, "data: %s, %d train / %d validation / %d test examples of shape %s, %d classes%s",
                        cfg.get(DataSpec.FORMAT), splits.train().size(), splits.validation().size(),
                        splits.test() == null ? 0 : splits.test().size(),
                        java.util.Arrays.toString(splits.train().shape()), splits.train().numClasses(),
                        splits.train().hasLengths() ? " (padded sequences with lengths)" : ""));
            }
            return new Data(splits, norm);
        }

        /** Validates what the job will build from the settings and data; the default builds the network. */
        void checkInputs(JobConfig cfg, Data data) throws IOException {
            Network net = cfg.network(data.train().numFeatures(), data.train().numClasses(), data.normalization());
            checkShape(net, data.train());
            if (data.test().numFeatures() != net.inputSize()) {
                throw new IOException(cfg.dataLocation(false).data() + ": test examples have " + data.test().numFeatures()
                        + " features, the training data " + net.inputSize());
            }
        }

        /** The most validation examples {@link #probeSize} gives. */
        static final int PROBE_MAX = 256;

        /**
         * Validation examples certified after every epoch for the median margin: 256, fewer for nets
         * whose Jacobians are costly (a budget of 2.4e8 neuron-coordinate pairs, at least 64).
         */
        static int probeSize(Network net) {
            double pairs = (double) net.numNeurons() * net.inputSize();
            return (int) Math.max(64, Math.min(PROBE_MAX, 2.4e8 / pairs));
        }

        /** Padded sequences need a recurrent graph net whose input shape is the data's (steps, features). */
        static void checkShape(Network net, ShardedData data) {
            if (!data.hasLengths()) {
                return;
            }
            if (!java.util.Arrays.equals(net.inputShape(), data.shape())) {
                throw new IllegalArgumentException("the data are padded sequences of shape " + java.util.Arrays.toString(data.shape())
                        + " (steps, features); set net.type = graph with net.inputShape = " + java.util.Arrays.toString(data.shape())
                        + " and a recurrent layer");
            }
        }

        abstract int run(JobConfig cfg, SparkSession spark, Data data) throws Exception;

        /** A trained model: the network (best epoch), its history (with the training time), and where it was saved. */
        record Trained(Network net, TrainingHistory history, String model) {}

        /** Trains one model with parameter averaging; saves it under output.dir/models/ID. */
        Trained train(JobConfig cfg, SparkSession spark, Data data, String name) throws IOException {
            Network net = cfg.network(data.train().numFeatures(), data.train().numClasses(), data.normalization());
            String id = runId + (name.isEmpty() ? "" : "-" + name);
            String ckpt = cfg.get(OUTPUT_CHECKPOINT_DIR);
            var sc = cfg.sparkTrainConfig(RemoteFolders.join(ckpt.isEmpty()
                    ? RemoteFolders.join(cfg.get(OUTPUT_DIR), "checkpoints") : ckpt, id));
            Map<String, Object> prov = provenance(cfg, net, data);
            LabeledData probe = data.validation().sample(probeSize(net));
            int[] probeLengths = probe.lengths(LabeledData.identity(probe.size()), 0, probe.size());
            log(String.format(Locale.ROOT, "training %s: %s, %d train / %d validation examples, %d workers x batch %d, "
                    + "averaging every %d minibatches", name.isEmpty() ? "model" : name, net.describe(),
                    data.train().size(), data.validation().size(), sc.numWorkers(), sc.batchSizePerWorker(), sc.averagingFrequency()));
            String metrics = RemoteFolders.join(cfg.get(OUTPUT_DIR), "training");
            TrainingLog metricsLog = new TrainingLog(cfg.get(TrainingLog.METRICS_EVERY_ROUNDS),
                    TrainingLog.read(spark, metrics, id))
                    .measuring(s -> new RegionCertifier(net).certify(probe.allFeatures(), probeLengths).quantile(Norm.L2, 0.5));
            metricsLog.onRow(e -> {
                if (e.round() == null) {
                    log(epochLine(name, e, cfg.get(TrainConfig.EPOCHS)));
                }
                writeMetrics(cfg, spark, metrics, id, metricsLog, prov, data);
            });
            TrainingHistory h = new ParameterAveragingTrainer(JavaSparkContext.fromSparkContext(spark.sparkContext()), sc,
                    this::log, prov).rounds(cfg.get(ParameterAveragingTrainer.ROUNDS)).fit(net, data.train(), data.validation(), metricsLog);
            log(name + " kept epoch " + h.bestEpoch() + " (lowest validation loss, lambda * ROLL term included)");
            String model = save(cfg, spark, data, net, id, prov);
            return new Trained(net, h, model);
        }

        /** An epoch's losses, accuracies, probe margin and speed, as the training log shows them. */
        static String epochLine(String name, TrainingLog.Entry e, int epochs) {
            return String.format(Locale.ROOT, "%s epoch %d/%d: loss %.4f (CE %.4f, ROLL term %.4f), train acc %.3f%s%s, "
                    + "%.0f ex/s", name, e.epoch(), epochs, e.trainLoss(), e.trainCrossEntropy(), e.trainRollTerm(),
                    e.trainAccuracy(), e.valLoss() == null ? ""
                            : String.format(Locale.ROOT, ", val loss %.4f, val acc %.3f", e.valLoss(), e.valAccuracy()),
                    e.valEps2() == null ? "" : String.format(Locale.ROOT, ", val median eps_2 %.2e", e.valEps2()),
                    e.examplesPerSecond());
        }

        /** Replaces the run's partition of the training-metrics table with the log's rows. */
        void writeMetrics(JobConfig cfg, SparkSession spark, String root, String id, TrainingLog metricsLog,
                Map<String, Object> prov, Data data) {
            try {
                TrainingLog.write(spark, root, cfg.runDate(), id, metricsLog.entries(), prov, data.train().fingerprint());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(root + ": could not write the training metrics of " + id, e);
            }
        }

        /** The settings as provenance records them, with what the job's tables were read from. */
        org.rollspark.Provenance.Settings settings(JobConfig cfg) {
            org.rollspark.Provenance.Settings s = cfg.provenance();
            if (tables != null && !tables.isEmpty()) {
                s.put(Provenance.TABLES, tables);
            }
            return s;
        }

        /** What a model trained with {@code cfg} records as its configuration: the settings, architecture and classes. */
        static Map<String, Object> provenance(JobConfig cfg, Network net, Data data) {
            Map<String, Object> prov = cfg.provenance();
            prov.put("net.architecture", net.architecture().toString());
            if (data.splits().classNames() != null) {
                prov.put(Provenance.CLASS_NAMES, data.splits().classNames());
            }
            if (!data.splits().tables().isEmpty()) {
                prov.put(Provenance.TABLES, data.splits().tables());
            }
            return prov;
        }

        /** Saves a trained model as output.dir/models/ID with its provenance; returns the folder. */
        String save(JobConfig cfg, SparkSession spark, Data data, Network net, String id, Map<String, Object> prov)
                throws IOException {
            String model = RemoteFolders.join(cfg.get(OUTPUT_DIR), "models", id);
            ModelIO.save(net, model, spark.sparkContext().hadoopConfiguration(),
                    Provenance.record(prov, cfg.seed(), data.train().fingerprint()));
            log("model saved to " + model);
            return model;
        }

        Row certify(JobConfig cfg, SparkSession spark, Network net, String modelId, ShardedData test, String name)
                throws IOException {
            return certify(cfg, spark, net, modelId, test, name, cfg.dataLocation(false).data());
        }

        /** Certifies {@code test} into the certification tables, recording {@code dataset} as where it came from. */
        Row certify(JobConfig cfg, SparkSession spark, Network net, String modelId, ShardedData test, String name,
                String dataset) throws IOException {
            String id = runId + (name.isEmpty() ? "" : "-" + name);
            CertificationJob.Result r = CertificationJob.run(spark, net, modelId, test, dataset,
                    cfg.get(CertificationJob.SPLIT), RemoteFolders.join(cfg.get(OUTPUT_DIR), "certification"),
                    cfg.runDate(), id, settings(cfg), cfg.radii(), cfg.certifyOptions());
            log(String.format(Locale.ROOT, "certified %d examples of %s into %s (summary %s, manifest %s)", r.rows(),
                    test.name(), r.examplesPath(), r.summaryPath(), r.manifestPath()));
            Row s = r.summary();
            log(String.format(Locale.ROOT, "soundness: %d certificates re-verified in float64 with %d sampled points: "
                    + "%d violations", s.getLong(s.fieldIndex("soundness_examples")), s.getLong(s.fieldIndex("soundness_points")),
                    s.getLong(s.fieldIndex("soundness_violations"))));
            return r.summary();
        }
    }

    @Command(name = "compare", mixinStandardHelpOptions = true,
            description = "The main job: train a vanilla and a ROLL model with the same data and seed on Spark, certify "
                    + "both into Parquet, and print them side by side.")
    static final class Compare extends Job {
        @Override
        void checkSettings(JobConfig cfg) throws IOException {
            super.checkSettings(cfg);
            requireL2(cfg, "compare");
        }

        @Override
        int run(JobConfig cfg, SparkSession spark, Data data) throws IOException {
            Row[] summary = new Row[2];
            String[] names = {"vanilla", "roll"};
            for (int m = 0; m < 2; m++) {
                JobConfig c = m == 0 ? cfg.with(Map.of(RollLoss.TYPE.key(), "vanilla")) : cfg.with(Map.of(RollLoss.TYPE.key(), "roll"));
                Network net = train(c, spark, data, names[m]).net();
                summary[m] = certify(c, spark, net, runId + "-" + names[m], data.test(), names[m]);
            }
            out.println();
            out.printf(Locale.ROOT, "%s: %d examples; margins in raw input units x 1e-4, P25 / P50 / P75 / P100%n",
                    data.test().name(), summary[0].getLong(summary[0].fieldIndex("n")));
            out.printf(Locale.ROOT, "%-8s %7s %9s  %-30s %-30s%n", "model", "acc", "#regions", "eps_1", "eps_2");
            for (int m = 0; m < 2; m++) {
                out.printf(Locale.ROOT, "%-8s %6.2f%% %9d  %-30s %-30s%n", names[m],
                        100 * summary[m].getDouble(summary[m].fieldIndex("accuracy")),
                        summary[m].getLong(summary[m].fieldIndex("distinct_patterns")), quartiles(summary[m], "l1"),
                        quartiles(summary[m], "l2"));
            }
            double ratio = summary[1].getDouble(summary[1].fieldIndex("eps_l2_p50"))
                    / summary[0].getDouble(summary[0].fieldIndex("eps_l2_p50"));
            out.printf(Locale.ROOT, "median l2 margin, ROLL / vanilla: %.1fx%n", ratio);
            Report.write(spark, cfg, new org.rollspark.report.ReportData.Selection(List.of(runId), null),
                    Report.defaultPath(cfg, "reports/" + runId + ".html"), true, out);
            return 0;
        }
    }

    /** A summary's margin quartiles of norm p in units of 1e-4 ("-" for a norm not certified). */
    static String quartiles(Row s, String p) {
        StringBuilder b = new StringBuilder();
        for (String q : new String[] {"p25", "p50", "p75", "p100"}) {
            int at = s.fieldIndex("eps_" + p + "_" + q);
            b.append(b.length() > 0 ? " / " : "").append(s.isNullAt(at) ? "-"
                    : String.format(Locale.ROOT, "%.0f", 1e4 * s.getDouble(at)));
        }
        return b.toString();
    }

    /** Jobs that compare models by their median l2 margin need l2 among the certified norms. */
    static void requireL2(JobConfig cfg, String job) {
        if (!CertificationJob.norms(cfg.get(CertificationJob.NORMS)).contains(Norm.L2)) {
            throw new IllegalArgumentException(CertificationJob.NORMS + " must include l2 for " + job
                    + ": it compares models by their median l2 margin");
        }
    }

    /** A model trained for a Spark program: the network (best epoch), where it was saved, and its provenance. */
    public record Fitted(Network net, String model, JsonNode provenance, List<String> classNames) {}

    /**
     * Trains one model on a Spark program's DataFrame exactly as {@code train} trains on a table (the same data
     * pipeline, trainer and model folder): for {@code org.rollspark.ml.RollClassifier}. The session keeps running.
     *
     * @param settings job-file settings as KEY=VALUE, the table's columns among them (data.format = table)
     * @param rows     the training rows (validation rows are held out of them as data.validation says)
     * @param heldIds  the ids of the rows to hold out for validation instead (data.validation of them), or null
     * @param log      receives the training log
     */
    public static Fitted fit(SparkSession spark, List<String> settings, Dataset<Row> rows, java.util.Set<Long> heldIds,
            PrintWriter log) throws IOException {
        Train job = new Train();
        job.out = log;
        JobConfig cfg = JobConfig.load(null, settings);
        job.runId = runId(cfg, "fit-");
        job.checkSettings(cfg);
        checkBlas(cfg);
        job.trainFrame = rows;
        job.heldIds = heldIds;
        Job.Data data = job.loadData(cfg, spark);
        try {
            Job.Trained t = job.train(cfg, spark, data, "");
            return new Fitted(t.net(), t.model(), ModelIO.load(t.model(), spark.sparkContext().hadoopConfiguration())
                    .provenance(), data.splits().classNames());
        } finally {
            data.splits().unpersist();
        }
    }

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Train one model (loss.type) with parameter averaging; save it and its checkpoints.")
    static final class Train extends Job {
        @Override
        int run(JobConfig cfg, SparkSession spark, Data data) throws IOException {
            train(cfg, spark, data, "");
            return 0;
        }
    }

    @Command(name = "certify", mixinStandardHelpOptions = true,
            description = "Certify a saved model on the test set into the Parquet certification tables.")
    static final class Certify extends Job {
        @Option(names = "--model", required = true,
                description = "Model folder (model.json plus .npy weights), a local path or any Hadoop URI; or a local "
                        + "ONNX file (.onnx; the operators the README's ONNX section lists).")
        String model;
        Network net;
        JsonNode provenance;

        @Override
        void checkSettings(JobConfig cfg) throws IOException {
            ModelIO.Loaded m = ModelIO.loadAny(model, new org.apache.hadoop.conf.Configuration(),
                    n -> spec.commandLine().getOut().println("[roll] " + model + ": " + n));
            net = m.network();
            provenance = m.provenance();
        }

        /** The model's id in the tables: its folder's (or ONNX file's) name. */
        String modelId() {
            return new org.apache.hadoop.fs.Path(model).getName();
        }

        @Override
        boolean needsTrain() {
            return false;
        }

        @Override
        void recordFailure(JobConfig cfg, SparkSession spark, Exception e) {
            try {
                CertificationJob.recordFailure(spark.sparkContext().hadoopConfiguration(),
                        RemoteFolders.join(cfg.get(OUTPUT_DIR), "certification"), cfg.runDate(), runId,
                        modelId(), exitCode(e), String.valueOf(cause(e).getMessage()),
                        cfg.certifyOptions().replace());
            } catch (IOException | RuntimeException f) {
                log("could not record the failure in the run manifest: " + f.getMessage());
            }
        }

        @Override
        List<String> classNames() {
            return Provenance.classNames(provenance.path("config"));
        }

        @Override
        int testSteps() {
            int[] shape = net.inputShape();
            return shape.length == 2 ? shape[0] : 0;
        }

        @Override
        void checkInputs(JobConfig cfg, Data data) throws IOException {
            if (data.test().numFeatures() != net.inputSize()) {
                throw new IOException(cfg.dataLocation(false).data() + ": test examples have " + data.test().numFeatures()
                        + " features, the model " + model + " takes " + net.inputSize());
            }
            checkShape(net, data.test());
            int declared = cfg.get(DataSpec.NUM_CLASSES);
            if (declared > 0 && declared != net.outputSize()) {
                throw new IllegalArgumentException(DataSpec.NUM_CLASSES + " = " + declared + " but the model " + model + " has "
                        + net.outputSize() + " classes");
            }
            if (data.test().numClasses() > net.outputSize()) {
                org.rollspark.data.Format.Location at = cfg.dataLocation(false);
                throw new org.rollspark.data.DataFormatException(at.labels() != null && !at.labels().isEmpty() ? at.labels()
                        : at.data(), "", "labels up to " + (data.test().numClasses() - 1) + " but the model " + model
                        + " has " + net.outputSize() + " classes");
            }
        }

        @Override
        int run(JobConfig cfg, SparkSession spark, Data data) throws IOException {
            Row s = certify(cfg, spark, net, modelId(), data.test(), "");
            out.printf(Locale.ROOT, "%d examples, accuracy %.2f%%, %d distinct activation patterns%n",
                    s.getLong(s.fieldIndex("n")), 100 * s.getDouble(s.fieldIndex("accuracy")),
                    s.getLong(s.fieldIndex("distinct_patterns")));
            java.util.Set<Norm> norms = CertificationJob.norms(cfg.get(CertificationJob.NORMS));
            for (Norm n : norms) {
                out.printf(Locale.ROOT, "eps_%-4s (raw units x 1e-4) P25 / P50 / P75 / P100: %s%n", n.label(),
                        quartiles(s, n.label()));
            }
            for (String p : norms.stream().map(Norm::label).toList()) {
                out.printf(Locale.ROOT, "certified accuracy (%s) at radii %s: %s%n", p, s.getList(s.fieldIndex("cert_radii_" + p)),
                        s.getList(s.fieldIndex("cert_acc_" + p)));
            }
            if (s.getLong(s.fieldIndex("grad_dist_examples")) > 0) {
                out.printf(Locale.ROOT, "gradient stability over %d examples: median expected l1 distortion %.4g, median "
                        + "maximum %.4g%n", s.getLong(s.fieldIndex("grad_dist_examples")),
                        s.getDouble(s.fieldIndex("grad_dist_mean_p50")), s.getDouble(s.fieldIndex("grad_dist_max_p50")));
            }
            return 0;
        }
    }
}
