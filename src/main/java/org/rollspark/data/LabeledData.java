package org.rollspark.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.Provenance;

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

    public LabeledData(String name, float[] features, int[] labels, int numFeatures, int numClasses) {
        this(name, features, labels, numFeatures, numClasses, null);
    }

    /**
     * @param ids a stable id per example (its index in the source dataset); null means 0..N-1
     */
    public LabeledData(String name, float[] features, int[] labels, int numFeatures, int numClasses, long[] ids) {
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
        IdxReader.Idx img = IdxReader.read(images, limit);
        IdxReader.Idx lab = IdxReader.read(labels, limit);
        if (lab.dims().length != 1) {
            throw new IOException(labels + ": a label file has 1 dimension, this one has " + lab.dims().length);
        }
        if (img.dims().length < 2) {
            throw new IOException(images + ": an image file has at least 2 dimensions, this one has " + img.dims().length);
        }
        if (img.count() != lab.count()) {
            throw new IOException(images + " has " + img.count() + " images but " + labels + " has "
                    + lab.count() + " labels");
        }
        int d = img.itemSize();
        float[] x = new float[img.data().length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (img.data()[i] & 0xff) / 255f;
        }
        int[] y = new int[lab.count()];
        int max = 0;
        for (int i = 0; i < y.length; i++) {
            y[i] = lab.data()[i] & 0xff;
            max = Math.max(max, y[i]);
        }
        return new LabeledData(name, x, y, d, Math.max(10, max + 1));
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

    public int numClasses() {
        return numClasses;
    }

    /** The stable id of example i: its index in the dataset it was read from. */
    public long id(int i) {
        return ids == null ? i : ids[i];
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

    /** The subset of the given example indices, in that order. */
    public LabeledData subset(String subsetName, int[] idx) {
        float[] x = new float[idx.length * numFeatures];
        int[] y = new int[idx.length];
        long[] id = new long[idx.length];
        for (int r = 0; r < idx.length; r++) {
            System.arraycopy(features, idx[r] * numFeatures, x, r * numFeatures, numFeatures);
            y[r] = labels[idx[r]];
            id[r] = id(idx[r]);
        }
        return new LabeledData(subsetName, x, y, numFeatures, numClasses, id);
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
        int[] perm = permutation(size(), seed);
        int[] val = java.util.Arrays.copyOfRange(perm, 0, validationCount);
        int[] train = java.util.Arrays.copyOfRange(perm, validationCount, size());
        java.util.Arrays.sort(val);
        java.util.Arrays.sort(train);
        return new LabeledData[] {subset(name + ":train", train), subset(name + ":validation", val)};
    }

    /**
     * A balanced, seeded sharding: the examples are shuffled with the seed and cut into {@code parts}
     * contiguous pieces whose sizes differ by at most one; each piece keeps dataset order (by id).
     */
    public LabeledData[] shards(int parts, long seed) {
        if (parts < 1) {
            throw new IllegalArgumentException("number of shards must be >= 1, got " + parts);
        }
        int[] perm = permutation(size(), seed);
        LabeledData[] out = new LabeledData[parts];
        for (int p = 0; p < parts; p++) {
            int from = (int) ((long) size() * p / parts);
            int to = (int) ((long) size() * (p + 1) / parts);
            int[] idx = java.util.Arrays.copyOfRange(perm, from, to);
            java.util.Arrays.sort(idx);
            out[p] = subset(name + ":shard" + p, idx);
        }
        return out;
    }

    /** SHA-256 over the number of features, the labels and the raw feature values. */
    public String fingerprint() {
        MessageDigest md = Provenance.digest();
        ByteBuffer b = ByteBuffer.allocate(8 + 4 * labels.length);
        b.putInt(numFeatures).putInt(labels.length);
        for (int y : labels) {
            b.putInt(y);
        }
        md.update(b.array());
        ByteBuffer f = ByteBuffer.allocate(4 * 4096);
        for (int i = 0; i < features.length; i++) {
            if (!f.hasRemaining()) {
                md.update(f.array(), 0, f.position());
                f.clear();
            }
            f.putFloat(features[i]);
        }
        md.update(f.array(), 0, f.position());
        return "sha256:" + HexFormat.of().formatHex(md.digest());
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

    static int[] identity(int n) {
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
