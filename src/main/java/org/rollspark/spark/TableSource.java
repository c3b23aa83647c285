package org.rollspark.spark;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.rollspark.data.DataDigest;
import org.rollspark.data.DataFormatException;
import org.rollspark.data.DataSpec;
import org.rollspark.data.Format;
import org.rollspark.data.LabeledData;
import org.rollspark.data.TableFormat;
import scala.Tuple2;
import scala.Tuple3;

/**
 * A table read for the pipeline (data.format = table): planned on the driver with Spark SQL (a DataFrameReader
 * source on a path, or a catalog table), its schema checked before any row is read, its rows turned into examples on
 * the executors ({@link TableChunks}); the driver sees the schema, the class names of string labels, and per
 * example an id and a label, as for files. Examples are identified by their id column's values (or their content),
 * so the limit (the examples with the smallest ids), the split, the shards and the fingerprint (order-free:
 * {@link DataDigest#ofSet}) depend on the rows and not on how Spark partitions them.
 */
final class TableSource {
    private TableSource() {}

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("org.rollspark.data");

    /**
     * Reads a table.
     *
     * @param trainClasses the training table's class names, for a test table with string labels (null: none)
     * @throws DataFormatException naming the table (and the column, and the row where it is one) for a table that
     *     cannot be read, a missing column or one of the wrong type, an empty table, bad rows, repeated ids
     */
    static DataPipeline.Source read(JavaSparkContext sc, TableFormat f, Format.Location loc, boolean sequential,
            int limit, String what, List<String> trainClasses) throws IOException {
        return read(sc, f, loc, null, sequential, limit, what, trainClasses);
    }

    /**
     * Reads a table, or the rows of {@code given} (a Spark program's DataFrame, named by {@code loc} in errors and
     * provenance) when it is not null.
     */
    static DataPipeline.Source read(JavaSparkContext sc, TableFormat f, Format.Location loc, Dataset<Row> given,
            boolean sequential, int limit, String what, List<String> trainClasses) throws IOException {
        String table = loc.data();
        SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        Dataset<Row> df;
        try {
            df = given != null ? given : f.source().equals(TableFormat.CATALOG) ? spark.table(table)
                    : spark.read().format(f.source()).load(table);
        } catch (Exception e) { // AnalysisException (checked in Java's eyes): no such path or table, an unknown source
            throw new DataFormatException(table, "", "cannot be read as a " + (f.source().equals(TableFormat.CATALOG)
                    ? "catalog table" : f.source() + " table") + " (" + TableFormat.SOURCE + "): " + firstLine(e.getMessage()), e);
        }
        String[] columns = {f.featuresColumn(), f.labelColumn(), f.idColumn()};
        DataType features = column(df, table, columns[0], TableFormat.FEATURES_COLUMN.path());
        TableChunks.Kind kind = kind(features);
        if (kind == null) {
            throw new DataFormatException(table, "column " + columns[0], "is " + features.simpleString() + "; the features "
                    + "must be array<float>, array<double>, a Spark ML vector, a sequence array<array<float>> or "
                    + "array<array<double>>, an image of Spark's image source, or an encoded image (binary) "
                    + "(" + TableFormat.FEATURES_COLUMN + ")");
        }
        int[] shape = f.shape();
        if (kind == TableChunks.Kind.SEQUENCE && shape.length != 0 && shape.length != 2
                || (kind == TableChunks.Kind.IMAGE || kind == TableChunks.Kind.ENCODED) && shape.length != 0
                        && shape.length != 3) {
            throw new DataFormatException(table, "column " + columns[0], "holds " + (kind == TableChunks.Kind.SEQUENCE
                    ? "sequences: " + TableFormat.SHAPE + " must be [steps, features] or empty" : "images: " + TableFormat.SHAPE + " must be "
                            + "[channels, height, width] or empty") + ", got " + Arrays.toString(shape));
        }
        DataType label = column(df, table, columns[1], DataSpec.LABEL_COLUMN.path());
        boolean strings = label.equals(DataTypes.StringType);
        if (!strings && !(label.equals(DataTypes.IntegerType) || label.equals(DataTypes.LongType)
                || label.equals(DataTypes.ShortType) || label.equals(DataTypes.ByteType))) {
            throw new DataFormatException(table, "column " + columns[1], "is " + label.simpleString() + "; labels must be "
                    + "integers or strings (" + DataSpec.LABEL_COLUMN + ")");
        }
        List<org.apache.spark.sql.Column> selected = new ArrayList<>(List.of(functions.col(columns[0]),
                functions.col(columns[1])));
        if (!columns[2].isEmpty()) {
            DataType id = column(df, table, columns[2], TableFormat.ID_COLUMN.path());
            if (id instanceof ArrayType || id instanceof StructType || id instanceof org.apache.spark.sql.types.MapType
                    || id.equals(DataTypes.BinaryType) || id instanceof org.apache.spark.sql.types.UserDefinedType) {
                throw new DataFormatException(table, "column " + columns[2], "is " + id.simpleString() + "; an id column "
                        + "must be of a primitive type (" + TableFormat.ID_COLUMN + ")");
            }
            selected.add(functions.col(columns[2]));
        }
        Dataset<Row> rows = df.select(selected.toArray(org.apache.spark.sql.Column[]::new));
        List<String> classNames = null;
        Map<String, Integer> classIndex = null;
        if (strings) {
            classNames = !f.classes().isEmpty() ? f.classes() : trainClasses != null ? trainClasses
                    : df.select(functions.col(columns[1])).where(functions.col(columns[1]).isNotNull()).distinct()
                            .collectAsList().stream().map(r -> r.getString(0)).sorted().toList();
            classIndex = new LinkedHashMap<>();
            for (int i = 0; i < classNames.size(); i++) {
                classIndex.put(classNames.get(i), i);
            }
        }
        int numClasses = f.numClasses();
        sc.setJobDescription("roll: read " + what + " table " + table);
        // not cached: read twice (described, then shuffled into shards), streamed chunk by chunk each time. A table's
        // partition may hold far more rows than an executor's memory (Spark plans up to 128 MB of compressed Parquet
        // into one); kept in memory it would be unrolled whole, and written to disk by Java serialization every chunk
        // would stay referenced until the stream resets (every 100 objects: 800 MB of chunks)
        JavaRDD<LabeledData> chunks = rows.javaRDD().mapPartitionsWithIndex(new TableChunks(table, columns, shape,
                kind, classIndex, numClasses), false).map(c -> sequential ? c.sequential() : c);
        DataPipeline.Source s = describe(chunks, table, limit, what, !columns[2].isEmpty());
        s.classNames = classNames;
        s.classes = strings ? Math.max(2, classNames.size()) : numClasses > 0 ? numClasses : s.classes;
        s.snapshot = snapshot(df, table, given != null ? "DataFrame" : f.source());
        LOG.info("{} table {}: {}", what, table, s.snapshot);
        return s;
    }

