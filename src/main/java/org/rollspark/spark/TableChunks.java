package org.rollspark.spark;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Row;
import org.rollspark.Provenance;
import org.rollspark.data.DataFormatException;
import org.rollspark.data.DataSpec;
import org.rollspark.data.LabeledData;
import org.rollspark.data.TableFormat;

/**
 * One partition of a table's rows (features, label and optionally id, in that order) as one chunk of examples, on an
 * executor: features from an array of float or double, a Spark ML vector, a sequence (an array of such arrays, one
 * per step: the chunk is padded to its longest, with lengths), an image of Spark's {@code image} source or an encoded
 * image (PNG, JPEG: binary, as Spark's {@code binaryFile} source gives), labels from integers or from strings
 * through the class names, ids from the id column's values (the user's keys, kept with the examples) or from the
 * rows' content. The chunk is in id order, so what the pipeline does with it depends on the rows, not on how Spark
 * cut them into partitions. A null, NaN or infinite value, a features array of another length, an unknown label or a
 * negative one is a {@link DataFormatException} naming the table, the column and the row (its id, or its place).
 */
final class TableChunks implements Function2<Integer, Iterator<Row>, Iterator<LabeledData>> {
    private static final long serialVersionUID = 1L;

    private final String table;
    private final String[] columns;
    private final int[] shape;
    private final Kind kind;
    private final java.util.HashMap<String, Integer> classIndex;
    private final int numClasses;
    private final boolean sortById;

    /**
     * @param table       the table's name for errors (its path or catalog name)
     * @param columns     the features, label and id column names (id "" when none)
     * @param shape       every example's shape (empty: the first row's; a sequence's steps are a maximum)
     * @param kind        what the features column holds
     * @param classIndex  string labels' class indices (null: integer labels)
     * @param numClasses  integer labels must lie below it (0: any)
     */
    TableChunks(String table, String[] columns, int[] shape, Kind kind, Map<String, Integer> classIndex,
            int numClasses) {
        this(table, columns, shape, kind, classIndex, numClasses, true);
    }

    /** @param sortById each chunk in id order (the pipeline's); false: in the rows' order (scoring a DataFrame) */
    TableChunks(String table, String[] columns, int[] shape, Kind kind, Map<String, Integer> classIndex,
            int numClasses, boolean sortById) {
        this.sortById = sortById;
        this.table = table;
        this.columns = columns.clone();
        this.shape = shape.clone();
        this.kind = kind;
        this.classIndex = classIndex == null ? null : new java.util.HashMap<>(classIndex);
        this.numClasses = numClasses;
    }

