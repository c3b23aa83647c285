package org.rollspark.spark;

import static org.rollspark.config.Setting.Type.BOOL;
import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.Type.STRING;
import static org.rollspark.config.Setting.atLeast;
import static org.rollspark.config.Setting.oneOf;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.rollspark.Provenance;
import org.rollspark.config.Setting;
import org.rollspark.data.DataDigest;
import org.rollspark.data.DataFiles;
import org.rollspark.data.DataFormatException;
import org.rollspark.data.DataSpec;
import org.rollspark.data.Format;
import org.rollspark.data.LabeledData;
import org.rollspark.data.TableFormat;
import scala.Tuple2;

/**
 * Reads a dataset on the executors and leaves it there, sharded for training or certification.
 *
 * <p>The driver lists the parts of a location (files, or chunks of a folder); executors read and
 * parse them through Hadoop FileSystem paths. The driver then sees only metadata: per part its
 * example count, shape and label range, and per example its id and label (12 bytes), from which it
 * draws the seeded train / validation split (stratified on request) and the balanced shard of every
 * example. Executors move the examples to their shards (one shuffle) and compute the normalisation
 * statistics; no feature value reaches the driver.
 */
public final class DataPipeline {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<Integer> VALIDATION = SETTINGS.add(Setting.of("data.validation", INT, 1000,
            "Examples held out of the training location for model selection (seeded); the paper: 5000 of 60000.",
            atLeast(1)).main());
    public static final Setting<Boolean> STRATIFIED = SETTINGS.add(Setting.of("data.stratified", BOOL, false,
            "Hold out every class in proportion (stratified split) instead of a plain seeded draw.").main());
    public static final Setting<Boolean> SEQUENTIAL = SETTINGS.add(Setting.of("data.sequential", BOOL, false,
            "Read (C, H, W) images row by row as H time steps of C * W features, for recurrent nets.").main());
    public static final Setting<String> NORMALIZE = SETTINGS.add(Setting.of("data.normalize", STRING, "config",
            "Input normalisation x_norm = (x_raw - mean) / std. \"config\": data.mean and data.std; \"scalar\", "
                    + "\"channel\" or \"feature\": statistics of the training split, computed on the executors and "
                    + "stored with the model. Margins are always reported in raw units.",
            oneOf(List.of("config", "scalar", "channel", "feature"))).main());

    private DataPipeline() {}

    /**
     * What to load.
     *
     * @param trainLimit at most this many training examples, the first ones in part order (0 = all)
     * @param validation examples of the training location held out for validation
     * @param sequential read (C, H, W) images row by row as (H, C * W) sequences
     * @param workers    shards of the training and validation sets
     * @param testParts  shards of the test set
     * @param steps      pad sequences to this many steps (0: the training set's longest)
     */
    public record Request(DataSpec spec, Format.Location train, Format.Location test, int trainLimit, int testLimit,
            int validation, boolean stratified, long seed, boolean sequential, int workers, int testParts, int steps)
            implements Serializable {}

    /**
     * The loaded splits (train and validation null when no training location was requested), the
     * class names of formats whose classes have names (null otherwise), and for tables what each was read from
     * ("train", "test": name, reader, files and their modification times; empty for files).
     */
    public record Loaded(ShardedData train, ShardedData validation, ShardedData test, List<String> classNames,
            Map<String, Object> tables) {
        public void unpersist() {
            for (ShardedData d : new ShardedData[] {train, validation, test}) {
                if (d != null) {
                    d.unpersist();
                }
            }
        }
    }

    /** Most bytes of test examples per certification partition (more partitions than certify.partitions if need be). */
    static final long TEST_PART_BYTES = 32L << 20;

    /** What the driver learns of one part: its example count, shape, label range and digest. */
    record Meta(int count, int[] shape, int classes, boolean lengths, DataDigest digest) implements Serializable {}

    public static Loaded load(JavaSparkContext sc, Request r) throws IOException {
        return load(sc, r, null, null, null);
    }