    /** The type of column {@code name} (a top-level column, or a field of a struct column as image.origin). */
    private static DataType column(Dataset<Row> df, String table, String name, String setting) throws DataFormatException {
        try {
            return df.select(functions.col(name)).schema().fields()[0].dataType();
        } catch (Exception e) { // AnalysisException (checked in Java's eyes): no such column
            throw new DataFormatException(table, "column " + name, "no such column (" + setting + "); the table has "
                    + Arrays.toString(df.schema().fieldNames()));
        }
    }

    /** What a features column of this type holds, or null for a type the pipeline cannot read. */
    static TableChunks.Kind kind(DataType t) {
        if (t.equals(org.apache.spark.ml.linalg.SQLDataTypes.VectorType())) {
            return TableChunks.Kind.VECTOR;
        }
        if (t.equals(DataTypes.BinaryType)) {
            return TableChunks.Kind.ENCODED;
        }
        if (t instanceof StructType st && Arrays.asList(st.fieldNames()).containsAll(List.of("origin", "height", "width",
                "nChannels", "data"))) {
            return TableChunks.Kind.IMAGE;
        }
        if (t instanceof ArrayType a) {
            if (numeric(a.elementType())) {
                return TableChunks.Kind.ARRAY;
            }
            if (a.elementType() instanceof ArrayType inner && numeric(inner.elementType())) {
                return TableChunks.Kind.SEQUENCE;
            }
        }
        return null;
    }

    private static boolean numeric(DataType t) {
        return t.equals(DataTypes.FloatType) || t.equals(DataTypes.DoubleType);
    }

