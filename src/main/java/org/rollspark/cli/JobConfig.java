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
 * The resolved settings of a job: the defaults of {@link Settings} (every key declared once, with its
 * doc and check), overridden by an optional job file, overridden by key=value arguments. Unknown keys,
 * values of the wrong type and values a setting's check refuses are errors naming the key and where it
 * was set; cross-setting checks run here, before any work.
 */
public final class JobConfig {
    private final Settings settings;
    private final Config config;

    private JobConfig(Settings settings, Config config) {
        this.settings = settings;
        this.config = config;
    }

    /**
     * @param file a HOCON job file, or null
     * @param overrides {@code key=value} strings; keys may omit the leading {@code roll.}
     */
    public static JobConfig load(Path file, List<String> overrides) {
        return load(Settings.ROLL, file, overrides);
    }

    /** {@link #load(Path, List)} against another registry (tests of what derives from it). */
    static JobConfig load(Settings settings, Path file, List<String> overrides) {
        Config reference = settings.defaults();
        Config merged = ConfigFactory.empty();
        // an object setting given on the command line (sweep.grid) replaces the file's rather than merging into it
        List<String> replaced = new java.util.ArrayList<>();
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
            Setting<?> setting = settings.get(path.substring("roll.".length()));
            if (setting != null && setting.type().isOpenObject()) {
                merged = merged.withoutPath(path);
                replaced.add(path);
            }
            merged = one.withFallback(merged);
        }
        if (file != null) {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("config file " + file + " does not exist");
            }
            Config fromFile = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
            for (String path : replaced) {
                fromFile = fromFile.withoutPath(path);
            }
            merged = merged.withFallback(fromFile);
        }
        TreeSet<String> unknown = new TreeSet<>();
        for (Map.Entry<String, ConfigValue> e : merged.entrySet()) {
            if (settings.get(e.getKey()) == null && !settings.covers(e.getKey())) {
                unknown.add(e.getKey() + " (" + e.getValue().origin().description() + ")");
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown setting" + (unknown.size() > 1 ? "s" : "") + ": "
                    + String.join(", ", unknown) + "; see reference.conf for the keys");
        }
        Config resolved = merged.withFallback(reference).resolve();
        resolved.checkValid(reference, "roll");
        JobConfig jc = new JobConfig(settings, resolved);
        jc.validate();
        return jc;
    }

    private void validate() {
        for (Setting<?> s : settings.all()) {
            checkOne(s);
        }
        trainConfig();
        sparkTrainConfig(null);
        normalization();
        normalizeMode();
        dataSpec();
        activation();
        init();
        dataType();
        runDate();
        runIdOrEmpty();
        radii();
        certifyOptions();
    }

    /** Reads one setting and runs its check; errors name the key, the value and where it was set. */
    private <T> void checkOne(Setting<T> s) {
        T value = s.read(config);
        try {
            s.check(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (" + config.getValue(s.path()).origin().description()
                    + ")", e);
        }
    }

    /** A setting's value. */
    public <T> T get(Setting<T> s) {
        if (settings.get(s.key()) != s) {
            throw new IllegalArgumentException(s + " is not a registered setting");
        }
        return s.read(config);
    }

    /** The registered setting with this key (without {@code roll.}). */
    private Setting<?> setting(String key) {
        Setting<?> s = settings.get(key);
        if (s == null) {
            throw new IllegalArgumentException("unknown setting roll." + key + "; see reference.conf for the keys");
        }
        return s;
    }

    public org.rollspark.spark.CertificationJob.Options certifyOptions() {
        var g = new org.rollspark.spark.CertificationJob.Gradient(get(Settings.CERTIFY_GRADIENT_EXAMPLES),
                get(Settings.CERTIFY_GRADIENT_EPS), get(Settings.CERTIFY_GRADIENT_BOX_LOW),
                get(Settings.CERTIFY_GRADIENT_BOX_HIGH), get(Settings.CERTIFY_GRADIENT_SAMPLES),
                get(Settings.CERTIFY_GRADIENT_POPULATION), get(Settings.CERTIFY_GRADIENT_GENERATIONS),
                get(Settings.CERTIFY_GRADIENT_SEED));
        if (!(g.boxLow() < g.boxHigh())) {
            throw new IllegalArgumentException("roll.certify.gradientBoxLow must be below roll.certify.gradientBoxHigh; got "
                    + g.boxLow() + " and " + g.boxHigh());
        }
        return new org.rollspark.spark.CertificationJob.Options(get(Settings.CERTIFY_SOUNDNESS_EXAMPLES),
                get(Settings.CERTIFY_SOUNDNESS_POINTS), get(Settings.CERTIFY_COORDINATE_BOUNDS), g,
                get(Settings.CERTIFY_REPLACE), org.rollspark.data.Format.of(dataSpec()).byteValued());
    }

    /** A string setting by key (without {@code roll.}). */
    public String string(String key) {
        return (String) get(setting(key));
    }

    /** An integer setting by key. */
    public int integer(String key) {
        return (Integer) get(setting(key));
    }

    /** A boolean setting by key. */
    public boolean bool(String key) {
        return (Boolean) get(setting(key));
    }

    /** The data format and its options, for the readers on the executors. */
    public org.rollspark.data.DataSpec dataSpec() {
        return dataSpec(null);
    }

    /** {@link #dataSpec()} with the class names fixed (a saved model's) unless roll.data.classes sets them. */
    public org.rollspark.data.DataSpec dataSpec(List<String> classNames) {
        String format = get(Settings.DATA_FORMAT);
        Map<String, String> opts = new TreeMap<>();
        for (Setting<?> s : List.of(Settings.DATA_IMAGE_MODE, Settings.DATA_LABEL_COLUMN, Settings.DATA_SEQUENCE_COLUMN,
                Settings.DATA_NOISE, Settings.DATA_CHANNELS, Settings.DATA_COUNT, Settings.DATA_IMAGE_SIZE,
                Settings.DATA_CLASSES, Settings.DATA_SPEAKER_BLOCKS, Settings.DATA_NUM_CLASSES, Settings.DATA_SOURCE,
                Settings.DATA_FEATURES_COLUMN, Settings.DATA_ID_COLUMN, Settings.DATA_SHAPE)) {
            Object v = get(s);
            opts.put(s.key().substring("data.".length()), v instanceof List<?> l
                    ? String.join(",", l.stream().map(String::valueOf).toList()) : String.valueOf(v));
        }
        opts.put("seed", Long.toString(dataSeed()));
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
            String f = org.rollspark.model.RemoteFolders.join(dir, name);
            if (org.rollspark.model.RemoteFolders.fs(f, conf).exists(new org.apache.hadoop.fs.Path(f))) {
                return f;
            }
        }
        throw new java.io.FileNotFoundException(dir + ": neither " + base + " nor " + base + ".gz is there (roll.data.dir)");
    }

    /** How the input is normalised: config (data.mean / data.std), or scalar, channel, feature statistics of the training split. */
    public String normalizeMode() {
        return get(Settings.DATA_NORMALIZE);
    }

    /** The IDX folder (any Hadoop path). */
    public String dataDir() {
        return get(Settings.DATA_DIR);
    }

    public int limit(String key) {
        int v = integer("data." + key);
        return v == 0 ? Integer.MAX_VALUE : v;
    }

    public int[] hidden() {
        return get(Settings.NET_HIDDEN).stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * A freshly initialised network for {@code features} inputs and {@code classes} outputs:
     * {@code net.type = dense} (net.hidden, net.activation) or {@code graph} (net.inputShape,
     * net.layers, whose last dense layer must have one unit per class).
     */
    public org.rollspark.net.Network network(int features, int classes) {
        return network(features, classes, normalization());
    }

    /**
     * The network of train.initModel (an ONNX file or a model folder), to fine-tune: its architecture,
     * weights and input normalisation (the ones it was trained with) as they are; the net.* settings do
     * not apply. Its input size and classes must be the data's.
     */
    private org.rollspark.net.Network pretrained(String location, int features, int classes) {
        org.rollspark.net.Network net;
        try {
            net = location.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx")
                    ? org.rollspark.model.OnnxImport.load(java.nio.file.Path.of(location)).network()
                    : org.rollspark.model.ModelIO.load(location, new org.apache.hadoop.conf.Configuration()).network();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        if (net.inputSize() != features || net.outputSize() != classes) {
            throw new IllegalArgumentException("roll.train.initModel " + location + " takes " + net.inputSize()
                    + " inputs and gives " + net.outputSize() + " classes; the data have " + features + " and " + classes);
        }
        return net.castTo(dataType());
    }

    /** {@link #network(int, int)} with the given input normalisation (e.g. statistics of the training data). */
    public org.rollspark.net.Network network(int features, int classes, Normalization normalization) {
        String init = get(Settings.TRAIN_INIT_MODEL);
        if (!init.isEmpty()) {
            return pretrained(init, features, classes);
        }
        String type = get(Settings.NET_TYPE);
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
        int[] shape = get(Settings.NET_INPUT_SHAPE).stream().mapToInt(Integer::intValue).toArray();
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
                    get(Settings.NET_LAYERS));
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
        return Activation.parse(get(Settings.NET_ACTIVATION));
    }

    public Init init() {
        return Init.parse(get(Settings.NET_INIT));
    }

    public DataType dataType() {
        return get(Settings.NET_DTYPE).equals("float64") ? DataType.DOUBLE : DataType.FLOAT;
    }

    public Normalization normalization() {
        double[] mean = get(Settings.DATA_MEAN).stream().mapToDouble(Double::doubleValue).toArray();
        double[] std = get(Settings.DATA_STD).stream().mapToDouble(Double::doubleValue).toArray();
        try {
            return Normalization.float32(mean, std);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("roll.data.mean / roll.data.std: " + e.getMessage(), e);
        }
    }

    public RollLoss loss() {
        if (get(Settings.LOSS_TYPE).equals("vanilla")) {
            return RollLoss.vanilla();
        }
        return new RollLoss(get(Settings.LOSS_LAMBDA), get(Settings.LOSS_C), Aggregation.parse(get(Settings.LOSS_GAMMA)),
                new org.rollspark.loss.Sampling(get(Settings.LOSS_SAMPLES), get(Settings.LOSS_SAMPLES_PER_CHANNEL)));
    }

    public long seed() {
        return get(Settings.TRAIN_SEED);
    }

    /** The seed of the validation split, the training shards and generated data. */
    public long dataSeed() {
        return get(Settings.DATA_SEED);
    }

    public TrainConfig trainConfig() {
        return new TrainConfig(get(Settings.TRAIN_EPOCHS), get(Settings.SPARK_BATCH_SIZE_PER_WORKER), seed(),
                get(Settings.TRAIN_OPTIMIZER), get(Settings.TRAIN_LR), get(Settings.TRAIN_MOMENTUM), loss(),
                get(Settings.TRAIN_EVAL_BATCH_SIZE));
    }

    public SparkTrainConfig sparkTrainConfig(String checkpointDir) {
        return new SparkTrainConfig(trainConfig(), get(Settings.SPARK_NUM_WORKERS), get(Settings.SPARK_BATCH_SIZE_PER_WORKER),
                get(Settings.SPARK_AVERAGING_FREQUENCY), checkpointDir, get(Settings.SPARK_CHECKPOINT_ROUNDS));
    }

    /** Certified-accuracy radii for l1, l2, l_inf. */
    public double[][] radii() {
        List<List<Double>> r = List.of(get(Settings.CERTIFY_RADII_L1), get(Settings.CERTIFY_RADII_L2),
                get(Settings.CERTIFY_RADII_LINF));
        double[][] out = new double[3][];
        for (int i = 0; i < 3; i++) {
            out[i] = r.get(i).stream().mapToDouble(Double::doubleValue).toArray();
        }
        return out;
    }

    /** The run's date: output.runDate, or today (UTC). */
    public String runDate() {
        String d = get(Settings.OUTPUT_RUN_DATE);
        return (d.isEmpty() ? LocalDate.now(ZoneOffset.UTC) : LocalDate.parse(d)).format(DateTimeFormatter.ISO_LOCAL_DATE);
    }

    /** The configured run id, validated, or "" when one should be generated. */
    public String runIdOrEmpty() {
        return get(Settings.OUTPUT_RUN_ID);
    }

    /** This config with some settings replaced (same validation). */
    public JobConfig with(Map<String, Object> values) {
        Config c = config;
        for (Map.Entry<String, Object> e : values.entrySet()) {
            c = c.withValue("roll." + e.getKey(), com.typesafe.config.ConfigValueFactory.fromAnyRef(e.getValue()));
        }
        JobConfig jc = new JobConfig(settings, c);
        jc.validate();
        return jc;
    }

    /** Every registered setting (key without {@code roll.} -> value), for logs, provenance and config hashes. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new TreeMap<>();
        for (Setting<?> s : settings.all()) {
            m.put(s.key(), config.getValue(s.path()).unwrapped());
        }
        return m;
    }

    /** The keys set by the job file or the command line (the others are at their defaults). */
    public java.util.SortedSet<String> explicitKeys() {
        java.util.SortedSet<String> set = new TreeSet<>();
        for (Setting<?> s : settings.all()) {
            if (!config.getValue(s.path()).origin().description().startsWith("reference.conf")) {
                set.add(s.key());
            }
        }
        return set;
    }

    /** {@link #toMap()} as a provenance record's configuration, remembering which settings were set. */
    public org.rollspark.Provenance.Settings provenance() {
        return new org.rollspark.Provenance.Settings(toMap(), explicitKeys());
    }

    /** The resolved settings as HOCON text. */
    public String render() {
        return config.getConfig("roll").root().render(ConfigRenderOptions.concise().setFormatted(true).setJson(false));
    }
}
