package org.rollspark.data;

import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.Type.LONG;
import static org.rollspark.config.Setting.Type.STRING;
import static org.rollspark.config.Setting.Type.STRINGS;
import static org.rollspark.config.Setting.atLeast;
import static org.rollspark.config.Setting.oneOf;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.rollspark.config.Setting;

/**
 * A data format and its options (the {@code roll.data} settings' values), serialisable so that executors build the
 * same reader as the driver. It declares the settings every format shares; a reader declares its own and reads both
 * through {@link #get}, which gives a setting's declared default when the job left it out.
 */
public final class DataSpec implements Serializable, Setting.Values {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<String> FORMAT = SETTINGS.add(Setting.of("data.format", STRING, "idx",
            "Input format (README, \"Data formats\"): " + String.join(", ", Format.NAMES) + ". Files are read on the "
                    + "executors through Hadoop FileSystem paths (local, hdfs://, s3a://, ...); a location is a file, a "
                    + "folder (its files in name order) or a glob.", oneOf(Format.NAMES)).main());
    public static final Setting<String> TRAIN = SETTINGS.add(Setting.of("data.train", STRING, "",
            "Training location. Empty with format idx: the MNIST file names in data.dir.").main());
    public static final Setting<String> TEST = SETTINGS.add(Setting.of("data.test", STRING, "",
            "Test location. Empty with format idx: the MNIST file names in data.dir.").main());
    public static final Setting<String> TRAIN_LABELS = SETTINGS.add(Setting.of("data.trainLabels", STRING, "",
            "idx only: the label file of the training data (empty: the MNIST name in data.dir)."));
    public static final Setting<String> TEST_LABELS = SETTINGS.add(Setting.of("data.testLabels", STRING, "",
            "idx only: the label file of the test data (empty: the MNIST name in data.dir)."));
    public static final Setting<String> DIR = SETTINGS.add(Setting.of("data.dir", STRING, "data/mnist",
            "Folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                    + "t10k-labels-idx1-ubyte (each raw or .gz), used when format = idx and train / test are empty. "
                    + "Default: the bundled MNIST slice.").main());
    public static final Setting<Integer> TRAIN_LIMIT = SETTINGS.add(Setting.of("data.trainLimit", INT, 0,
            "Use at most this many training examples, the first ones in file order (0 = all).", atLeast(0)).main());
    public static final Setting<Integer> TEST_LIMIT = SETTINGS.add(Setting.of("data.testLimit", INT, 0,
            "Use at most this many test examples, the first ones in file order (0 = all).", atLeast(0)).main());
    public static final Setting<Long> SEED = SETTINGS.add(Setting.of("data.seed", LONG, 7L,
            "Seeds the validation split, the training shards and generated data (synthetic formats). Separate from "
                    + "train.seed, so runs that differ only in train.seed (a seed study) see the same split and shards.").main());
    public static final Setting<String> LABEL_COLUMN = SETTINGS.add(Setting.of("data.labelColumn", STRING, "",
            "csv / csv_sequence: the label column, by header name or 0-based index (default: csv the last "
                    + "column, csv_sequence 1). table: the label column's name (default label): integer labels, or "
                    + "strings (classes in sorted order, stored with the model)."));
    public static final Setting<Integer> NUM_CLASSES = SETTINGS.add(Setting.of("data.numClasses", INT, 0,
            "Number of classes (0: one more than the largest label, or what the format knows). When set, a label at "
                    + "or beyond it is an input error naming the file and record, the network has this many outputs, and "
                    + "certify checks it against the model's.", atLeast(0)));
    public static final Setting<List<String>> CLASSES = SETTINGS.add(Setting.of("data.classes", STRINGS, List.of(),
            "Class names when labels are names (label i = the i-th name)."));

    private static final long serialVersionUID = 1L;
    /** Every data setting's value, by key without {@code data.}, as plain Java values (strings, numbers, lists). */
    private final Map<String, Object> options;
    private transient Config config;

    /**
     * A format and its options, by key without {@code data.} ({@code imageSize}); a value is the setting's value or
     * its text ({@code "8,8"} for a list). A setting left out takes its declared default.
     */
    public DataSpec(String format, Map<String, ?> options) {
        this.options = new TreeMap<>();
        Map<String, Setting<?>> known = Format.dataSettings();
        options.forEach((k, v) -> this.options.put(k, v instanceof String text && isList(known.get(PREFIX + k))
                ? Arrays.stream(text.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList() : v));
        this.options.put(FORMAT.key().substring(PREFIX.length()), format);
    }

    private static final String PREFIX = "data.";

    private static boolean isList(Setting<?> s) {
        return s != null && (s.type() == Setting.Type.INTS || s.type() == Setting.Type.DOUBLES
                || s.type() == Setting.Type.STRINGS);
    }

    public String format() {
        return get(FORMAT);
    }

    /** A data setting's value: the one given, or its declared default. */
    @Override
    public <T> T get(Setting<T> s) {
        if (!s.key().startsWith(PREFIX)) {
            throw new IllegalArgumentException(s + " is not a data setting");
        }
        if (config == null) {
            Map<String, Object> paths = new TreeMap<>();
            options.forEach((k, v) -> paths.put("roll." + PREFIX + k, v));
            config = ConfigFactory.parseMap(paths, "the data settings");
        }
        if (!config.hasPath(s.path())) {
            return s.defaultValue();
        }
        T v = s.read(config);
        s.check(v);
        return v;
    }

    /** A list setting of integers as an array. */
    public int[] ints(Setting<List<Integer>> s) {
        return get(s).stream().mapToInt(Integer::intValue).toArray();
    }

    /** The location of the training (test) data: data.train (data.test), or for idx the MNIST names in data.dir. */
    public Format.Location location(boolean train) throws java.io.IOException {
        String data = get(train ? TRAIN : TEST);
        String labels = get(train ? TRAIN_LABELS : TEST_LABELS);
        String format = format();
        if (format.equals("synthetic2d")) {
            return new Format.Location(train ? "train" : "test", "");
        }
        if (format.equals("idx") && data.isEmpty()) {
            String prefix = train ? "train" : "t10k";
            return new Format.Location(find(get(DIR), prefix + "-images-idx3-ubyte"),
                    labels.isEmpty() ? find(get(DIR), prefix + "-labels-idx1-ubyte") : labels);
        }
        if (data.isEmpty()) {
            throw new IllegalArgumentException((train ? TRAIN : TEST) + " must name the " + (train ? "training" : "test")
                    + " data for format " + format);
        }
        if (format.equals("idx") && labels.isEmpty()) {
            throw new IllegalArgumentException((train ? TRAIN_LABELS : TEST_LABELS) + " must name the label file of " + data);
        }
        return new Format.Location(data, labels);
    }

    /** base or base.gz in a folder on any Hadoop file system. */
    private static String find(String dir, String base) throws java.io.IOException {
        DataFiles.Settings local = DataFiles.Settings.local();
        for (String name : new String[] {base, base + ".gz"}) {
            String f = new org.apache.hadoop.fs.Path(new org.apache.hadoop.fs.Path(dir), name).toString();
            if (DataFiles.fs(f, local).exists(new org.apache.hadoop.fs.Path(f))) {
                return f;
            }
        }
        throw new java.io.FileNotFoundException(dir + ": neither " + base + " nor " + base + ".gz is there (" + DIR + ")");
    }

    @Override
    public String toString() {
        return format() + options;
    }
}
