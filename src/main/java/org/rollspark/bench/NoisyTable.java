package org.rollspark.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.rollspark.data.IdxReader;

/**
 * Writes a large Parquet table for the table scale benchmark (issue 28), the rows {@link NoisyIdx} writes as IDX:
 * row i is MNIST test image {@code i mod count} (of data/full/mnist, else the bundled 2,000) with seeded noise (each
 * pixel moved by up to +-16 levels, clipped; the noise of row i seeded by i, so the table does not depend on how it is
 * cut), as {@code features} array&lt;float&gt; (bytes over 255), {@code label} int and {@code id} string
 * ("noisy-" + i), written by Spark in local mode as {@code files} Parquet files.
 * Usage: {@code NoisyTable N OUT_DIR [FILES]} (jobs/make-noisy-table.sh).
 */
public final class NoisyTable {
    private NoisyTable() {}

    public static void main(String[] args) throws Exception {
        long n = Long.parseLong(args[0]);
        String out = args[1];
        int files = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        Path src = Path.of(Files.exists(Path.of("data/full/mnist/t10k-images-idx3-ubyte.gz")) ? "data/full/mnist"
                : "data/mnist");
        IdxReader.Idx images = IdxReader.read(src.resolve("t10k-images-idx3-ubyte.gz"));
        IdxReader.Idx labels = IdxReader.read(src.resolve("t10k-labels-idx1-ubyte.gz"));
        SparkSession spark = SparkSession.builder().master("local[2]").appName("noisy-table")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Broadcast<byte[]> pixels = sc.broadcast(images.data());
            Broadcast<byte[]> classes = sc.broadcast(labels.data());
            int size = images.itemSize();
            int count = images.count();
            List<Integer> parts = new ArrayList<>();
            for (int p = 0; p < files; p++) {
                parts.add(p);
            }
            StructType schema = new StructType().add("features", DataTypes.createArrayType(DataTypes.FloatType, false))
                    .add("label", DataTypes.IntegerType).add("id", DataTypes.StringType);
            org.apache.spark.api.java.JavaRDD<Row> rows = sc.parallelize(parts, files).flatMap(p -> {
                long from = n * p / files;
                long to = n * (p + 1) / files;
                byte[] img = pixels.value();
                byte[] lab = classes.value();
                return new java.util.Iterator<Row>() {
                    long i = from;

                    @Override
                    public boolean hasNext() {
                        return i < to;
                    }

                    @Override
                    public Row next() {
                        int s = (int) (i % count);
                        SplittableRandom rng = new SplittableRandom(20261207L * 1_000_003L + i);
                        Float[] x = new Float[size];
                        for (int k = 0; k < size; k++) {
                            int v = (img[s * size + k] & 0xff) + rng.nextInt(33) - 16;
                            x[k] = Math.max(0, Math.min(255, v)) / 255f;
                        }
                        Row r = RowFactory.create(x, (int) lab[s], "noisy-" + i);
                        i++;
                        return r;
                    }
                };
            });
            spark.createDataFrame(rows, schema).write().parquet(out);
        } finally {
            spark.stop();
        }
        System.out.printf("wrote %d noisy MNIST test images as a Parquet table to %s (from %s)%n", n, out, src);
    }
}
