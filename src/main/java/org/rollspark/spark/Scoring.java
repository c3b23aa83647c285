package org.rollspark.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.data.DataFormatException;
import org.rollspark.data.LabeledData;
import org.rollspark.net.Network;
import org.rollspark.region.Certification;
import org.rollspark.region.Norm;
import org.rollspark.region.RegionCertifier;
import org.rollspark.region.SoundnessCheck;
import org.rollspark.util.Host;

/**
 * A network applied to a DataFrame's rows on the executors (the Spark ML model's {@code transform}): every row keeps
 * its columns and gains the prediction (a double, as Spark ML's classifiers give it), the logits as a vector, their
 * softmax and any of the certification table's per-example columns ({@link CertificationTables#EXAMPLES}), computed
 * by the code {@code certify} runs, so they equal what it writes for the same rows. Features are read as tables are
 * ({@link TableChunks}: arrays, vectors, sequences, images, encoded images), in the rows' order, a block at a time.
 */
public final class Scoring {
    private Scoring() {}

    /** The certification columns that compare the prediction with the label, which therefore need a label column. */
    static final List<String> NEED_LABELS = List.of("label", "correct", "cert_l1", "cert_l2", "cert_linf");
    /** The certification columns a transform cannot give (they name a run, not a row, or need the soundness mode). */
    static final List<String> NOT_PER_ROW = List.of("run_id", "model_id", "dataset", "split", "example_id",
            "sound_points", "sound_violations", "grad_dist_mean", "grad_dist_max", "id");

    /** What a transform adds: output column names ("" for none) and certification columns. */
    public record Outputs(String predictionCol, String rawPredictionCol, String probabilityCol,
            List<String> certificateCols) implements java.io.Serializable {}

    /**
     * The id a table's row gets from its id column's value {@code value} (as the row holds it): for a Spark program
     * that marks rows by their ids.
     */
    public static long rowId(Object value) {
        return TableChunks.id(String.valueOf(value));
    }

    /**
     * The norms a transform certifies in: those its certification columns name (eps_l2, bind_unit_linf, ...); l2
     * alone, the cheapest (a dense net's Jacobians on the row space of its first layer), when they name none.
     */
    static java.util.Set<Norm> normsOf(List<String> certificateCols) {
        java.util.Set<Norm> norms = java.util.EnumSet.noneOf(Norm.class);
        for (String c : certificateCols) {
            for (Norm p : Norm.values()) {
                if (c.endsWith("_" + p.label())) {
                    norms.add(p);
                }
            }
        }
        return norms.isEmpty() ? java.util.EnumSet.of(Norm.L2) : norms;
    }

    /** The certification columns a transform can add. */
    public static List<String> certificateColumns() {
        List<String> names = new ArrayList<>();
        for (String n : CertificationTables.EXAMPLES.fieldNames()) {
            if (!NOT_PER_ROW.contains(n)) {
                names.add(n);
            }
        }
        return names;
    }

    /** The schema {@code transform} gives a dataset of this schema (checked: the columns it reads, those it adds). */
    public static StructType schema(StructType in, String featuresCol, String labelCol, Outputs out) {
        if (!Arrays.asList(in.fieldNames()).contains(featuresCol)) {
            throw new IllegalArgumentException("features column " + featuresCol + " is not in the data: "
                    + Arrays.toString(in.fieldNames()));
        }
        if (TableSource.kind(in.apply(featuresCol).dataType()) == null) {
            throw new IllegalArgumentException("features column " + featuresCol + " is "
                    + in.apply(featuresCol).dataType().simpleString() + "; it must be array<float>, array<double>, a "
                    + "Spark ML vector, a sequence array<array<float>>, an image of Spark's image source, or binary");
        }
        boolean labels = Arrays.asList(in.fieldNames()).contains(labelCol);
        StructType s = in;
        for (String[] c : new String[][] {{out.predictionCol(), "d"}, {out.rawPredictionCol(), "v"},
            {out.probabilityCol(), "v"}}) {
            if (!c[0].isEmpty()) {
                s = add(s, c[0], c[1].equals("d") ? DataTypes.DoubleType : SQLDataTypes.VectorType());
            }
        }
        List<String> allowed = certificateColumns();
        for (String c : out.certificateCols()) {
            if (!allowed.contains(c)) {
                throw new IllegalArgumentException("certificate column " + c + " is not one a transform gives; one of "
                        + allowed);
            }
            if (NEED_LABELS.contains(c) && !labels) {
                throw new IllegalArgumentException("certificate column " + c + " compares the prediction with the label, "
                        + "but the label column " + labelCol + " is not in the data");
            }
            StructField f = CertificationTables.EXAMPLES.apply(c);
            s = add(s, c, f.dataType());
        }
        return s;
    }

    private static StructType add(StructType s, String name, DataType type) {
        if (Arrays.asList(s.fieldNames()).contains(name)) {
            throw new IllegalArgumentException("output column " + name + " is already in the data");
        }
        return s.add(name, type, true);
    }

