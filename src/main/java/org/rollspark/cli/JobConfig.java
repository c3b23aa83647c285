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
import org.rollspark.config.Setting;
import org.rollspark.data.DataSpec;
import org.rollspark.loss.RollLoss;
import org.rollspark.model.Architectures;
import org.rollspark.net.Normalization;
import org.rollspark.spark.CertificationJob;
import org.rollspark.spark.SparkTrainConfig;
import org.rollspark.train.TrainConfig;

/**
 * The resolved settings of a job: the defaults of {@link Settings} (every key declared once, with its
 * doc and check), overridden by an optional job file, overridden by key=value arguments. Unknown keys,
 * values of the wrong type and values a setting's check refuses are errors naming the key and where it
 * was set; cross-setting checks run here, before any work.
 */
public final class JobConfig implements Setting.Values {
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
        dataSpec();
        runDate();
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
    @Override
    public <T> T get(Setting<T> s) {
        if (settings.get(s.key()) != s) {
            throw new IllegalArgumentException(s + " is not a registered setting");
        }
        return s.read(config);
    }

    public CertificationJob.Options certifyOptions() {
        return CertificationJob.Options.of(this, org.rollspark.data.Format.of(dataSpec()).byteValued());
    }

    /** The data format and its options, for the readers on the executors. */
    public DataSpec dataSpec() {
        return dataSpec(null);
    }

    /** {@link #dataSpec()} with the class names fixed (a saved model's) unless roll.data.classes sets them. */
    public DataSpec dataSpec(List<String> classNames) {
        Map<String, Object> opts = new TreeMap<>();
        for (Setting<?> s : settings.all()) {
            if (s.key().startsWith("data.")) {
                opts.put(s.key().substring("data.".length()), get(s));
            }
        }
        if (classNames != null && get(DataSpec.CLASSES).isEmpty()) {
            opts.put(DataSpec.CLASSES.key().substring("data.".length()), classNames);
        }
        DataSpec spec = new DataSpec(get(DataSpec.FORMAT), opts);
        org.rollspark.data.Format.of(spec); // validates the format's options
        return spec;
    }

    /** Where the training (test) data is: data.train (data.test), or for idx the MNIST names in data.dir. */
    public org.rollspark.data.Format.Location dataLocation(boolean train) throws java.io.IOException {
        return dataSpec().location(train);
    }

    /** {@link Architectures#network}: a fresh network, or train.initModel's, for this many features and classes. */
    public org.rollspark.net.Network network(int features, int classes) {
        return network(features, classes, normalization());
    }

    /** {@link #network(int, int)} with the given input normalisation (e.g. statistics of the training data). */
    public org.rollspark.net.Network network(int features, int classes, Normalization normalization) {
        return Architectures.network(this, features, classes, normalization);
    }

    public DataType dataType() {
        return Architectures.dataType(this);
    }

    public Normalization normalization() {
        return Normalization.of(this);
    }

    public RollLoss loss() {
        return RollLoss.of(this);
    }

    public long seed() {
        return get(TrainConfig.SEED);
    }

    /** The seed of the validation split, the training shards and generated data. */
    public long dataSeed() {
        return get(DataSpec.SEED);
    }

    public TrainConfig trainConfig() {
        return TrainConfig.of(this);
    }

    public SparkTrainConfig sparkTrainConfig(String checkpointDir) {
        return SparkTrainConfig.of(this, checkpointDir);
    }

    /** Certified-accuracy radii for l1, l2, l_inf. */
    public double[][] radii() {
        return CertificationJob.radii(this);
    }

    /** The run's date: output.runDate, or today (UTC). */
    public String runDate() {
        String d = get(Main.OUTPUT_RUN_DATE);
        return (d.isEmpty() ? LocalDate.now(ZoneOffset.UTC) : LocalDate.parse(d)).format(DateTimeFormatter.ISO_LOCAL_DATE);
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
