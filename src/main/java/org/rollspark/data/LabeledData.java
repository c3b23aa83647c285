package org.rollspark.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An in-memory labelled dataset: N examples of D raw features (row-major floats) and integer labels
 * in [0, numClasses). Raw units are the user's (MNIST: pixel / 255, in [0, 1]).
 */
public final class LabeledData implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final String name;
    private final float[] features;
    private final int[] labels;
    private final int numFeatures;
    private final int numClasses;
    private final long[] ids;
    private final int[] shape;
    private final int[] lengths;
    /** The user's key of each example (a table's id column), or null for data without keys. */
    private final String[] keys;

    public LabeledData(String name, float[] features, int[] labels, int numFeatures, int numClasses) {
        this(name, features, labels, numFeatures, numClasses, null);
    }

    /**
     * @param ids a stable id per example (its index in the source dataset); null means 0..N-1
     */
    public LabeledData(String name, float[] features, int[] labels, int numFeatures, int numClasses, long[] ids) {
        this(name, features, labels, new int[] {numFeatures}, numClasses, ids, null);
    }

    /**
     * @param shape   the shape of one example: (C, H, W) images, (T, F) sequences, (D) vectors
     * @param ids     a stable id per example (its index in the source dataset); null means 0..N-1
     * @param lengths for (T, F) sequences padded to T steps, each example's real steps (1..T); null when
     *                all are full length. Padded steps hold zeros.
     */
    public LabeledData(String name, float[] features, int[] labels, int[] shape, int numClasses, long[] ids,
            int[] lengths) {
        int numFeatures = 1;
        for (int s : shape) {
            if (s < 1) {
                throw new IllegalArgumentException(name + ": example shape " + java.util.Arrays.toString(shape));
            }
            numFeatures = Math.multiplyExact(numFeatures, s);
        }
        if (lengths != null) {
            if (shape.length != 2 || lengths.length != labels.length) {
                throw new IllegalArgumentException(name + ": sequence lengths need (steps, features) examples and one "
                        + "length per example; got shape " + java.util.Arrays.toString(shape) + " and " + lengths.length
                        + " lengths for " + labels.length + " examples");
            }
            for (int i = 0; i < lengths.length; i++) {
                if (lengths[i] < 1 || lengths[i] > shape[0]) {
                    throw new IllegalArgumentException(name + ": example " + i + " has length " + lengths[i]
                            + ", outside [1, " + shape[0] + "]");
                }
            }
        }
        this.shape = shape.clone();
        this.lengths = lengths;
        this.keys = null;
        if (numFeatures < 1 || features.length != (long) labels.length * numFeatures) {
            throw new IllegalArgumentException(name + ": " + features.length + " feature values for "
                    + labels.length + " examples of " + numFeatures + " features");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= numClasses) {
                throw new IllegalArgumentException(name + ": label " + labels[i] + " of example " + i
                        + " is outside [0, " + numClasses + ")");
            }
        }
        for (int i = 0; i < features.length; i++) {
            if (!Float.isFinite(features[i])) {
                throw new IllegalArgumentException(name + ": example " + i / numFeatures + " feature "
                        + i % numFeatures + " is " + features[i]);
            }
        }
        if (ids != null && ids.length != labels.length) {
            throw new IllegalArgumentException(name + ": " + ids.length + " ids for " + labels.length + " examples");
        }
        this.ids = ids;
        this.name = name;
        this.features = features;
        this.labels = labels;
        this.numFeatures = numFeatures;
        this.numClasses = numClasses;
    }

    /**
     * Reads an IDX image file and its IDX label file (raw or gzipped), scaling bytes to [0, 1].
     *
     * @param limit at most this many examples (the first ones)
     */
    public static LabeledData fromIdx(String name, Path images, Path labels, int limit) throws IOException {
        return IdxFormat.toData(name, IdxReader.read(images, limit), images.toString(), IdxReader.read(labels, limit),
                labels.toString(), 0);
    }

    public String name() {
        return name;
    }

    public int size() {
        return labels.length;
    }

    public int numFeatures() {
        return numFeatures;
    }

    /** The shape of one example: (C, H, W), (T, F) or (D). */
    public int[] shape() {
        return shape.clone();
    }

    /** True when the examples are sequences of different lengths (see {@link #lengths(int[], int, int)}). */
    public boolean hasLengths() {
        return lengths != null;
    }

    /** Real steps of examples {@code order[from..to)}, or null when all sequences are full length. */
    public int[] lengths(int[] order, int from, int to) {
        if (lengths == null) {
            return null;
        }
        int[] out = new int[to - from];
        for (int r = 0; r < out.length; r++) {
            out[r] = lengths[order[from + r]];
        }
        return out;
    }

    public int numClasses() {
        return numClasses;
    }

    /** The feature array itself (for {@link DataDigest}; never changed). */
    float[] featureArray() {
        return features;
    }

    /** Example i's real steps, or -1 when the examples are not sequences of different lengths. */
    int length(int i) {
        return lengths == null ? -1 : lengths[i];
    }

    /** The stable id of example i: its index in the dataset it was read from. */
    public long id(int i) {
        return ids == null ? i : ids[i];
    }

    /**
     * The same examples, each with the user's key (a table's id column, carried into the certification rows).
     *
     * @throws IllegalArgumentException if there is not one key per example
     */
    public LabeledData withKeys(String[] newKeys) {
        if (newKeys != null && newKeys.length != size()) {
            throw new IllegalArgumentException(name + ": " + newKeys.length + " keys for " + size() + " examples");
        }
        if (newKeys == keys) {
            return this;
        }
        return new LabeledData(this, newKeys);
    }

    /** {@code d}'s examples with other keys (nothing to check again). */
    private LabeledData(LabeledData d, String[] keys) {
        this.name = d.name;
        this.features = d.features;
        this.labels = d.labels;
        this.numFeatures = d.numFeatures;
        this.numClasses = d.numClasses;
        this.ids = d.ids;
        this.shape = d.shape;
        this.lengths = d.lengths;
        this.keys = keys;
    }

    /** The user's key of example i, or null when the data has none. */
    public String key(int i) {
        return keys == null ? null : keys[i];
    }

    /** Whether the examples carry the user's keys. */
    public boolean hasKeys() {
        return keys != null;
    }

    /** The examples in id order (this when they already are). */
    public LabeledData sortedById() {
        boolean sorted = true;
        for (int i = 1; i < size() && sorted; i++) {
            sorted = id(i - 1) <= id(i);
        }
        if (sorted) {
            return this;
        }
        Integer[] order = new Integer[size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Long.compare(id(a), id(b)));
        return subset(name, java.util.Arrays.stream(order).mapToInt(Integer::intValue).toArray());
    }

    public int label(int i) {
        return labels[i];
    }

    public int[] labels() {
        return labels.clone();
    }

    /** Examples {@code order[from..to)} as a (B, D) float32 matrix. */
    public INDArray features(int[] order, int from, int to) {
        int b = to - from;
        float[] out = new float[b * numFeatures];
        for (int r = 0; r < b; r++) {
            System.arraycopy(features, order[from + r] * numFeatures, out, r * numFeatures, numFeatures);
        }
        return Nd4j.create(out, new long[] {b, numFeatures}, DataType.FLOAT);
    }

    /** Labels of examples {@code order[from..to)}. */
    public int[] labels(int[] order, int from, int to) {
        int[] out = new int[to - from];
        for (int r = 0; r < out.length; r++) {
            out[r] = labels[order[from + r]];
        }
        return out;
    }

    /** All features as a (N, D) float32 matrix. */
    public INDArray allFeatures() {
        return features(identity(size()), 0, size());
    }

    /**
     * The exact data points of byte-valued data ({@link Format#byteValued()}): every value {@code p / 255f} as
     * the double nearest {@code p / 255}, an (N, D) float64 array; certificates are then about the data
     * point itself, not its float32 rounding.
     *
     * @throws IllegalStateException when a value is not a byte over 255 (the format's promise broken)
     */
    public INDArray bytePoints() {
        return bytePoints(0, size());
    }

    /** {@link #bytePoints()} of examples {@code from..to}. */
    public INDArray bytePoints(int from, int to) {
        double[] x = new double[(to - from) * numFeatures];
        for (int i = 0; i < x.length; i++) {
            float v = features[from * numFeatures + i];
            long p = Math.round(v * 255.0);
            if (p < 0 || p > 255 || (float) p / 255f != v) {
                throw new IllegalStateException(name + ": value " + v + " of example " + (from + i / numFeatures)
                        + " is not a byte over 255");
            }
            x[i] = p / 255.0;
        }
        return org.rollspark.util.Host.array(x, org.nd4j.linalg.api.buffer.DataType.DOUBLE, to - from, numFeatures);
    }

    /** The subset of the given example indices, in that order. */
    public LabeledData subset(String subsetName, int[] idx) {
        float[] x = new float[idx.length * numFeatures];
        int[] y = new int[idx.length];
        long[] id = new long[idx.length];
        String[] k = keys == null ? null : new String[idx.length];
        for (int r = 0; r < idx.length; r++) {
            System.arraycopy(features, idx[r] * numFeatures, x, r * numFeatures, numFeatures);
            y[r] = labels[idx[r]];
            id[r] = id(idx[r]);
            if (k != null) {
                k[r] = keys[idx[r]];
            }
        }
        return new LabeledData(subsetName, x, y, shape, numClasses, id, lengths(idx, 0, idx.length)).withKeys(k);
    }

    /**
     * A seeded split into (train, validation): a shuffle of all indices with the seed, the first
     * {@code validationCount} go to validation. The paper's MNIST split is 55,000 / 5,000 of 60,000.
     */
    public LabeledData[] splitValidation(int validationCount, long seed) {
        if (validationCount < 0 || validationCount >= size()) {
            throw new IllegalArgumentException(name + ": cannot hold out " + validationCount + " of " + size()
                    + " examples for validation");
        }
        boolean[] held = heldOut(size(), validationCount, seed);
        int[] train = new int[size() - validationCount];
        int[] val = new int[validationCount];
        for (int i = 0, t = 0, v = 0; i < held.length; i++) {
            if (held[i]) {
                val[v++] = i;
            } else {
                train[t++] = i;
            }
        }
        return new LabeledData[] {subset(name + ":train", train), subset(name + ":validation", val)};
    }

    /** The seeded validation choice of {@link #splitValidation}: the first {@code count} of a seeded shuffle of n. */
    public static boolean[] heldOut(int n, int count, long seed) {
        int[] perm = permutation(n, seed);
        boolean[] held = new boolean[n];
        for (int i = 0; i < count; i++) {
            held[perm[i]] = true;
        }
        return held;
    }

    /**
     * The seeded balanced cut of {@link #shards}: for each of n examples its piece, from a seeded
     * shuffle cut into {@code parts} contiguous runs whose sizes differ by at most one.
     */
    public static int[] pieces(int n, int parts, long seed) {
        if (parts < 1) {
            throw new IllegalArgumentException("number of shards must be >= 1, got " + parts);
        }
        int[] perm = permutation(n, seed);
        int[] piece = new int[n];
        for (int p = 0; p < parts; p++) {
            int from = (int) ((long) n * p / parts);
            int to = (int) ((long) n * (p + 1) / parts);
            for (int i = from; i < to; i++) {
                piece[perm[i]] = p;
            }
        }
        return piece;
    }

    /**
     * A balanced, seeded sharding: the examples are shuffled with the seed and cut into {@code parts}
     * contiguous pieces whose sizes differ by at most one; each piece keeps dataset order (by id).
     */
    public LabeledData[] shards(int parts, long seed) {
        int[] piece = pieces(size(), parts, seed);
        int[] count = new int[parts];
        for (int p : piece) {
            count[p]++;
        }
        int[][] idx = new int[parts][];
        for (int p = 0; p < parts; p++) {
            idx[p] = new int[count[p]];
        }
        int[] fill = new int[parts];
        for (int i = 0; i < piece.length; i++) {
            idx[piece[i]][fill[piece[i]]++] = i;
        }
        LabeledData[] out = new LabeledData[parts];
        for (int p = 0; p < parts; p++) {
            out[p] = subset(name + ":shard" + p, idx[p]);
        }
        return out;
    }

    /**
     * The examples' fingerprint ({@link DataDigest}): their shape, labels, sequence lengths and feature
     * bits, in order. The same examples in the same order have the same fingerprint however they were cut
     * into parts: the reader's parts combine their digests into the dataset's.
     */
    public String fingerprint() {
        return DataDigest.of(this).fingerprint(shape);
    }

    /** The same examples with another name and class count (labels must fit). */
    public LabeledData withClasses(String newName, int classes) {
        return new LabeledData(newName, features, labels, shape, classes, ids, lengths).withKeys(keys);
    }

    /** The first n examples. */
    public LabeledData head(int n) {
        return n >= size() ? this : subset(name, identity(n));
    }

    /** The stable ids of all examples. */
    public long[] ids() {
        long[] out = new long[size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = id(i);
        }
        return out;
    }

    /**
     * Sequences padded (with zero steps) to {@code steps}; full-length data of shape (T, F) gets
     * lengths. Fails on a sequence longer than {@code steps}.
     */
    public LabeledData padTo(int steps) {
        if (shape.length != 2) {
            throw new IllegalArgumentException(name + ": only (steps, features) sequences can be padded");
        }
        int t = shape[0];
        int f = shape[1];
        int[] len = lengths != null ? lengths : filled(size(), t);
        if (t > steps) {
            for (int i = 0; i < size(); i++) {
                if (len[i] > steps) {
                    throw new IllegalArgumentException(name + ": example " + id(i) + " has " + len[i] + " steps, more than the "
                            + steps + " the model takes (the training data's longest)");
                }
            }
        }
        if (t == steps) {
            return lengths != null ? this : new LabeledData(name, features, labels, shape, numClasses, ids, len).withKeys(keys);
        }
        float[] x = new float[size() * steps * f];
        for (int i = 0; i < size(); i++) {
            System.arraycopy(features, i * t * f, x, i * steps * f, len[i] * f);
        }
        return new LabeledData(name, x, labels, new int[] {steps, f}, numClasses, ids, len.clone()).withKeys(keys);
    }

    /** Images (C, H, W) read row by row as H time steps of C * W features (a sequential view). */
    public LabeledData sequential() {
        if (shape.length != 3) {
            throw new IllegalArgumentException(name + ": the sequential view needs (channels, height, width) images, got "
                    + java.util.Arrays.toString(shape));
        }
        int c = shape[0];
        int h = shape[1];
        int w = shape[2];
        float[] x = new float[features.length];
        for (int e = 0; e < size(); e++) {
            int base = e * numFeatures;
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < h; i++) {
                    System.arraycopy(features, base + (ch * h + i) * w, x, base + (i * c + ch) * w, w);
                }
            }
        }
        return new LabeledData(name, x, labels, new int[] {h, c * w}, numClasses, ids, null).withKeys(keys);
    }

    /** The examples of several pieces with the same shape, in the given order. */
    public static LabeledData concat(String name, java.util.List<LabeledData> pieces, int[] shape, int classes) {
        int n = 0;
        boolean anyLengths = false;
        for (LabeledData p : pieces) {
            n += p.size();
            anyLengths |= p.lengths != null;
        }
        int d = 1;
        for (int s : shape) {
            d *= s;
        }
        float[] x = new float[n * d];
        int[] y = new int[n];
        long[] id = new long[n];
        int[] len = anyLengths ? new int[n] : null;
        String[] keys = pieces.stream().anyMatch(LabeledData::hasKeys) ? new String[n] : null;
        int at = 0;
        for (LabeledData p : pieces) {
            if (!java.util.Arrays.equals(p.shape, shape)) {
                throw new IllegalArgumentException(p.name + ": examples of shape " + java.util.Arrays.toString(p.shape)
                        + ", expected " + java.util.Arrays.toString(shape));
            }
            System.arraycopy(p.features, 0, x, at * d, p.features.length);
            for (int i = 0; i < p.size(); i++) {
                y[at + i] = p.labels[i];
                id[at + i] = p.id(i);
                if (len != null) {
                    len[at + i] = p.lengths == null ? shape[0] : p.lengths[i];
                }
                if (keys != null) {
                    keys[at + i] = p.key(i);
                }
            }
            at += p.size();
        }
        return new LabeledData(name, x, y, shape, classes, id, len).withKeys(keys);
    }

    /** Examples' real values only: per feature sum, sum of squares (float64) and count; padded steps left out. */
    public double[][] featureSums() {
        double[] s1 = new double[numFeatures];
        double[] s2 = new double[numFeatures];
        double[] cnt = new double[numFeatures];
        int stepSize = lengths == null ? numFeatures : shape[1];
        for (int e = 0; e < size(); e++) {
            int real = lengths == null ? numFeatures : lengths[e] * stepSize;
            int base = e * numFeatures;
            for (int j = 0; j < real; j++) {
                double v = features[base + j];
                s1[j] += v;
                s2[j] += v * v;
                cnt[j] += 1;
            }
        }
        return new double[][] {s1, s2, cnt};
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    /** A seeded permutation of 0..n-1 (Fisher-Yates with SplittableRandom). */
    public static int[] permutation(int n, long seed) {
        int[] p = identity(n);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    public static int[] identity(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        return p;
    }

    /** The bundled MNIST slice (data/mnist under the given project root). */
    public static LabeledData[] bundledMnist(Path root) throws IOException {
        Path d = root.resolve("data").resolve("mnist");
        return new LabeledData[] {
            fromIdx("mnist-slice:train", d.resolve("train-images-idx3-ubyte.gz"), d.resolve("train-labels-idx1-ubyte.gz"),
                    Integer.MAX_VALUE),
            fromIdx("mnist-slice:test", d.resolve("t10k-images-idx3-ubyte.gz"), d.resolve("t10k-labels-idx1-ubyte.gz"),
                    Integer.MAX_VALUE)};
    }
}