    /**
     * The chunks' metadata, checked; repeated ids refused; the limit applied; the order-free fingerprint; every
     * example's id and label, in id order. One pass over the table (two with a limit: the fingerprint of the rows
     * kept); the pipeline's shuffle is the next.
     */
    private static DataPipeline.Source describe(JavaRDD<LabeledData> chunks, String table, int limit, String what,
            boolean keyed) throws IOException {
        List<Tuple3<DataPipeline.Meta, long[], int[]>> parts = chunks.map(c -> new Tuple3<>(new DataPipeline.Meta(c.size(),
                c.shape(), c.numClasses(), c.hasLengths(), DataDigest.ofSet(c)), c.ids(), c.labels())).collect();
        if (parts.isEmpty()) {
            throw new DataFormatException(table, "", "no rows (an empty table)");
        }
        List<DataPipeline.Meta> metas = parts.stream().map(Tuple3::_1).toList();
        DataPipeline.Source s = new DataPipeline.Source();
        s.name = what;
        s.shape = metas.get(0).shape().clone();
        s.longest = table;
        for (DataPipeline.Meta m : metas) {
            if (m.lengths() && m.shape()[1] == s.shape[1]) { // sequences: the longest chunk's steps
                s.lengths = true;
                if (m.shape()[0] > s.shape[0]) {
                    s.shape = m.shape().clone();
                }
            } else if (!Arrays.equals(m.shape(), s.shape)) {
                throw new DataFormatException(table, "", "rows whose features have " + Arrays.stream(m.shape()).reduce(1,
                        (x, y) -> x * y) + " values and rows with " + Arrays.stream(s.shape).reduce(1, (x, y) -> x * y)
                        + " (set " + TableFormat.SHAPE + ", or fix the table)");
            }
            s.classes = Math.max(s.classes, m.classes());
        }
        int n = parts.stream().mapToInt(p -> p._2().length).sum();
        long[] ids = new long[n];
        int[] labels = new int[n];
        int at = 0;
        for (Tuple3<DataPipeline.Meta, long[], int[]> p : parts) {
            System.arraycopy(p._2(), 0, ids, at, p._2().length);
            System.arraycopy(p._3(), 0, labels, at, p._3().length);
            at += p._2().length;
        }
        Tuple2<long[], int[]> sorted = DataPipeline.sortedById(ids, labels);
        ids = sorted._1();
        for (int i = 1; i < ids.length; i++) {
            if (ids[i] == ids[i - 1]) {
                long twice = ids[i];
                String key = keyed ? chunks.flatMap(c -> {
                    List<String> k = new ArrayList<>();
                    for (int e = 0; e < c.size(); e++) {
                        if (c.id(e) == twice) {
                            k.add(c.key(e));
                        }
                    }
                    return k.iterator();
                }).first() : null;
                throw new DataFormatException(table, keyed ? "id " + key : "", keyed ? "the id appears in more than one "
                        + "row; an id column must tell the rows apart (" + TableFormat.ID_COLUMN + ")"
                        : "two rows are identical (label and features): set " + TableFormat.ID_COLUMN + " to a column that tells "
                                + "them apart");
            }
        }
        s.known = sorted;
        if (limit > 0 && limit < ids.length) {
            long last = ids[limit - 1]; // the limit's examples: those with the smallest ids
            chunks = chunks.map(c -> {
                int k = 0;
                while (k < c.size() && c.id(k) <= last) {
                    k++; // a chunk is in id order
                }
                return c.head(k);
            }).filter(c -> c.size() > 0);
            metas = chunks.map(c -> new DataPipeline.Meta(c.size(), c.shape(), c.numClasses(), c.hasLengths(),
                    DataDigest.ofSet(c))).collect();
            s.known = new Tuple2<>(Arrays.copyOf(ids, limit), Arrays.copyOf(sorted._2(), limit));
            if (s.lengths) { // padded to the limit's longest sequence
                s.shape[0] = metas.stream().mapToInt(m -> m.shape()[0]).max().orElse(s.shape[0]);
            }
        }
        DataDigest digest = new DataDigest();
        for (DataPipeline.Meta m : metas) {
            digest = digest.plus(m.digest());
        }
        s.fingerprint = digest.fingerprint(s.shape);
        s.chunks = chunks;
        return s;
    }

    /** Files listed in a snapshot record by name (beyond this many, their count and digest only). */
    static final int LISTED_FILES = 100;

    /**
     * What the table was read from, for provenance: its name (path or catalog name), the reader, and the snapshot of
     * its files: how many, their total size, the newest modification time, a SHA-256 over every file's path, size
     * and modification time (in path order), and the first {@link #LISTED_FILES} of them with their times.
     */
    static Map<String, Object> snapshot(Dataset<Row> df, String table, String source) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("table", table);
        m.put("source", source);
        try {
            String[] files = df.inputFiles().clone();
            Arrays.sort(files);
            org.apache.hadoop.conf.Configuration conf = df.sparkSession().sparkContext().hadoopConfiguration();
            java.security.MessageDigest md = org.rollspark.Provenance.digest();
            List<Map<String, Object>> listed = new ArrayList<>();
            long newest = 0;
            long bytes = 0;
            for (String file : files) {
                org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file);
                org.apache.hadoop.fs.FileStatus st = p.getFileSystem(conf).getFileStatus(p);
                newest = Math.max(newest, st.getModificationTime());
                bytes += st.getLen();
                String modified = java.time.Instant.ofEpochMilli(st.getModificationTime()).toString();
                md.update((file + "\t" + st.getLen() + "\t" + st.getModificationTime() + "\n")
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
                if (listed.size() < LISTED_FILES) {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("path", file);
                    e.put("bytes", st.getLen());
                    e.put("modified", modified);
                    listed.add(e);
                }
            }
            m.put("files", files.length);
            m.put("bytes", bytes);
            m.put("newestModified", java.time.Instant.ofEpochMilli(newest).toString());
            m.put("listing", "sha256:" + java.util.HexFormat.of().formatHex(md.digest()));
            m.put("listed", listed);
        } catch (IOException | RuntimeException e) {
            m.put("files", "not listed: " + e.getMessage());
        }
        return m;
    }

    private static String firstLine(String message) {
        return message == null ? "" : message.lines().findFirst().orElse("");
    }
}