    @Override
    public Iterator<LabeledData> call(Integer partition, Iterator<Row> rows) throws Exception {
        org.rollspark.blas.KernelCheck.ensure(TaskThreads::executor); // an executor's first task may be this one
        int[][] rowShape = {shape.length == 0 ? null : shape.clone()}; // the first row's, or data.shape
        int[] read = {0};
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public LabeledData next() {
                try {
                    return chunk(partition, rows, rowShape, read);
                } catch (DataFormatException e) {
                    throw new java.io.UncheckedIOException(e.getMessage(), e);
                }
            }
        };
    }

    /** Most bytes of features in one chunk: a partition's rows come as chunks of this size, one at a time. */
    static final long CHUNK_BYTES = 8L << 20;

    /**
     * The partition's next rows, up to {@link #CHUNK_BYTES} of features, as one chunk in id order.
     *
     * @param rowShape the shape every row must have (set from the first row when data.shape is empty)
     * @param read     the partition's rows read so far (a row's place in errors), advanced
     */
    LabeledData chunk(int partition, Iterator<Row> rows, int[][] rowShape, int[] read)
            throws DataFormatException {
        boolean keyed = !columns[2].isEmpty();
        boolean sequences = kind == Kind.SEQUENCE;
        List<float[]> features = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        List<Integer> steps = new ArrayList<>();
        int maxLabel = 0;
        int longest = 0;
        long bytes = 0;
        while (rows.hasNext() && bytes < CHUNK_BYTES) {
            Row row = rows.next();
            int r = read[0]++;
            String key = keyed && !row.isNullAt(2) ? String.valueOf(row.get(2)) : null;
            String at = key != null ? "row with " + columns[2] + " = " + key : "row " + r + " of partition " + partition;
            if (keyed && key == null) {
                throw new DataFormatException(table, at, "column " + columns[2] + " is null");
            }
            if (row.isNullAt(0)) {
                throw new DataFormatException(table, at, "column " + columns[0] + " is null");
            }
            int[] s = new int[3]; // a sequence's steps, an image's (C, H, W)
            float[] x = switch (kind) {
                case ARRAY, VECTOR -> flat(row, at);
                case SEQUENCE -> sequence(row.getList(0), rowShape[0] == null ? -1 : rowShape[0][1], at, s);
                case IMAGE -> image(row.getStruct(0), at, s);
                case ENCODED -> encoded((byte[]) row.get(0), at, s);
            };
            int[] mine = switch (kind) {
                case ARRAY, VECTOR -> new int[] {x.length};
                case SEQUENCE -> new int[] {s[0], x.length / s[0]};
                case IMAGE, ENCODED -> new int[] {s[0], s[1], s[2]};
            };
            check(x, at);
            if (rowShape[0] == null) {
                rowShape[0] = mine; // the first row's
            }
            int[] want = rowShape[0];
            boolean fits = sequences ? mine[1] == want[1] && (shape.length == 0 || mine[0] <= shape[0])
                    : java.util.Arrays.equals(mine, want) || (kind.flat() || want.length == 1) && x.length == size(want);
            if (!fits) {
                throw new DataFormatException(table, at, "column " + columns[0] + " holds " + describe(mine) + ", but "
                        + (shape.length == 0 ? "other rows hold " + describe(want) : TableFormat.SHAPE + " "
                                + java.util.Arrays.toString(shape) + " takes " + describe(shape)));
            }
            int y = label(row, at);
            maxLabel = Math.max(maxLabel, y);
            features.add(x);
            bytes += 4L * x.length + 64;
            labels.add(y);
            keys.add(key);
            if (sequences) {
                steps.add(mine[0]);
                longest = Math.max(longest, mine[0]);
            }
        }
        int n = features.size();
        int[] outShape = sequences ? new int[] {shape.length == 0 ? longest : shape[0], rowShape[0][1]}
                : kind.flat() && shape.length == 0 ? new int[] {rowShape[0][0]} : rowShape[0];
        int d = size(outShape);
        float[] all = new float[n * d];
        int[] y = new int[n];
        long[] ids = new long[n];
        int[] lengths = sequences ? new int[n] : null;
        for (int i = 0; i < n; i++) {
            float[] x = features.get(i);
            System.arraycopy(x, 0, all, i * d, x.length); // a sequence's steps first, then zeros
            y[i] = labels.get(i);
            ids[i] = keyed ? id(keys.get(i)) : contentId(y[i], x);
            if (sequences) {
                lengths[i] = steps.get(i);
            }
        }
        int classes = classIndex != null ? classIndex.size() : numClasses > 0 ? numClasses : Math.max(2, maxLabel + 1);
        LabeledData chunk = new LabeledData(table, all, y, outShape, classes, ids, lengths)
                .withKeys(keyed ? keys.toArray(String[]::new) : null);
        return sortById ? chunk.sortedById() : chunk;
    }

    /** What a features column holds. */
    enum Kind {
        /** array&lt;float | double&gt; */
        ARRAY,
        /** a Spark ML vector, dense or sparse */
        VECTOR,
        /** array&lt;array&lt;float | double&gt;&gt;: steps of features, of any number of steps */
        SEQUENCE,
        /** a row of Spark's image source: origin, height, width, nChannels, mode, data */
        IMAGE,
        /** binary: an encoded image (PNG, JPEG, BMP, GIF) */
        ENCODED;

        /** Whether the values are one flat vector that roll.data.shape may give any shape of the same size. */
        boolean flat() {
            return this == ARRAY || this == VECTOR;
        }
    }

    private static int size(int[] shape) {
        int d = 1;
        for (int s : shape) {
            d *= s;
        }
        return d;
    }

    private static String describe(int[] shape) {
        return shape.length == 1 ? shape[0] + " values" : shape.length == 2 ? shape[0] + " steps of " + shape[1]
                + " features" : "images of " + shape[0] + " x " + shape[1] + " x " + shape[2] + " (channels x height x width)";
    }

    private void check(float[] x, String at) throws DataFormatException {
        for (int k = 0; k < x.length; k++) {
            if (!Float.isFinite(x[k])) {
                throw new DataFormatException(table, at, "column " + columns[0] + " holds " + x[k] + " at position " + k
                        + " (not finite)");
            }
        }
    }

    /** A sequence's steps, flattened; {@code steps[0]} is set to their number. */
    private float[] sequence(List<Object> rows, int features, String at, int[] steps) throws DataFormatException {
        if (rows.isEmpty()) {
            throw new DataFormatException(table, at, "column " + columns[0] + " holds a sequence of no steps");
        }
        int f = features;
        float[] x = null;
        for (int t = 0; t < rows.size(); t++) {
            Object step = rows.get(t);
            if (step == null) {
                throw new DataFormatException(table, at, "column " + columns[0] + " holds a null at step " + t);
            }
            List<?> v = step instanceof List<?> l ? l : asList((scala.collection.Seq<?>) step);
            if (f < 0) {
                f = v.size();
            }
            if (v.size() != f || f == 0) {
                throw new DataFormatException(table, at, "column " + columns[0] + " holds " + v.size() + " features at step "
                        + t + ", but " + (features < 0 ? "its first step holds " : "the sequences hold ") + f);
            }
            if (x == null) {
                x = new float[rows.size() * f];
            }
            for (int k = 0; k < f; k++) {
                Object o = v.get(k);
                if (o == null) {
                    throw new DataFormatException(table, at, "column " + columns[0] + " holds a null at step " + t
                            + ", feature " + k);
                }
                x[t * f + k] = ((Number) o).floatValue();
            }
        }
        steps[0] = rows.size();
        return x;
    }

    private static List<Object> asList(scala.collection.Seq<?> seq) {
        List<Object> l = new ArrayList<>(seq.size());
        for (int k = 0; k < seq.size(); k++) {
            l.add(seq.apply(k));
        }
        return l;
    }

    /** A row of Spark's image source as (C, H, W); {@code shape} is set to them. */
    private float[] image(Row img, String at, int[] shape) throws DataFormatException {
        int h = img.getInt(img.fieldIndex("height"));
        int w = img.getInt(img.fieldIndex("width"));
        int c = img.getInt(img.fieldIndex("nChannels"));
        byte[] data = (byte[]) img.get(img.fieldIndex("data"));
        if (h < 1 || w < 1 || c < 1 || data == null || data.length != (long) h * w * c) {
            throw new DataFormatException(table, at, "column " + columns[0] + " holds no image (origin "
                    + img.getString(img.fieldIndex("origin")) + ": not an image Spark's image source could decode)");
        }
        shape[0] = c == 1 ? 1 : 3;
        shape[1] = h;
        shape[2] = w;
        return org.rollspark.data.Images.chw(data, h, w, c);
    }

    /** An encoded image as (C, H, W); {@code shape} is set to them. */
    private float[] encoded(byte[] bytes, String at, int[] shape) throws DataFormatException {
        java.awt.image.BufferedImage img;
        try {
            img = org.rollspark.data.Images.decode(new java.io.ByteArrayInputStream(bytes), table);
        } catch (java.io.IOException | RuntimeException e) {
            throw new DataFormatException(table, at, "column " + columns[0] + " holds an unreadable image ("
                    + e.getMessage() + ")", e);
        }
        if (img == null || img.getWidth() < 1 || img.getHeight() < 1) {
            throw new DataFormatException(table, at, "column " + columns[0] + " holds " + bytes.length + " bytes that are "
                    + "not a JPEG, PNG, BMP or GIF image javax.imageio decodes");
        }
        float[] x = org.rollspark.data.Images.chw(img);
        shape[0] = x.length / (img.getHeight() * img.getWidth());
        shape[1] = img.getHeight();
        shape[2] = img.getWidth();
        return x;
    }

    /** An array's or a vector's values. */
    private float[] flat(Row row, String at) throws DataFormatException {
        if (kind == Kind.VECTOR) {
            double[] v = ((org.apache.spark.ml.linalg.Vector) row.get(0)).toArray();
            float[] x = new float[v.length];
            for (int k = 0; k < v.length; k++) {
                x[k] = (float) v[k];
            }
            return x;
        }
        List<Object> list = row.getList(0);
        float[] x = new float[list.size()];
        for (int k = 0; k < x.length; k++) {
            Object o = list.get(k);
            if (o == null) {
                throw new DataFormatException(table, at, "column " + columns[0] + " holds a null at position " + k);
            }
            x[k] = ((Number) o).floatValue();
        }
        return x;
    }

    private int label(Row row, String at) throws DataFormatException {
        if (row.isNullAt(1)) {
            throw new DataFormatException(table, at, "column " + columns[1] + " is null");
        }
        Object v = row.get(1);
        if (classIndex != null) {
            Integer c = classIndex.get((String) v);
            if (c == null) {
                throw new DataFormatException(table, at, "label '" + v + "' in column " + columns[1] + " is not one of the "
                        + classIndex.size() + " classes " + new java.util.TreeMap<>(classIndex).keySet());
            }
            return c;
        }
        long y = ((Number) v).longValue();
        if (y < 0 || y > Integer.MAX_VALUE - 1 || numClasses > 0 && y >= numClasses) {
            throw new DataFormatException(table, at, "label " + y + " in column " + columns[1] + " is outside [0, "
                    + (numClasses > 0 ? numClasses : "2^31 - 1") + ")" + (numClasses > 0 ? " (" + DataSpec.NUM_CLASSES + ")" : ""));
        }
        return (int) y;
    }

    /** A row's id from its key: the first 8 bytes of the key's SHA-256 (distinct keys collide with odds 2^-64 a pair). */
    static long id(String key) {
        return ByteBuffer.wrap(Provenance.digest().digest(key.getBytes(StandardCharsets.UTF_8))).getLong();
    }

    /** A row's id from its content (label and feature bits), for tables without an id column. */
    static long contentId(int label, float[] x) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * x.length);
        b.putInt(label);
        for (float v : x) {
            b.putInt(Float.floatToIntBits(v));
        }
        return ByteBuffer.wrap(Provenance.digest().digest(b.array())).getLong();
    }
}