    /**
     * Loads the splits, the training and test rows taken from a Spark program's DataFrames where they are given
     * (data.format = table; the request's locations then only name them).
     *
     * @param heldIds the ids of the training rows to hold out for validation (a Spark program's validation
     *     indicator, {@link Scoring#rowId}), or null: the request's seeded hold-out
     */
    public static Loaded load(JavaSparkContext sc, Request r, org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> trainFrame,
            org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> testFrame, java.util.Set<Long> heldIds)
            throws IOException {
        Format format = Format.of(r.spec());
        DataFiles.Settings settings = DataFiles.Settings.of(sc.hadoopConfiguration());
        Source tr = null;
        Source te = null;
        ShardedData train = null;
        ShardedData validation = null;
        ShardedData test = null;
        try {
            int numClasses = r.spec().get(DataSpec.NUM_CLASSES);
            if (format instanceof TableFormat table) {
                tr = r.train() == null ? null : TableSource.read(sc, table, r.train(), trainFrame, r.sequential(),
                        r.trainLimit(), "train", null);
                te = r.test() == null ? null : TableSource.read(sc, table, r.test(), testFrame, r.sequential(),
                        r.testLimit(), "test", tr == null ? null : tr.classNames);
            } else {
                tr = r.train() == null ? null : read(sc, format, r.train(), settings, r.sequential(), r.trainLimit(),
                        "train", numClasses);
                te = r.test() == null ? null : read(sc, format, r.test(), settings, r.sequential(), r.testLimit(), "test",
                        numClasses);
            }
            if (tr != null && te != null && (tr.shape.length != te.shape.length
                    || (tr.shape.length == 2 ? tr.shape[1] != te.shape[1] : !Arrays.equals(tr.shape, te.shape)))) {
                throw new DataFormatException(r.test().data(), "", "examples of shape " + Arrays.toString(te.shape)
                        + " but the training data's are " + Arrays.toString(tr.shape));
            }
            int[] shape = (tr != null ? tr : te).shape;
            boolean padded = shape.length == 2 && (tr != null && tr.lengths || te != null && te.lengths);
            // sequences of different lengths: train and test padded to the longest of both (or to a saved model's steps)
            int steps = r.steps();
            if (steps == 0 && padded) {
                steps = Math.max(tr == null ? 0 : tr.shape[0], te == null ? 0 : te.shape[0]);
            }
            for (Source s : new Source[] {tr, te}) {
                if (s != null && s.shape.length == 2 && steps > 0 && s.shape[0] > steps) {
                    throw new DataFormatException(s.longest, "", "a sequence of " + s.shape[0] + " steps, more than the "
                            + steps + " the model takes");
                }
            }
            boolean lengths = padded || steps > 0 && shape.length == 2;
            int classes = tr == null ? 0 : tr.classes;
            if (tr != null) {
                Tuple2<long[], int[]> idsLabels = tr.idsAndLabels();
                long[] ids = idsLabels._1();
                int[] labels = idsLabels._2();
                if (r.validation() >= ids.length) {
                    throw new IllegalArgumentException(r.train().data() + ": cannot hold out " + r.validation() + " of "
                            + ids.length + " examples for validation (" + VALIDATION + ")");
                }
                boolean[] held = heldIds != null ? marked(ids, heldIds, r.validation(), r.train())
                        : validationMask(labels, classes, r.validation(), r.stratified(), r.seed());
                checkClasses(labels, held, r.train());
                int nTrain = ids.length - r.validation();
                int trainShards = Math.max(1, Math.min(r.workers(), nTrain));
                int valShards = Math.max(1, Math.min(r.workers(), r.validation()));
                // one shuffle per split: a split's RDD has one partition per shard and no wider ancestor in its
                // stage, which barrier stages require (docs/ARCHITECTURE.md, "Averaging rounds")
                int[] trainTarget = new int[ids.length];
                int[] valTarget = new int[ids.length];
                Arrays.fill(trainTarget, -1);
                Arrays.fill(valTarget, -1);
                assign(held, false, trainShards, r.seed(), trainTarget, 0);
                assign(held, true, valShards, r.seed(), valTarget, 0);
                train = ShardedData.of("train", shuffle(sc, tr.chunks, ids, trainTarget, trainShards, shape, classes, steps),
                        shape(shape, steps), classes, lengths, splitFingerprint(tr.fingerprint, "train", ids, held, false));
                validation = ShardedData.of("validation", shuffle(sc, tr.chunks, ids, valTarget, valShards, shape, classes,
                        steps), shape(shape, steps), classes, lengths, splitFingerprint(tr.fingerprint, "validation", ids, held,
                        true));
            }
            if (te != null) {
                if (classes > 0 && te.classes > classes) {
                    throw new DataFormatException(r.test().data(), "", "labels up to " + (te.classes - 1)
                            + " but the training data has " + classes + " classes");
                }
                int testClasses = Math.max(classes, te.classes);
                long[] ids = te.idsAndLabels()._1();
                // at least one partition per TEST_PART_BYTES of examples, so a small executor holds a partition
                long bytes = (long) ids.length * (4L * Arrays.stream(shape(te.shape, steps)).asLongStream()
                        .reduce(1, (x, y) -> x * y) + 16);
                int floor = (int) Math.min(Integer.MAX_VALUE, (bytes + TEST_PART_BYTES - 1) / TEST_PART_BYTES);
                int parts = Math.max(1, Math.min(Math.max(r.testParts(), floor), ids.length));
                int[] target = new int[ids.length];
                assign(new boolean[ids.length], false, parts, 0, target, 0);
                JavaRDD<LabeledData> all = shuffle(sc, te.chunks, ids, target, parts, te.shape, testClasses, steps);
                test = ShardedData.of(te.name, all, shape(te.shape, steps), testClasses, lengths, te.fingerprint);
            }
            Map<String, Object> tables = new java.util.TreeMap<>();
            for (Source s : new Source[] {tr, te}) {
                if (s != null && s.snapshot != null) {
                    tables.put(s.name, s.snapshot);
                }
            }
            return new Loaded(train, validation, test, format instanceof TableFormat ? (tr != null ? tr : te).classNames
                    : format.classNames(), tables);
        } catch (IOException | RuntimeException e) {
            new Loaded(train, validation, test, null, Map.of()).unpersist();
            throw e;
        } finally {
            for (Source s : new Source[] {tr, te}) {
                if (s != null) {
                    s.chunks.unpersist(false);
                }
            }
        }
    }