    /**
     * The rows of {@code ds} with the outputs added, computed on the executors with the network broadcast.
     *
     * @param classNames string labels' classes in class order (null: integer labels)
     */
    public static Dataset<Row> transform(Dataset<?> ds, Network net, String featuresCol, String labelCol,
            List<String> classNames, Outputs out) {
        Dataset<Row> df = ds.toDF();
        StructType schema = schema(df.schema(), featuresCol, labelCol, out);
        boolean labels = Arrays.asList(df.schema().fieldNames()).contains(labelCol);
        TableChunks.Kind kind = TableSource.kind(df.schema().apply(featuresCol).dataType());
        Map<String, Integer> classIndex = null;
        if (classNames != null) {
            classIndex = new LinkedHashMap<>();
            for (int i = 0; i < classNames.size(); i++) {
                classIndex.put(classNames.get(i), i);
            }
        }
        if (labels && classIndex == null && df.schema().apply(labelCol).dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("label column " + labelCol + " holds strings, but the model was trained "
                    + "on integer labels");
        }
        TableChunks reader = new TableChunks("DataFrame", new String[] {featuresCol, labelCol, ""}, net.inputShape(),
                kind, classIndex, net.outputSize(), false);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(df.sparkSession().sparkContext());
        Broadcast<NetState> b = sc.broadcast(NetState.of(net));
        int features = df.schema().fieldIndex(featuresCol);
        int label = labels ? df.schema().fieldIndex(labelCol) : -1;
        int[] picked = out.certificateCols().stream().mapToInt(c -> CertificationTables.EXAMPLES.fieldIndex(c)).toArray();
        JavaRDD<Row> rows = df.javaRDD().mapPartitions(new Rows(b, reader, features, label, picked, out));
        return df.sparkSession().createDataFrame(rows, schema);
    }

    /** One partition's rows scored a block at a time. */
    private static final class Rows implements FlatMapFunction<Iterator<Row>, Row> {
        private static final long serialVersionUID = 1L;
        static final int BLOCK = 1024;
        private final Broadcast<NetState> net;
        private final TableChunks reader;
        private final int features;
        private final int label;
        private final int[] picked;
        private final Outputs out;

        Rows(Broadcast<NetState> net, TableChunks reader, int features, int label, int[] picked, Outputs out) {
            this.net = net;
            this.reader = reader;
            this.features = features;
            this.label = label;
            this.picked = picked;
            this.out = out;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> it) throws Exception {
            org.rollspark.blas.KernelCheck.ensure(TaskThreads::executor);
            TaskThreads.apply();
            Network model = net.value().toNet();
            RegionCertifier certifier = picked.length > 0 ? new RegionCertifier(model).withNorms(normsOf(out.certificateCols()))
                    : null;
            CertificationTables.RunKey key = new CertificationTables.RunKey("transform", "model", "DataFrame", "transform");
            int[][] shape = {null};
            int[] read = {0};
            return new Iterator<>() {
                private Iterator<Row> scored = java.util.Collections.emptyIterator();

                @Override
                public boolean hasNext() {
                    while (!scored.hasNext() && it.hasNext()) {
                        List<Row> block = new ArrayList<>(BLOCK);
                        while (it.hasNext() && block.size() < BLOCK) {
                            block.add(it.next());
                        }
                        scored = score(block).iterator();
                    }
                    return scored.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new java.util.NoSuchElementException();
                    }
                    return scored.next();
                }

                private List<Row> score(List<Row> block) {
                    List<Row> projected = new ArrayList<>(block.size());
                    for (Row r : block) {
                        projected.add(RowFactory.create(r.get(features), label < 0 ? 0 : r.get(label)));
                    }
                    List<Row> result = new ArrayList<>(block.size());
                    Iterator<Row> p = projected.iterator();
                    while (p.hasNext()) {
                        LabeledData d;
                        try {
                            d = reader.chunk(0, p, shape, read);
                        } catch (DataFormatException e) {
                            throw new java.io.UncheckedIOException(e.getMessage(), e);
                        }
                        int[] all = LabeledData.identity(d.size());
                        INDArray x = d.features(all, 0, d.size());
                        int[] lengths = d.lengths(all, 0, d.size());
                        double[] logits = Host.pull(model.forward(x, false, lengths, null).logits());
                        Certification c = certifier == null ? null : certifier.certify(x, lengths);
                        int k = model.outputSize();
                        for (int i = 0; i < d.size(); i++) {
                            Row in = block.get(result.size());
                            List<Object> values = new ArrayList<>(in.size() + 3 + picked.length);
                            for (int j = 0; j < in.size(); j++) {
                                values.add(in.get(j));
                            }
                            double[] z = Arrays.copyOfRange(logits, i * k, (i + 1) * k);
                            if (!out.predictionCol().isEmpty()) {
                                values.add((double) argmax(z));
                            }
                            if (!out.rawPredictionCol().isEmpty()) {
                                values.add(Vectors.dense(z));
                            }
                            if (!out.probabilityCol().isEmpty()) {
                                values.add(Vectors.dense(softmax(z)));
                            }
                            if (c != null) {
                                Row cert = CertificationTables.exampleRow(key, d.id(i), null, d.label(i), c, i,
                                        new SoundnessCheck.Report(0, 0, 0), null);
                                for (int f : picked) {
                                    values.add(cert.get(f));
                                }
                            }
                            result.add(RowFactory.create(values.toArray()));
                        }
                    }
                    return result;
                }
            };
        }
    }

    /** The first index of the largest value (the certifier's prediction rule). */
    static int argmax(double[] z) {
        int best = 0;
        for (int j = 1; j < z.length; j++) {
            if (z[j] > z[best]) {
                best = j;
            }
        }
        return best;
    }

    static double[] softmax(double[] z) {
        double max = Arrays.stream(z).max().orElse(0);
        double[] p = new double[z.length];
        double sum = 0;
        for (int j = 0; j < z.length; j++) {
            p[j] = Math.exp(z[j] - max);
            sum += p[j];
        }
        for (int j = 0; j < z.length; j++) {
            p[j] /= sum;
        }
        return p;
    }
}
