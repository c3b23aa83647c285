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
import org.rollspark.data.LabeledData;

/**
 * One partition of a table's rows (features, label and optionally id, in that order) as one chunk of examples, on an
 * executor: features from an array of float or double or a Spark ML vector, labels from integers or from strings
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
    private final boolean vector;
    private final java.util.HashMap<String, Integer> classIndex;
    private final int numClasses;

    /**
     * @param table       the table's name for errors (its path or catalog name)
     * @param columns     the features, label and id column names (id "" when none)
     * @param shape       every example's shape (empty: a flat vector of the first row's length)
     * @param vector      whether the features column holds Spark ML vectors (else arrays)
     * @param classIndex  string labels' class indices (null: integer labels)
     * @param numClasses  integer labels must lie below it (0: any)
     */
    TableChunks(String table, String[] columns, int[] shape, boolean vector, Map<String, Integer> classIndex,
            int numClasses) {
        this.table = table;
        this.columns = columns.clone();
        this.shape = shape.clone();
        this.vector = vector;
        this.classIndex = classIndex == null ? null : new java.util.HashMap<>(classIndex);
        this.numClasses = numClasses;
    }

    @Override
    public Iterator<LabeledData> call(Integer partition, Iterator<Row> rows) throws Exception {
        org.rollspark.blas.KernelCheck.ensure(TaskThreads::executor); // an executor's first task may be this one
        boolean keyed = !columns[2].isEmpty();
        int d = 1;
        for (int s : shape) {
            d *= s;
        }
        if (shape.length == 0) {
            d = -1; // the first row's length
        }
        List<float[]> features = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        int maxLabel = 0;
        for (int r = 0; rows.hasNext(); r++) {
            Row row = rows.next();
            String key = keyed && !row.isNullAt(2) ? String.valueOf(row.get(2)) : null;
            String at = key != null ? "row with " + columns[2] + " = " + key : "row " + r + " of partition " + partition;
            if (keyed && key == null) {
                throw new DataFormatException(table, at, "column " + columns[2] + " is null");
            }
            float[] x = features(row, at);
            if (d < 0) {
                d = x.length;
            }
            if (x.length != d) {
                throw new DataFormatException(table, at, "column " + columns[0] + " holds " + x.length + " values, but "
                        + (shape.length == 0 ? "other rows hold " + d : "roll.data.shape " + java.util.Arrays.toString(shape)
                                + " takes " + d));
            }
            int y = label(row, at);
            maxLabel = Math.max(maxLabel, y);
            features.add(x);
            labels.add(y);
            keys.add(key);
        }
        if (features.isEmpty()) {
            return java.util.Collections.emptyIterator();
        }
        int n = features.size();
        float[] all = new float[n * d];
        int[] y = new int[n];
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(features.get(i), 0, all, i * d, d);
            y[i] = labels.get(i);
            ids[i] = keyed ? id(keys.get(i)) : contentId(y[i], features.get(i));
        }
        int classes = classIndex != null ? classIndex.size() : numClasses > 0 ? numClasses : Math.max(2, maxLabel + 1);
        LabeledData chunk = new LabeledData(table, all, y, shape.length == 0 ? new int[] {d} : shape, classes, ids, null)
                .withKeys(keyed ? keys.toArray(String[]::new) : null);
        return List.of(chunk.sortedById()).iterator();
    }

    private float[] features(Row row, String at) throws DataFormatException {
        if (row.isNullAt(0)) {
            throw new DataFormatException(table, at, "column " + columns[0] + " is null");
        }
        float[] x;
        if (vector) {
            double[] v = ((org.apache.spark.ml.linalg.Vector) row.get(0)).toArray();
            x = new float[v.length];
            for (int k = 0; k < v.length; k++) {
                x[k] = (float) v[k];
            }
        } else {
            List<Object> list = row.getList(0);
            x = new float[list.size()];
            for (int k = 0; k < x.length; k++) {
                Object o = list.get(k);
                if (o == null) {
                    throw new DataFormatException(table, at, "column " + columns[0] + " holds a null at position " + k);
                }
                x[k] = ((Number) o).floatValue();
            }
        }
        for (int k = 0; k < x.length; k++) {
            if (!Float.isFinite(x[k])) {
                throw new DataFormatException(table, at, "column " + columns[0] + " holds " + x[k] + " at position " + k
                        + " (not finite)");
            }
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
                    + (numClasses > 0 ? numClasses : "2^31 - 1") + ")" + (numClasses > 0 ? " (roll.data.numClasses)" : ""));
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