    /** The fingerprint of one split: its source's, the split's name and its example ids. */
    private static String splitFingerprint(String source, String split, long[] ids, boolean[] held, boolean side) {
        java.security.MessageDigest md = Provenance.digest();
        md.update((source + ":" + split + ":").getBytes(StandardCharsets.UTF_8));
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8);
        for (int i = 0; i < ids.length; i++) {
            if (held[i] == side) {
                b.clear();
                md.update(b.putLong(ids[i]).array());
            }
        }
        return "sha256:" + HexFormat.of().formatHex(md.digest());
    }

    /**
     * Input normalisation from the training split's statistics, computed on the executors (sums per
     * feature, padded steps left out): {@code scalar} one mean and std over every value, {@code channel}
     * one per channel of (C, H, W) images or per feature of (T, F) sequences, {@code feature} one per
     * input feature. A constant feature gets std 1. The values are float32, like every constant of a network.
     */
    public static org.rollspark.net.Normalization statistics(ShardedData train, String mode) {
        double[][] sums = train.shards().map(LabeledData::featureSums).reduce((a, b) -> {
            for (int k = 0; k < 3; k++) {
                for (int i = 0; i < a[k].length; i++) {
                    a[k][i] += b[k][i];
                }
            }
            return a;
        });
        int d = sums[0].length;
        int[] shape = train.shape();
        int groups;
        int[] group = new int[d];
        switch (mode) {
            case "scalar" -> groups = 1;
            case "feature" -> {
                groups = d;
                for (int i = 0; i < d; i++) {
                    group[i] = i;
                }
            }
            case "channel" -> {
                if (shape.length == 3) {
                    groups = shape[0];
                    int plane = shape[1] * shape[2];
                    for (int i = 0; i < d; i++) {
                        group[i] = i / plane;
                    }
                } else {
                    groups = shape[shape.length - 1];
                    for (int i = 0; i < d; i++) {
                        group[i] = i % groups;
                    }
                }
            }
            default -> throw new IllegalArgumentException("normalisation mode '" + mode + "'");
        }
        double[] s1 = new double[groups];
        double[] s2 = new double[groups];
        double[] n = new double[groups];
        for (int i = 0; i < d; i++) {
            s1[group[i]] += sums[0][i];
            s2[group[i]] += sums[1][i];
            n[group[i]] += sums[2][i];
        }
        double[] mean = new double[groups];
        double[] std = new double[groups];
        for (int g = 0; g < groups; g++) {
            mean[g] = n[g] > 0 ? s1[g] / n[g] : 0;
            double var = n[g] > 1 ? Math.max(0, (s2[g] - n[g] * mean[g] * mean[g]) / (n[g] - 1)) : 0;
            std[g] = var > 1e-12 ? Math.sqrt(var) : 1;
        }
        if (groups == 1 || groups == d) {
            return org.rollspark.net.Normalization.float32(mean, std);
        }
        double[] fm = new double[d];
        double[] fs = new double[d];
        for (int i = 0; i < d; i++) {
            fm[i] = mean[group[i]];
            fs[i] = std[group[i]];
        }
        return org.rollspark.net.Normalization.float32(fm, fs);
    }

    private static int[] shape(int[] shape, int steps) {
        return shape.length == 2 && steps > 0 ? new int[] {steps, shape[1]} : shape.clone();
    }

    /** The parts of one location read on the executors, and what the driver knows of them. */
    static final class Source {
        String name;
        JavaRDD<LabeledData> chunks;
        int[] shape;
        int classes;
        boolean lengths;
        String fingerprint;
        String longest; // the file with the longest sequences
        List<String> classNames; // a table's string labels' classes (null otherwise)
        Map<String, Object> snapshot; // what a table was read from (null for files)
        Tuple2<long[], int[]> known; // every example's id and label in id order, when already collected (tables)

        /**
         * Every example's id and label, in id order: the split and the shards are drawn on positions in this order,
         * so they depend on the examples, not on how they were cut into parts (files come in id order already).
         */
        Tuple2<long[], int[]> idsAndLabels() {
            if (known != null) {
                return known;
            }
            List<Tuple2<long[], int[]>> parts = chunks.map(c -> new Tuple2<>(c.ids(), c.labels())).collect();
            int n = 0;
            for (Tuple2<long[], int[]> p : parts) {
                n += p._1().length;
            }
            long[] ids = new long[n];
            int[] labels = new int[n];
            int at = 0;
            for (Tuple2<long[], int[]> p : parts) {
                System.arraycopy(p._1(), 0, ids, at, p._1().length);
                System.arraycopy(p._2(), 0, labels, at, p._2().length);
                at += p._1().length;
            }
            return sortedById(ids, labels);
        }
    }

    /** The validation mask of rows marked by id; every marked id must be one of the rows. */
    private static boolean[] marked(long[] ids, java.util.Set<Long> heldIds, int count, Format.Location train)
            throws DataFormatException {
        boolean[] held = new boolean[ids.length];
        int n = 0;
        for (int i = 0; i < ids.length; i++) {
            held[i] = heldIds.contains(ids[i]);
            n += held[i] ? 1 : 0;
        }
        if (n != count || n != heldIds.size()) {
            throw new DataFormatException(train.data(), "", heldIds.size() + " rows are marked for validation, but "
                    + n + " of the rows read have their ids");
        }
        return held;
    }

    /** Ids and labels in id order (the arrays themselves when they are). */
    static Tuple2<long[], int[]> sortedById(long[] ids, int[] labels) {
        boolean sorted = true;
        for (int i = 1; i < ids.length && sorted; i++) {
            sorted = ids[i - 1] <= ids[i];
        }
        if (sorted) {
            return new Tuple2<>(ids, labels);
        }
        Integer[] order = new Integer[ids.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compare(ids[a], ids[b]));
        long[] i2 = new long[ids.length];
        int[] l2 = new int[ids.length];
        for (int i = 0; i < order.length; i++) {
            i2[i] = ids[order[i]];
            l2[i] = labels[order[i]];
        }
        return new Tuple2<>(i2, l2);
    }

    private static Source read(JavaSparkContext sc, Format format, Format.Location loc, DataFiles.Settings settings,
            boolean sequential, int limit, String what, int numClasses) throws IOException {
        List<Format.Part> parts = format.parts(loc, settings);
        if (parts.isEmpty()) {
            throw new DataFormatException(loc.data(), "", "no input files");
        }
        sc.setJobDescription("roll: read " + what + " data (" + parts.size() + " parts of " + loc.data() + ")");
        JavaRDD<LabeledData> raw = sc.parallelize(parts, parts.size()).map(p -> {
            // an executor's first task: its BLAS is checked before ND4J loads OpenBLAS here (a core type its CPU
            // cannot run would stop the JVM with an illegal instruction instead of a clear error)
            org.rollspark.blas.KernelCheck.ensure(TaskThreads::executor);
            LabeledData d = format.read(p, settings);
            for (int i = 0; numClasses > 0 && i < d.size(); i++) {
                if (d.label(i) >= numClasses) {
                    String[] at = format.labelAt(p, d, i);
                    throw new DataFormatException(at[0], at[1], "label " + d.label(i) + " is at or beyond "
                            + DataSpec.NUM_CLASSES + " = " + numClasses);
                }
            }
            return sequential ? d.sequential() : d;
        });
        JavaRDD<LabeledData> chunks = raw.persist(StorageLevel.MEMORY_AND_DISK());
        try {
            return describe(chunks, parts, loc, limit, what, format, numClasses);
        } catch (IOException | RuntimeException e) {
            chunks.unpersist(false);
            throw e;
        }
    }

    /** Collects the parts' metadata, checks it, applies the limit. */
    private static Source describe(JavaRDD<LabeledData> chunks, List<Format.Part> parts, Format.Location loc, int limit,
            String what, Format format, int numClasses) throws IOException {
        List<Meta> metas = chunks.map(c -> new Meta(c.size(), c.shape(), c.numClasses(), c.hasLengths(), DataDigest.of(c)))
                .collect();
        // per-part quotas for the limit, in part order
        int[] quota = new int[metas.size()];
        long left = limit <= 0 ? Long.MAX_VALUE : limit;
        for (int i = 0; i < quota.length; i++) {
            quota[i] = (int) Math.min(metas.get(i).count(), left);
            left -= quota[i];
        }
        Source s = new Source();
        s.name = what;
        Meta first = metas.get(0);
        s.shape = first.shape();
        int total = 0;
        long all = 0;
        for (int i = 0; i < metas.size(); i++) {
            Meta m = metas.get(i);
            boolean seq = m.shape().length == 2 && (m.lengths() || first.lengths());
            boolean same = seq ? m.shape()[1] == first.shape()[1] : Arrays.equals(m.shape(), first.shape());
            if (!same) {
                throw new DataFormatException(parts.get(i).files().get(0), "", "examples of shape " + Arrays.toString(m.shape())
                        + " but " + parts.get(0).files().get(0) + " has " + Arrays.toString(first.shape())
                        + (m.shape().length == 3 ? " (inconsistent channel counts or image sizes)" : ""));
            }
            if (seq && m.shape()[0] >= s.shape[0]) {
                s.shape = m.shape();
                s.longest = parts.get(i).files().get(0);
            }
            s.lengths |= m.lengths();
            s.classes = Math.max(s.classes, m.classes());
            total += quota[i];
            all += m.count();
        }
        if (total == 0) {
            throw new DataFormatException(loc.data(), "", "no examples (empty dataset)");
        }
        s.classes = numClasses > 0 ? numClasses : Math.max(Math.max(2, s.classes), format.classes(parts));
        List<DataDigest> digests = metas.stream().map(Meta::digest).toList();
        if (total < all) {
            JavaRDD<LabeledData> limited = chunks.zipWithIndex().map(t -> t._1().head(quota[(int) (long) t._2()]))
                    .persist(StorageLevel.MEMORY_AND_DISK());
            digests = limited.map(DataDigest::of).collect();
            chunks.unpersist(false);
            chunks = limited;
        }
        // the parts' digests in part order: the fingerprint of the examples read (the limit's first ones),
        // however the format cut them into parts
        DataDigest digest = new DataDigest();
        for (DataDigest d : digests) {
            digest = digest.then(d);
        }
        s.fingerprint = digest.fingerprint(s.shape);
        s.chunks = chunks;
        return s;
    }

    /** A training split needs two classes: labels of one class train a model that predicts it always. */
    private static void checkClasses(int[] labels, boolean[] held, Format.Location loc) throws DataFormatException {
        int first = -1;
        int n = 0;
        for (int i = 0; i < labels.length; i++) {
            if (!held[i]) {
                if (first >= 0 && labels[i] != first) {
                    return;
                }
                first = labels[i];
                n++;
            }
        }
        throw new DataFormatException(loc.labels() != null && !loc.labels().isEmpty() ? loc.labels() : loc.data(), "",
                "every one of the " + n + " training labels is " + first + ": a classifier needs at least two classes "
                        + "(is this the right label file, or label column?)");
    }

    /**
     * Which examples are held out: a seeded choice of {@code count}; stratified, each class gives its
     * share (largest remainders), so the validation set has the training set's class proportions.
     */
    static boolean[] validationMask(int[] labels, int classes, int count, boolean stratified, long seed) {
        int n = labels.length;
        if (!stratified) {
            return LabeledData.heldOut(n, count, seed);
        }
        boolean[] held = new boolean[n];
        int[][] byClass = new int[classes][];
        int[] counts = new int[classes];
        for (int y : labels) {
            counts[y]++;
        }
        for (int c = 0; c < classes; c++) {
            byClass[c] = new int[counts[c]];
        }
        int[] fill = new int[classes];
        for (int i = 0; i < n; i++) {
            byClass[labels[i]][fill[labels[i]]++] = i;
        }
        int[] take = new int[classes];
        double[] rest = new double[classes];
        int given = 0;
        for (int c = 0; c < classes; c++) {
            double exact = (double) count * counts[c] / n;
            take[c] = (int) Math.floor(exact);
            rest[c] = exact - take[c];
            given += take[c];
        }
        Integer[] order = new Integer[classes];
        for (int c = 0; c < classes; c++) {
            order[c] = c;
        }
        Arrays.sort(order, (a, b) -> rest[a] != rest[b] ? Double.compare(rest[b], rest[a]) : Integer.compare(a, b));
        for (int i = 0; given < count; i = (i + 1) % classes) {
            if (take[order[i]] < counts[order[i]]) {
                take[order[i]]++;
                given++;
            }
        }
        SplittableRandom rng = new SplittableRandom(seed);
        for (int c = 0; c < classes; c++) {
            int[] perm = LabeledData.permutation(counts[c], rng.nextLong());
            for (int i = 0; i < take[c]; i++) {
                held[byClass[c][perm[i]]] = true;
            }
        }
        return held;
    }

    /**
     * Balanced seeded shards of the examples with {@code held[i] == side}: a seeded shuffle cut into
     * {@code parts} contiguous pieces (sizes differ by at most one), written to {@code target} as
     * {@code offset + piece}.
     */
    static void assign(boolean[] held, boolean side, int parts, long seed, int[] target, int offset) {
        int n = 0;
        for (boolean h : held) {
            n += h == side ? 1 : 0;
        }
        int[] members = new int[n];
        for (int i = 0, k = 0; i < held.length; i++) {
            if (held[i] == side) {
                members[k++] = i;
            }
        }
        int[] piece = LabeledData.pieces(n, parts, seed);
        for (int k = 0; k < n; k++) {
            target[members[k]] = offset + piece[k];
        }
    }

    /**
     * Moves every example to the partition {@code target} names for its id (one shuffle of per-chunk
     * pieces; -1: the example is left out), pads sequences to {@code steps}, and caches one shard per
     * partition, in id order.
     */
    private static JavaRDD<LabeledData> shuffle(JavaSparkContext sc, JavaRDD<LabeledData> chunks, long[] ids, int[] target,
            int partitions, int[] shape, int classes, int steps) {
        long[] sortedIds = ids.clone();
        Integer[] idx = new Integer[ids.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> Long.compare(ids[a], ids[b]));
        int[] sortedTarget = new int[ids.length];
        for (int i = 0; i < idx.length; i++) {
            sortedIds[i] = ids[idx[i]];
            sortedTarget[i] = target[idx[i]];
        }
        Broadcast<long[]> bIds = sc.broadcast(sortedIds);
        Broadcast<int[]> bTarget = sc.broadcast(sortedTarget);
        int[] outShape = shape(shape, steps);
        sc.setJobDescription("roll: shard " + ids.length + " examples into " + partitions + " partitions");
        JavaPairRDD<Integer, LabeledData> pieces = chunks.flatMapToPair(c -> pieces(c, bIds.value(), bTarget.value(),
                classes, steps));
        JavaRDD<LabeledData> shards = pieces.partitionBy(new HashPartitioner(partitions)).mapPartitionsWithIndex(
                (Integer p, Iterator<Tuple2<Integer, LabeledData>> it) -> {
                    List<LabeledData> list = new ArrayList<>();
                    it.forEachRemaining(t -> list.add(t._2()));
                    list.sort((a, b) -> Long.compare(a.id(0), b.id(0)));
                    // in id order: the pieces of a table's partitions may interleave (a file's never do)
                    return List.of(LabeledData.concat("shard" + p, list, outShape, classes).sortedById()).iterator();
                }, true).persist(StorageLevel.MEMORY_AND_DISK());
        // no checkpoint and the broadcasts kept: shards lost with an executor are rebuilt from the files
        shards.count();
        return shards;
    }

    /** The pieces of a chunk by target partition, cut one at a time as the shuffle writes them (one copy held). */
    private static Iterator<Tuple2<Integer, LabeledData>> pieces(LabeledData c, long[] sortedIds, int[] sortedTarget,
            int classes, int steps) {
        java.util.Map<Integer, List<Integer>> by = new java.util.TreeMap<>();
        for (int i = 0; i < c.size(); i++) {
            int t = sortedTarget[Arrays.binarySearch(sortedIds, c.id(i))];
            if (t >= 0) { // -1: the example belongs to another split
                by.computeIfAbsent(t, k -> new ArrayList<>()).add(i);
            }
        }
        Iterator<java.util.Map.Entry<Integer, List<Integer>>> groups = by.entrySet().iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return groups.hasNext();
            }

            @Override
            public Tuple2<Integer, LabeledData> next() {
                java.util.Map.Entry<Integer, List<Integer>> e = groups.next();
                LabeledData piece = c.subset(c.name(), e.getValue().stream().mapToInt(Integer::intValue).toArray())
                        .withClasses(c.name(), classes);
                if (c.shape().length == 2 && steps > 0) {
                    piece = piece.padTo(steps);
                }
                return new Tuple2<>(e.getKey(), piece);
            }
        };
    }
}
