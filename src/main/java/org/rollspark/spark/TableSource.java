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
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.rollspark.data.DataDigest;
import org.rollspark.data.DataFormatException;
import org.rollspark.data.Format;
import org.rollspark.data.LabeledData;
import org.rollspark.data.TableFormat;

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
        String table = loc.data();
        SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        Dataset<Row> df;
        try {
            df = f.source().equals(TableFormat.CATALOG) ? spark.table(table) : spark.read().format(f.source()).load(table);
        } catch (RuntimeException e) { // AnalysisException: no such path or table, an unknown source
            throw new DataFormatException(table, "", "cannot be read as a " + (f.source().equals(TableFormat.CATALOG)
                    ? "catalog table" : f.source() + " table") + " (roll.data.source): " + firstLine(e.getMessage()), e);
        }
        StructType schema = df.schema();
        String[] columns = {f.featuresColumn(), f.labelColumn(), f.idColumn()};
        DataType features = column(schema, table, columns[0], "roll.data.featuresColumn").dataType();
        boolean vector = features.equals(org.apache.spark.ml.linalg.SQLDataTypes.VectorType());
        if (!vector && !(features instanceof ArrayType a && (a.elementType().equals(DataTypes.FloatType)
                || a.elementType().equals(DataTypes.DoubleType)))) {
            throw new DataFormatException(table, "column " + columns[0], "is " + features.simpleString() + "; the features "
                    + "must be array<float>, array<double> or a Spark ML vector (roll.data.featuresColumn)");
        }
        DataType label = column(schema, table, columns[1], "roll.data.labelColumn").dataType();
        boolean strings = label.equals(DataTypes.StringType);
        if (!strings && !(label.equals(DataTypes.IntegerType) || label.equals(DataTypes.LongType)
                || label.equals(DataTypes.ShortType) || label.equals(DataTypes.ByteType))) {
            throw new DataFormatException(table, "column " + columns[1], "is " + label.simpleString() + "; labels must be "
                    + "integers or strings (roll.data.labelColumn)");
        }
        List<String> selected = new ArrayList<>(List.of(columns[0], columns[1]));
        if (!columns[2].isEmpty()) {
            DataType id = column(schema, table, columns[2], "roll.data.idColumn").dataType();
            if (id instanceof ArrayType || id instanceof StructType || id instanceof org.apache.spark.sql.types.MapType
                    || id.equals(DataTypes.BinaryType) || id instanceof org.apache.spark.sql.types.UserDefinedType) {
                throw new DataFormatException(table, "column " + columns[2], "is " + id.simpleString() + "; an id column "
                        + "must be of a primitive type (roll.data.idColumn)");
            }
            selected.add(columns[2]);
        }
        Dataset<Row> rows = df.select(selected.stream().map(org.apache.spark.sql.functions::col)
                .toArray(org.apache.spark.sql.Column[]::new));
        List<String> classNames = null;
        Map<String, Integer> classIndex = null;
        if (strings) {
            classNames = !f.classes().isEmpty() ? f.classes() : trainClasses != null ? trainClasses
                    : rows.select(columns[1]).where(org.apache.spark.sql.functions.col(columns[1]).isNotNull()).distinct()
                            .collectAsList().stream().map(r -> r.getString(0)).sorted().toList();
            classIndex = new LinkedHashMap<>();
            for (int i = 0; i < classNames.size(); i++) {
                classIndex.put(classNames.get(i), i);
            }
        }
        int numClasses = f.numClasses();
        sc.setJobDescription("roll: read " + what + " table " + table);
        JavaRDD<LabeledData> chunks = rows.javaRDD().mapPartitionsWithIndex(new TableChunks(table, columns, f.shape(),
                vector, classIndex, numClasses), false).map(c -> sequential ? c.sequential() : c)
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            DataPipeline.Source s = describe(chunks, table, limit, what, !columns[2].isEmpty());
            s.classNames = classNames;
            s.classes = strings ? Math.max(2, classNames.size()) : numClasses > 0 ? numClasses : s.classes;
            logSnapshot(df, table, what);
            return s;
        } catch (IOException | RuntimeException e) {
            chunks.unpersist(false);
            throw e;
        }
    }

    private static StructField column(StructType schema, String table, String name, String setting)
            throws DataFormatException {
        for (StructField field : schema.fields()) {
            if (field.name().equals(name)) {
                return field;
            }
        }
        throw new DataFormatException(table, "column " + name, "no such column (" + setting + "); the table has "
                + Arrays.toString(schema.fieldNames()));
    }

    /** The chunks' metadata, checked; repeated ids refused; the limit applied; the order-free fingerprint. */
    private static DataPipeline.Source describe(JavaRDD<LabeledData> chunks, String table, int limit, String what,
            boolean keyed) throws IOException {
        List<DataPipeline.Meta> metas = chunks.map(c -> new DataPipeline.Meta(c.size(), c.shape(), c.numClasses(),
                c.hasLengths(), DataDigest.ofSet(c))).collect();
        if (metas.isEmpty()) {
            throw new DataFormatException(table, "", "no rows (an empty table)");
        }
        DataPipeline.Source s = new DataPipeline.Source();
        s.name = what;
        s.shape = metas.get(0).shape();
        for (DataPipeline.Meta m : metas) {
            if (!Arrays.equals(m.shape(), s.shape)) {
                throw new DataFormatException(table, "", "rows whose features have " + Arrays.stream(m.shape()).reduce(1,
                        (x, y) -> x * y) + " values and rows with " + Arrays.stream(s.shape).reduce(1, (x, y) -> x * y)
                        + " (set roll.data.shape, or fix the table)");
            }
            s.classes = Math.max(s.classes, m.classes());
        }
        long[] ids = chunks.map(LabeledData::ids).collect().stream().flatMapToLong(Arrays::stream).sorted().toArray();
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
                        + "row; an id column must tell the rows apart (roll.data.idColumn)"
                        : "two rows are identical (label and features): set roll.data.idColumn to a column that tells "
                                + "them apart");
            }
        }
        if (limit > 0 && limit < ids.length) {
            long last = ids[limit - 1]; // the limit's examples: those with the smallest ids
            JavaRDD<LabeledData> limited = chunks.map(c -> {
                int n = 0;
                while (n < c.size() && c.id(n) <= last) {
                    n++; // a chunk is in id order
                }
                return c.head(n);
            }).filter(c -> c.size() > 0).persist(StorageLevel.MEMORY_AND_DISK());
            metas = limited.map(c -> new DataPipeline.Meta(c.size(), c.shape(), c.numClasses(), c.hasLengths(),
                    DataDigest.ofSet(c))).collect();
            chunks.unpersist(false);
            chunks = limited;
        }
        DataDigest digest = new DataDigest();
        for (DataPipeline.Meta m : metas) {
            digest = digest.plus(m.digest());
        }
        s.fingerprint = digest.fingerprint(s.shape);
        s.chunks = chunks;
        return s;
    }

    /** Logs the files a path-based table was read from: how many, and the newest modification time. */
    private static void logSnapshot(Dataset<Row> df, String table, String what) {
        try {
            String[] files = df.inputFiles();
            long newest = 0;
            org.apache.hadoop.conf.Configuration conf = df.sparkSession().sparkContext().hadoopConfiguration();
            for (String file : files) {
                org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file);
                newest = Math.max(newest, p.getFileSystem(conf).getFileStatus(p).getModificationTime());
            }
            LOG.info("{} table {}: {} files, newest modified {}", what, table, files.length,
                    java.time.Instant.ofEpochMilli(newest));
        } catch (IOException | RuntimeException e) {
            LOG.info("{} table {}: its files could not be listed ({})", what, table, e.getMessage());
        }
    }

    private static String firstLine(String message) {
        return message == null ? "" : message.lines().findFirst().orElse("");
    }
}
