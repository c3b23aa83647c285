package org.rollspark.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.loss.Aggregation;
import org.rollspark.loss.RollLoss;
import org.rollspark.net.Activation;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.spark.SparkTrainConfig;
import org.rollspark.train.TrainConfig;

/**
 * The resolved settings of a job: reference.conf (every key, with its default and doc), overridden by
 * an optional job file, overridden by key=value arguments. Unknown keys and values of the wrong type
 * are errors naming the key and where it was set; cross-setting checks run here, before any work.
 */
public final class JobConfig {
    private final Config config;

    private JobConfig(Config config) {
        this.config = config;
    }

    /**
     * @param file a HOCON job file, or null
     * @param overrides {@code key=value} strings; keys may omit the leading {@code roll.}
     */
    public static JobConfig load(Path file, List<String> overrides) {
        Config reference = ConfigFactory.parseResources(JobConfig.class.getClassLoader(), "reference.conf",
                ConfigParseOptions.defaults().setAllowMissing(false));
        Config merged = ConfigFactory.empty();
        for (String o : overrides) {
            int eq = o.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("setting '" + o + "' is not key=value");
            }
            String key = o.substring(0, eq).trim();
            String path = key.startsWith("roll.") ? key : "roll." + key;
            String value = o.substring(eq + 1).trim();
            Config one;
            try {
                one = ConfigFactory.parseString(path + " = " + (value.isEmpty() ? "\"\"" : value),
                        ConfigParseOptions.defaults().setOriginDescription("command line " + key));
            } catch (ConfigException e) {
                one = ConfigFactory.parseMap(Map.of(path, value), "command line " + key);
            }
            merged = one.withFallback(merged);
        }
        if (file != null) {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("config file " + file + " does not exist");
            }
            merged = merged.withFallback(ConfigFactory.parseFile(file.toFile(),
                    ConfigParseOptions.defaults().setAllowMissing(false)));
        }
        TreeSet<String> unknown = new TreeSet<>();
        for (Map.Entry<String, ConfigValue> e : merged.entrySet()) {
            if (!reference.hasPath(e.getKey())) {
                unknown.add(e.getKey() + " (" + e.getValue().origin().description() + ")");
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown setting" + (unknown.size() > 1 ? "s" : "") + ": "
                    + String.join(", ", unknown) + "; see reference.conf for the keys");
        }
        Config resolved = merged.withFallback(reference).resolve();
        resolved.checkValid(reference, "roll");
        JobConfig jc = new JobConfig(resolved);
        jc.validate();
        return jc;
    }

    private void validate() {
        trainConfig();
        sparkTrainConfig(null);
        normalization();
        normalizeMode();
        dataSpec();
        activation();
        init();
        dataType();
        if (intOf("data.validation") < 1) {
            throw new IllegalArgumentException("roll.data.validation must be >= 1 (model selection needs it), got "
                    + intOf("data.validation"));
        }
        if (intOf("certify.partitions") < 1) {
            throw new IllegalArgumentException("roll.certify.partitions must be >= 1");
        }
        if (intOf("data.trainLimit") < 0 || intOf("data.testLimit") < 0) {
            throw new IllegalArgumentException("roll.data.trainLimit and roll.data.testLimit must be >= 0 (0 = all)");
        }
        runDate();
        runIdOrEmpty();
        radii();
        certifyOptions();
    }

    public org.rollspark.spark.CertificationJob.Options certifyOptions() {
        int n = intOf("certify.soundnessExamples");
        int p = intOf("certify.soundnessPoints");
        if (n < 0 || p < 2) {
            throw new IllegalArgumentException("roll.certify.soundnessExamples must be >= 0 and soundnessPoints >= 2, got "
                    + n + " and " + p);
        }
        try {
            var g = new org.rollspark.spark.CertificationJob.Gradient(intOf("certify.gradientExamples"),
                    doubleOf("certify.gradientEps"), doubleOf("certify.gradientBoxLow"), doubleOf("certify.gradientBoxHigh"),
                    intOf("certify.gradientSamples"), intOf("certify.gradientPopulation"), intOf("certify.gradientGenerations"),
                    config.getLong("roll.certify.gradientSeed"));
            if (g.examples() < 0 || g.samples() < 1 || g.population() < 0 || g.generations() < 0 || !(g.eps() >= 0)
                    || !(g.boxLow() < g.boxHigh())) {
                throw new IllegalArgumentException("roll.certify.gradient*: need examples >= 0, samples >= 1, population "
                        + "and generations >= 0, eps >= 0 and gradientBoxLow < gradientBoxHigh; got " + g);
            }
            return new org.rollspark.spark.CertificationJob.Options(n, p, config.getBoolean("roll.certify.coordinateBounds"), g,
                    config.getBoolean("roll.certify.replace"));
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    private int intOf(String key) {
        try {
            return config.getInt("roll." + key);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    private double doubleOf(String key) {
        try {
            return config.getDouble("roll." + key);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    public String string(String key) {
        try {
            return config.getString("roll." + key);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    public int integer(String key) {
        return intOf(key);
    }

    public boolean bool(String key) {
        try {
            return config.getBoolean("roll." + key);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** The data format and its options, for the readers on the executors. */
    public org.rollspark.data.DataSpec dataSpec() {
        return dataSpec(null);
    }

    /** {@link #dataSpec()} with the class names fixed (a saved model's) unless roll.data.classes sets them. */
    public org.rollspark.data.DataSpec dataSpec(List<String> classNames) {
        String format = string("data.format");
        if (!org.rollspark.data.Format.NAMES.contains(format)) {
            throw new IllegalArgumentException("roll.data.format: unknown format '" + format + "'; one of "
                    + String.join(", ", org.rollspark.data.Format.NAMES));
        }
        Map<String, String> opts = new TreeMap<>();
        for (String k : new String[] {"imageMode", "labelColumn", "sequenceColumn", "noise"}) {
            opts.put(k, config.getValue("roll.data." + k).unwrapped().toString());
        }
        for (String k : new String[] {"channels", "count"}) {
            opts.put(k, Integer.toString(intOf("data." + k)));
        }
        for (String k : new String[] {"imageSize", "classes", "speakerBlocks"}) {
            try {
                opts.put(k, String.join(",", config.getList("roll.data." + k).stream()
                        .map(v -> v.unwrapped().toString()).toList()));
            } catch (ConfigException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }
        opts.put("seed", Long.toString(seed()));
        if (classNames != null && opts.get("classes").isEmpty()) {
            opts.put("classes", String.join(",", classNames));
        }
        org.rollspark.data.DataSpec spec = new org.rollspark.data.DataSpec(format, opts);
        org.rollspark.data.Format.of(spec); // validates the format's options
        return spec;
    }

    /** Where the training (test) data is: data.train (data.test), or for idx the MNIST names in data.dir. */
    public org.rollspark.data.Format.Location dataLocation(boolean train) throws java.io.IOException {
        String data = string(train ? "data.train" : "data.test");
        String labels = string(train ? "data.trainLabels" : "data.testLabels");
        String format = string("data.format");
        if (format.equals("synthetic2d")) {
            return new org.rollspark.data.Format.Location(train ? "train" : "test", "");
        }
        if (format.equals("idx") && data.isEmpty()) {
            String prefix = train ? "train" : "t10k";
            return new org.rollspark.data.Format.Location(find(dataDir(), prefix + "-images-idx3-ubyte"),
                    labels.isEmpty() ? find(dataDir(), prefix + "-labels-idx1-ubyte") : labels);
        }
        if (data.isEmpty()) {
            throw new IllegalArgumentException("roll.data." + (train ? "train" : "test") + " must name the "
                    + (train ? "training" : "test") + " data for format " + format);
        }
        if (format.equals("idx") && labels.isEmpty()) {
            throw new IllegalArgumentException("roll.data." + (train ? "trainLabels" : "testLabels")
                    + " must name the label file of " + data);
        }
        return new org.rollspark.data.Format.Location(data, labels);
    }

    /** base or base.gz in a folder on any Hadoop file system. */
    private static String find(String dir, String base) throws java.io.IOException {
        org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
        for (String name : new String[] {base, base + ".gz"}) {
            String f = org.rollspark.util.RemoteFolders.join(dir, name);
            if (org.rollspark.util.RemoteFolders.fs(f, conf).exists(new org.apache.hadoop.fs.Path(f))) {
                return f;
            }
        }
        throw new java.io.FileNotFoundException(dir + ": neither " + base + " nor " + base + ".gz is there (roll.data.dir)");
    }

    /** How the input is normalised: config (data.mean / data.std), or scalar, channel, feature statistics of the training split. */
    public String normalizeMode() {
        String m = string("data.normalize");
        if (!List.of("config", "scalar", "channel", "feature").contains(m)) {
            throw new IllegalArgumentException("roll.data.normalize must be config, scalar, channel or feature, got '" + m + "'");
        }
        return m;
    }

    /** The IDX folder (any Hadoop path). */
    public String dataDir() {
        return string("data.dir");
    }

    public int limit(String key) {
        int v = intOf("data." + key);
        return v == 0 ? Integer.MAX_VALUE : v;
    }

    public int[] hidden() {
        List<Integer> h = config.getIntList("roll.net.hidden");
        if (h.isEmpty() || h.stream().anyMatch(v -> v < 1)) {
            throw new IllegalArgumentException("roll.net.hidden must list at least one width >= 1, got " + h);
        }
        return h.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * A freshly initialised network for {@code features} inputs and {@code classes} outputs:
     * {@code net.type = dense} (net.hidden, net.activation) or {@code graph} (net.inputShape,
     * net.layers, whose last dense layer must have one unit per class).
     */
    public org.rollspark.net.Network network(int features, int classes) {
        return network(features, classes, normalization());
    }

    /** {@link #network(int, int)} with the given input normalisation (e.g. statistics of the training data). */
    public org.rollspark.net.Network network(int features, int classes, Normalization normalization) {
        String type = string("net.type");
        if (type.equals("dense")) {
            int[] h = hidden();
            int[] sizes = new int[h.length + 2];
            sizes[0] = features;
            System.arraycopy(h, 0, sizes, 1, h.length);
            sizes[sizes.length - 1] = classes;
            return org.rollspark.model.Architectures.init(org.rollspark.model.Architectures.dense(sizes, activation()),
                    normalization, init(), seed(), dataType());
        }
        if (!type.equals("graph")) {
            throw new IllegalArgumentException("roll.net.type must be dense or graph, got '" + type + "'");
        }
        int[] shape = config.getIntList("roll.net.inputShape").stream().mapToInt(Integer::intValue).toArray();
        int size = 1;
        for (int v : shape) {
            size *= v;
        }
        if (size != features) {
            throw new IllegalArgumentException("roll.net.inputShape " + java.util.Arrays.toString(shape) + " holds " + size
                    + " values but the data has " + features + " features per example");
        }
        com.fasterxml.jackson.databind.node.ArrayNode layers;
        try {
            layers = (com.fasterxml.jackson.databind.node.ArrayNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                    config.getList("roll.net.layers").render(com.typesafe.config.ConfigRenderOptions.concise()));
        } catch (java.io.IOException | ClassCastException e) {
            throw new IllegalArgumentException("roll.net.layers must be a list of layer objects: " + e.getMessage(), e);
        }
        org.rollspark.net.Network net;
        try {
            net = org.rollspark.model.Architectures.init(org.rollspark.model.Architectures.graph(shape, layers), normalization,
                    init(), seed(), dataType());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("roll.net.layers: " + e.getMessage(), e);
        }
        if (net.outputSize() != classes) {
            throw new IllegalArgumentException("roll.net.layers: the last layer gives " + net.outputSize()
                    + " outputs but the data has " + classes + " classes");
        }
        return net;
    }

    public Activation activation() {
        return Activation.parse(string("net.activation"));
    }

    public Init init() {
        return Init.parse(string("net.init"));
    }

    public DataType dataType() {
        return switch (string("net.dtype")) {
            case "float32" -> DataType.FLOAT;
            case "float64" -> DataType.DOUBLE;
            default -> throw new IllegalArgumentException("roll.net.dtype must be float32 or float64, got '"
                    + string("net.dtype") + "'");
        };
    }

    public Normalization normalization() {
        double[] mean = config.getDoubleList("roll.data.mean").stream().mapToDouble(Double::doubleValue).toArray();
        double[] std = config.getDoubleList("roll.data.std").stream().mapToDouble(Double::doubleValue).toArray();
        try {
            return new Normalization(mean, std);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("roll.data.mean / roll.data.std: " + e.getMessage(), e);
        }
    }

    public RollLoss loss() {
        String type = string("loss.type");
        if (type.equals("vanilla")) {
            return RollLoss.vanilla();
        }
        if (!type.equals("roll")) {
            throw new IllegalArgumentException("roll.loss.type must be roll or vanilla, got '" + type + "'");
        }
        return new RollLoss(doubleOf("loss.lambda"), doubleOf("loss.c"), Aggregation.parse(string("loss.gamma")),
                new org.rollspark.loss.Sampling(intOf("loss.samples"), config.getBoolean("roll.loss.samplesPerChannel")));
    }

    public long seed() {
        return config.getLong("roll.train.seed");
    }

    public TrainConfig trainConfig() {
        return new TrainConfig(intOf("train.epochs"), intOf("spark.batchSizePerWorker"), seed(), string("train.optimizer"),
                doubleOf("train.lr"), doubleOf("train.momentum"), loss(), intOf("train.evalBatchSize"));
    }

    public SparkTrainConfig sparkTrainConfig(String checkpointDir) {
        return new SparkTrainConfig(trainConfig(), intOf("spark.numWorkers"), intOf("spark.batchSizePerWorker"),
                intOf("spark.averagingFrequency"), checkpointDir, intOf("spark.checkpointRounds"));
    }

    /** Certified-accuracy radii for l1, l2, l_inf (each non-negative). */
    public double[][] radii() {
        double[][] out = new double[3][];
        String[] keys = {"radiiL1", "radiiL2", "radiiLinf"};
        for (int i = 0; i < 3; i++) {
            out[i] = config.getDoubleList("roll.certify." + keys[i]).stream().mapToDouble(Double::doubleValue).toArray();
            for (double r : out[i]) {
                if (!(r >= 0) || Double.isInfinite(r)) {
                    throw new IllegalArgumentException("roll.certify." + keys[i] + ": radius " + r + " must be finite and >= 0");
                }
            }
        }
        return out;
    }

    public String runDate() {
        String d = string("output.runDate");
        if (d.isEmpty()) {
            return LocalDate.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_LOCAL_DATE);
        }
        try {
            return LocalDate.parse(d).format(DateTimeFormatter.ISO_LOCAL_DATE);
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException("roll.output.runDate '" + d + "' is not a date like 2026-11-24");
        }
    }

    /** The configured run id, validated, or "" when one should be generated. */
    public String runIdOrEmpty() {
        String id = string("output.runId");
        if (!id.isEmpty() && !id.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")) {
            throw new IllegalArgumentException("roll.output.runId '" + id
                    + "' must be letters, digits, '_', '.' or '-' (at most 128)");
        }
        return id;
    }

    /** This config with some settings replaced (same validation). */
    public JobConfig with(Map<String, Object> settings) {
        Config c = config;
        for (Map.Entry<String, Object> e : settings.entrySet()) {
            c = c.withValue("roll." + e.getKey(), com.typesafe.config.ConfigValueFactory.fromAnyRef(e.getValue()));
        }
        JobConfig jc = new JobConfig(c);
        jc.validate();
        return jc;
    }

    /** Every setting, flattened (key -> value as text), for logs and provenance. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new TreeMap<>();
        for (Map.Entry<String, ConfigValue> e : config.getConfig("roll").entrySet()) {
            m.put(e.getKey(), e.getValue().unwrapped());
        }
        return m;
    }

    /** The resolved settings as HOCON text. */
    public String render() {
        return config.getConfig("roll").root().render(ConfigRenderOptions.concise().setFormatted(true).setJson(false));
    }
}
