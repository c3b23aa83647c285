package org.rollspark.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rollspark.data.LabeledData;
import org.rollspark.model.ModelIO;
import org.rollspark.util.Host;

/**
 * data.format = table through the command line on Spark local mode, on Parquet tables written from the bundled MNIST
 * slice (features array&lt;float&gt;, an int label, a string id): train, certify and sweep run on them; certification
 * rows carry the ids and the certificates of the same images read from IDX; the model does not depend on how the
 * table is cut into files; string labels, Spark ML vectors and double arrays read as the same examples; bad tables
 * stop with exit code 3 naming the table, the column and the row, and write nothing.
 */
class TableDataCliTest {
    @TempDir
    static Path tmp;
    static final String[] DIGITS = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};

    static final StructType SCHEMA = new StructType().add("features", DataTypes.createArrayType(DataTypes.FloatType, false))
            .add("label", DataTypes.IntegerType).add("id", DataTypes.StringType).add("digit", DataTypes.StringType);

    @BeforeAll
    static void tables() throws Exception {
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.driver.host", "127.0.0.1");
        LabeledData[] mnist = LabeledData.bundledMnist(Path.of(""));
        write(mnist[0], 900, "train", 3);
        write(mnist[0], 900, "train-one-file", 1);
        write(mnist[1], 300, "test", 2);
    }

    static List<Row> rows(LabeledData d, int n, String prefix) {
        float[] x = toFloat(Host.pull(d.allFeatures()));
        int f = d.numFeatures();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Float[] v = new Float[f];
            for (int k = 0; k < f; k++) {
                v[k] = x[i * f + k];
            }
            rows.add(RowFactory.create(v, d.label(i), prefix + "-" + i, DIGITS[d.label(i)]));
        }
        return rows;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /** A local session (Main's jobs stop the one they ran in, so each use asks again). */
    static SparkSession session() {
        return SparkSession.builder().master("local[2]").appName("table-test").config("spark.ui.enabled", "false")
                .getOrCreate();
    }

    static Path write(LabeledData d, int n, String name, int files) {
        Dataset<Row> df = session().createDataFrame(rows(d, n, name.startsWith("test") ? "test" : "train"), SCHEMA);
        Path p = tmp.resolve(name + ".parquet");
        df.repartition(files).write().parquet(p.toString());
        return p;
    }

    static MainTest.Result run(String... args) {
        return MainTest.run(args);
    }

    static String[] common(String out, String... more) {
        List<String> a = new ArrayList<>(List.of("data.format=table", "data.train=" + tmp.resolve("train.parquet"),
                "data.test=" + tmp.resolve("test.parquet"), "data.idColumn=id", "data.validation=100",
                "net.hidden=[24]", "train.epochs=1", "spark.numWorkers=2", "output.dir=" + out, "output.runDate=2026-12-07"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void trainAndCertifyOnAParquetTableCarryTheIdsAndMatchTheSameImagesFromIdx() throws Exception {
        String out = tmp.resolve("runs-a").toString();
        List<String> train = new ArrayList<>(List.of("train"));
        train.addAll(List.of(common(out, "output.runId=t", "data.shape=[1, 28, 28]")));
        MainTest.Result t = run(train.toArray(String[]::new));
        assertEquals(0, t.code(), t.err() + t.out());
        assertTrue(t.out().contains("800 train / 100 validation / 300 test"), t.out());
        Path model = Path.of(out, "models", "t");
        MainTest.Result c = run(concat("certify", "--model", model.toString(), common(out, "output.runId=c",
                "data.shape=[1, 28, 28]")));
        assertEquals(0, c.code(), c.err() + c.out());
        // the same model on the same images read from IDX (the first 300 bundled test images)
        MainTest.Result i = run("certify", "--model", model.toString(), "data.testLimit=300", "output.runId=i",
                "output.dir=" + out, "output.runDate=2026-12-07");
        assertEquals(0, i.code(), i.err() + i.out());
        Map<String, double[]> byId = new HashMap<>();
        Map<String, String> patterns = new HashMap<>();
        for (Row r : session().read().parquet(out + "/certification/examples").where("run_id = 'c'")
                .select("id", "eps_l2", "label", "pred", "pattern_hash").collectAsList()) {
            byId.put(r.getString(0), new double[] {r.getDouble(1), r.getInt(2), r.getInt(3)});
            patterns.put(r.getString(0), r.getString(4));
        }
        assertEquals(300, byId.size(), "one row per table row, each with its id");
        int compared = 0;
        for (Row r : session().read().parquet(out + "/certification/examples").where("run_id = 'i'")
                .select("example_id", "eps_l2", "label", "pred", "id").collectAsList()) {
            double[] fromTable = byId.get("test-" + r.getLong(0));
            assertEquals(r.getInt(2), (int) fromTable[1], "label of test-" + r.getLong(0));
            assertEquals(r.getInt(3), (int) fromTable[2], "prediction of test-" + r.getLong(0));
            // IDX certifies the exact p / 255, the table the float32 it stores: margins agree to the float32 shrink
            assertEquals(r.getDouble(1), fromTable[0], 1e-4 * r.getDouble(1), "eps_l2 of test-" + r.getLong(0));
            assertTrue(r.isNullAt(4), "files carry no id");
            compared++;
        }
        assertEquals(300, compared);
        // the same table as a catalog table (data.source = catalog)
        session().sql("CREATE TABLE mnist_test USING parquet LOCATION '" + tmp.resolve("test.parquet") + "'");
        List<String> cat = new ArrayList<>(List.of(concat("certify", "--model", model.toString(), common(out,
                "output.runId=cat", "data.shape=[1, 28, 28]", "data.source=catalog"))));
        cat.replaceAll(a -> a.startsWith("data.test=") ? "data.test=mnist_test" : a);
        MainTest.Result k = run(cat.toArray(String[]::new));
        assertEquals(0, k.code(), k.err() + k.out());
        List<Row> fromCatalog = session().read().parquet(out + "/certification/examples").where("run_id = 'cat'")
                .select("id", "eps_l2").collectAsList();
        assertEquals(300, fromCatalog.size());
        for (Row r : fromCatalog) {
            assertEquals(byId.get(r.getString(0))[0], r.getDouble(1), 0.0, r.getString(0));
        }
        assertEquals("sha256", ModelIO.provenance(model).path("dataFingerprint").asText().substring(0, 6));
        JsonNode table = ModelIO.provenance(model).path("config").path("data.tables").path("train");
        assertEquals(tmp.resolve("train.parquet").toString(), table.path("table").asText(), table.toString());
        assertEquals("parquet", table.path("source").asText());
        assertEquals(3, table.path("files").asInt(), "the snapshot lists the table's files: " + table);
        assertTrue(table.path("listing").asText().startsWith("sha256:") && table.path("listed").get(0).has("modified"));

        // the same images as PNG files in label=k folders, through Spark's image source and its binaryFile source
        Path pngs = tmp.resolve("pngs");
        LabeledData test = LabeledData.bundledMnist(Path.of(""))[1];
        double[] x = Host.pull(test.allFeatures());
        for (int e = 0; e < 300; e++) {
            java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(28, 28,
                    java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
            for (int p = 0; p < 784; p++) {
                img.getRaster().setSample(p % 28, p / 28, 0, (int) Math.round(x[e * 784 + p] * 255));
            }
            Path f = pngs.resolve("label=" + test.label(e)).resolve("test-" + e + ".png");
            Files.createDirectories(f.getParent());
            assertTrue(javax.imageio.ImageIO.write(img, "png", f.toFile()));
        }
        String[][] sources = {{"img", "data.source=image", "data.featuresColumn=image", "data.idColumn=image.origin"},
            {"bin", "data.source=binaryFile", "data.featuresColumn=content", "data.idColumn=path"}};
        for (String[] src : sources) {
            List<String> args = new ArrayList<>(List.of(concat("certify", "--model", model.toString(), common(out,
                    "output.runId=" + src[0]))));
            args.replaceAll(a -> a.startsWith("data.test=") ? "data.test=" + pngs : a);
            args.addAll(List.of(src).subList(1, src.length));
            MainTest.Result m = run(args.toArray(String[]::new));
            assertEquals(0, m.code(), src[0] + ": " + m.err() + m.out());
            List<Row> rows = session().read().parquet(out + "/certification/examples").where("run_id = '" + src[0] + "'")
                    .select("id", "eps_l2", "label", "pattern_hash").collectAsList();
            assertEquals(300, rows.size(), src[0]);
            for (Row r : rows) {
                String key = r.getString(0).replaceAll(".*/(test-[0-9]+)\\.png$", "$1");
                assertTrue(r.getString(0).startsWith("file:") && byId.containsKey(key), src[0] + ": id " + r.getString(0));
                assertEquals(byId.get(key)[1], r.getInt(2), 0.0, src[0] + ": the label of " + key + " from its folder");
                // the same float32 pixels as the table's: the same activation pattern, the margin to the rounding of
                // the batched products (the examples are batched differently)
                assertEquals(patterns.get(key), r.getString(3), src[0] + ": the activation pattern of " + key);
                assertEquals(byId.get(key)[0], r.getDouble(1), 1e-12 * byId.get(key)[0], src[0] + ": eps_l2 of " + key);
            }
        }
        // a file that is no image, among the encoded ones: exit 3 naming the table, the column and the file
        Path notImage = pngs.resolve("label=1").resolve("notes.png");
        Files.writeString(notImage, "not a picture");
        List<String> args = new ArrayList<>(List.of(concat("certify", "--model", model.toString(), common(out,
                "output.runId=bad-bin"))));
        args.replaceAll(a -> a.startsWith("data.test=") ? "data.test=" + pngs : a);
        args.addAll(List.of(sources[1]).subList(1, 4));
        MainTest.Result m = run(args.toArray(String[]::new));
        assertEquals(Main.INPUT, m.code(), m.err());
        assertTrue(m.err().contains(pngs + ": row with path = file:" + notImage + ": column content holds 13 bytes that "
                + "are not a JPEG, PNG, BMP or GIF image"), m.err());
        Files.delete(notImage);
    }

    @Test
    void colourImagesReadTheSameFromTheImageSourceAndFromTheirFiles() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("colour"));
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        for (int t : new int[] {java.awt.image.BufferedImage.TYPE_INT_RGB, java.awt.image.BufferedImage.TYPE_INT_ARGB}) {
            java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(5, 3, t);
            for (int i = 0; i < 15; i++) {
                img.setRGB(i % 5, i / 5, r.nextInt() | (t == java.awt.image.BufferedImage.TYPE_INT_RGB ? 0xff000000 : 0));
            }
            assertTrue(javax.imageio.ImageIO.write(img, "png", dir.resolve("t" + t + ".png").toFile()));
        }
        List<Row> rows = session().read().format("image").load(dir.toString()).collectAsList();
        assertEquals(2, rows.size());
        for (Row row : rows) {
            Row img = row.getStruct(0);
            String file = img.getString(0);
            float[] fromSource = org.rollspark.data.Images.chw((byte[]) img.get(5), img.getInt(1), img.getInt(2),
                    img.getInt(3));
            float[] fromFile = org.rollspark.data.Images.chw(javax.imageio.ImageIO.read(new java.io.File(
                    java.net.URI.create(file))));
            assertEquals(3 * 15, fromFile.length, file);
            assertArrayEquals(fromFile, fromSource, 0f, file + " (" + img.getInt(3) + " channels in the source)");
        }
    }

    /** Sequences of 1 to 4 steps of 2 features, as csv_sequence rows and as a table of array<array<float>>. */
    @Test
    void sequencesOfDifferentLengthsReadAsTheSameExamplesAsFromCsv() throws Exception {
        StringBuilder csv = new StringBuilder("id,label,f1,f2\n");
        List<Row> rows = new ArrayList<>();
        java.util.SplittableRandom r = new java.util.SplittableRandom(4);
        for (int i = 0; i < 80; i++) {
            List<Float[]> steps = new ArrayList<>();
            for (int t = 0; t <= i % 4; t++) {
                String a = String.format(java.util.Locale.ROOT, "%.3f", (i % 2) + 0.1 * t);
                String b = String.format(java.util.Locale.ROOT, "%.3f", r.nextDouble());
                csv.append("q").append(i).append(',').append(i % 2).append(',').append(a).append(',').append(b).append('\n');
                steps.add(new Float[] {Float.parseFloat(a), Float.parseFloat(b)});
            }
            rows.add(RowFactory.create(steps.toArray(Float[][]::new), i % 2, "q" + i));
        }
        Path seqCsv = tmp.resolve("seq.csv");
        Files.writeString(seqCsv, csv.toString());
        StructType schema = new StructType().add("steps", DataTypes.createArrayType(DataTypes.createArrayType(
                DataTypes.FloatType))).add("label", DataTypes.IntegerType).add("key", DataTypes.StringType);
        Path seqTable = tmp.resolve("seq.parquet");
        session().createDataFrame(rows, schema).repartition(3).write().parquet(seqTable.toString());
        String out = tmp.resolve("runs-e").toString();
        MainTest.Result t = run("train", "data.format=csv_sequence", "data.train=" + seqCsv, "data.test=" + seqCsv,
                "data.validation=10", "net.type=graph", "net.inputShape=[4, 2]", String.format(java.util.Locale.ROOT,
                        DataFormatsCliTest.RNN, 2), "train.epochs=1", "output.dir=" + out, "output.runId=q");
        assertEquals(0, t.code(), t.err() + t.out());
        Path model = Path.of(out, "models", "q");
        String[] table = {"data.format=table", "data.test=" + seqTable, "data.featuresColumn=steps", "data.idColumn=key",
            "output.dir=" + out};
        MainTest.Result c = run(concat("certify", "--model", model.toString(), concat("output.runId=qt", table)));
        assertEquals(0, c.code(), c.err() + c.out());
        MainTest.Result f = run("certify", "--model", model.toString(), "data.format=csv_sequence", "data.test=" + seqCsv,
                "output.dir=" + out, "output.runId=qf");
        assertEquals(0, f.code(), f.err() + f.out());
        Map<String, Double> fromTable = new HashMap<>();
        for (Row row : session().read().parquet(out + "/certification/examples").where("run_id = 'qt'")
                .select("id", "eps_l2").collectAsList()) {
            fromTable.put(row.getString(0), row.getDouble(1));
        }
        List<Row> fromFile = session().read().parquet(out + "/certification/examples").where("run_id = 'qf'")
                .select("example_id", "eps_l2").collectAsList();
        assertEquals(80, fromFile.size());
        assertEquals(80, fromTable.size());
        for (Row row : fromFile) {
            assertEquals(row.getDouble(1), fromTable.get("q" + row.getLong(0)), 0.0, "sequence q" + row.getLong(0));
        }
        // a step with three features among sequences of two: exit 3 naming the table, the column and the row
        rows.add(RowFactory.create(new Float[][] {{0f, 1f}, {0f, 1f, 2f}}, 1, "q-bad"));
        Path bad = tmp.resolve("seq-bad.parquet");
        session().createDataFrame(rows, schema).repartition(2).write().parquet(bad.toString());
        table[1] = "data.test=" + bad;
        MainTest.Result b = run(concat("certify", "--model", model.toString(), concat("output.runId=qb", table)));
        assertEquals(Main.INPUT, b.code(), b.err());
        assertTrue(b.err().contains(bad + ": row with key = q-bad: column steps holds 3 features at step 1"), b.err());
    }

    /** A table of the first n bundled images with string labels (the digits' names) and other feature types. */
    static Path writeTyped(LabeledData d, int n, String name, boolean vectors, String extraLabel) {
        StructType schema = new StructType().add("features", vectors ? org.apache.spark.ml.linalg.SQLDataTypes.VectorType()
                : DataTypes.createArrayType(DataTypes.DoubleType, false)).add("digit", DataTypes.StringType)
                .add("id", DataTypes.LongType);
        float[] x = toFloat(Host.pull(d.allFeatures()));
        int f = d.numFeatures();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] v = new double[f];
            for (int k = 0; k < f; k++) {
                v[k] = x[i * f + k];
            }
            Object features = vectors ? org.apache.spark.ml.linalg.Vectors.dense(v).compressed()
                    : java.util.Arrays.stream(v).boxed().toArray(Double[]::new);
            rows.add(RowFactory.create(features, extraLabel != null && i == n - 1 ? extraLabel : DIGITS[d.label(i)],
                    (long) i));
        }
        Path p = tmp.resolve(name + ".parquet");
        session().createDataFrame(rows, schema).repartition(2).write().parquet(p.toString());
        return p;
    }

    @Test
    void stringLabelsSparkMlVectorsAndDoubleArraysReadAsTheirExamples() throws Exception {
        LabeledData[] mnist = LabeledData.bundledMnist(Path.of(""));
        Path train = writeTyped(mnist[0], 700, "typed-train", true, null);
        Path testVectors = writeTyped(mnist[1], 120, "typed-test-vectors", true, null);
        Path testArrays = writeTyped(mnist[1], 120, "typed-test-arrays", false, null);
        Path unknown = writeTyped(mnist[1], 20, "typed-test-unknown", false, "ten");
        String out = tmp.resolve("runs-c").toString();
        String[] settings = {"data.format=table", "data.labelColumn=digit", "data.idColumn=id", "data.validation=100",
            "net.hidden=[16]", "train.epochs=1", "output.dir=" + out, "output.runDate=2026-12-07"};
        MainTest.Result t = run(concat("train", "data.train=" + train, concat("data.test=" + testVectors,
                "output.runId=s", settings)));
        assertEquals(0, t.code(), t.err() + t.out());
        Path model = Path.of(out, "models", "s");
        List<String> sorted = new ArrayList<>(List.of(DIGITS));
        java.util.Collections.sort(sorted);
        List<String> stored = new ArrayList<>();
        ModelIO.provenance(model).path("config").path("data.classNames").forEach(n -> stored.add(n.asText()));
        assertEquals(sorted, stored, "string labels are the classes in sorted order, stored with the model");
        for (String[] c : new String[][] {{"v", testVectors.toString()}, {"a", testArrays.toString()}}) {
            MainTest.Result r = run(concat("certify", "--model", model.toString(), concat("data.test=" + c[1],
                    "output.runId=" + c[0], settings)));
            assertEquals(0, r.code(), r.err() + r.out());
        }
        Map<String, Double> vectors = new HashMap<>();
        for (Row r : session().read().parquet(out + "/certification/examples").where("run_id = 'v'")
                .select("id", "eps_l2", "label").collectAsList()) {
            vectors.put(r.getString(0), r.getDouble(1));
            int k = Integer.parseInt(r.getString(0));
            assertEquals(sorted.indexOf(DIGITS[mnist[1].label(k)]), r.getInt(2), "the label of row " + k);
        }
        List<Row> arrays = session().read().parquet(out + "/certification/examples").where("run_id = 'a'")
                .select("id", "eps_l2").collectAsList();
        assertEquals(120, arrays.size());
        for (Row r : arrays) {
            assertEquals(vectors.get(r.getString(0)), r.getDouble(1), 0.0, "the same float32 features either way");
        }
        // a test label the model has no class for: exit 3 naming the table, the column and the row
        MainTest.Result bad = run(concat("certify", "--model", model.toString(), concat("data.test=" + unknown,
                "output.runId=u", settings)));
        assertEquals(Main.INPUT, bad.code(), bad.err());
        assertTrue(bad.err().contains(unknown + ": row with id = 19: label 'ten' in column digit is not one of the 10 "
                + "classes"), bad.err());
        assertFalse(Files.exists(Path.of(out, "certification/examples/run_date=2026-12-07/run_id=u")), "nothing written");
    }

    @Test
    void badTablesStopWithExit3NamingTheTableTheColumnAndTheRow() throws Exception {
        float[] ok = new float[784];
        java.util.Arrays.fill(ok, 0.5f);
        StructType schema = SCHEMA;
        List<String[]> cases = new ArrayList<>();
        // [name, extra setting, expected message part]; each table: 200 good rows and one bad
        cases.add(new String[] {"missing", "data.featuresColumn=pixels", "column pixels: no such column "
            + "(roll.data.featuresColumn); the table has [features, label, id, digit]"});
        cases.add(new String[] {"labeltype", "data.labelColumn=features", "column features: is array<float>; labels "
            + "must be integers or strings"});
        cases.add(new String[] {"null", "", "row with id = bad: column features is null"});
        cases.add(new String[] {"nan", "", "row with id = bad: column features holds NaN at position 5 (not finite)"});
        cases.add(new String[] {"short", "", "row with id = bad: column features holds 783 values, but other rows hold 784"});
        cases.add(new String[] {"negative", "", "row with id = bad: label -1 in column label is outside"});
        cases.add(new String[] {"duplicate", "", "id good-3: the id appears in more than one row"});
        cases.add(new String[] {"noid", "data.idColumn=", "two rows are identical (label and features): set "
            + "roll.data.idColumn"});
        for (String[] c : cases) {
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                float[] x = ok.clone();
                x[0] = i / 200f;
                rows.add(RowFactory.create(boxed(x), i % 10, "good-" + i, DIGITS[i % 10]));
            }
            float[] bad = ok.clone();
            Object features = boxed(bad);
            Object label = 3;
            String id = "bad";
            switch (c[0]) {
                case "null" -> features = null;
                case "nan" -> {
                    bad[5] = Float.NaN;
                    features = boxed(bad);
                }
                case "short" -> features = boxed(java.util.Arrays.copyOf(bad, 783));
                case "negative" -> label = -1;
                case "duplicate" -> id = "good-3";
                case "noid" -> {
                    bad[0] = 3 / 200f; // the same content as good-3
                    features = boxed(bad);
                }
                default -> { }
            }
            rows.add(RowFactory.create(features, label, id, "three"));
            Path table = tmp.resolve("bad-" + c[0] + ".parquet");
            session().createDataFrame(rows, schema).repartition(2).write().parquet(table.toString());
            String out = tmp.resolve("runs-bad-" + c[0]).toString();
            List<String> args = new ArrayList<>(List.of("train", "data.format=table", "data.train=" + table,
                    "data.test=" + table, "data.idColumn=id", "data.validation=20", "net.hidden=[8]", "train.epochs=1",
                    "output.dir=" + out));
            if (!c[1].isEmpty()) {
                args.add(c[1]);
            }
            MainTest.Result r = run(args.toArray(String[]::new));
            assertEquals(Main.INPUT, r.code(), c[0] + ": " + r.err() + r.out());
            assertTrue(r.err().contains(table.toString()) && r.err().contains(c[2]), c[0] + ": " + r.err());
            assertFalse(Files.exists(Path.of(out, "models")), c[0] + ": nothing written");
        }
    }

    private static Float[] boxed(float[] x) {
        Float[] b = new Float[x.length];
        for (int i = 0; i < x.length; i++) {
            b[i] = x[i];
        }
        return b;
    }

    @Test
    void aSweepRunsOnATable() throws Exception {
        String out = tmp.resolve("runs-d").toString();
        MainTest.Result r = run(concat("sweep", "sweep.grid={\"loss.c\" = [0.5]}", "sweep.mode=sequential",
                concat("certify.soundnessExamples=0", "output.runId=sw", common(out, "data.testLimit=50"))));
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(r.out().contains("sweep table: 1 points and the baseline"), r.out());
        List<Row> rows = session().read().parquet(out + "/certification/examples").select("split", "id").collectAsList();
        assertTrue(!rows.isEmpty() && rows.stream().allMatch(x -> x.getString(1).startsWith(x.getString(0).equals("test")
                ? "test-" : "train-")), "certification rows (validation and test) carry the table's ids");
        assertTrue(rows.stream().anyMatch(x -> x.getString(0).equals("test")));
    }

    private static String[] concat(String a, String[] rest) {
        List<String> l = new ArrayList<>(List.of(a));
        l.addAll(List.of(rest));
        return l.toArray(String[]::new);
    }

    private static String[] concat(String a, String b, String[] rest) {
        List<String> l = new ArrayList<>(List.of(a, b));
        l.addAll(List.of(rest));
        return l.toArray(String[]::new);
    }

    private static String[] concat(String a, String b, String c, String[] rest) {
        List<String> l = new ArrayList<>(List.of(a, b, c));
        l.addAll(List.of(rest));
        return l.toArray(String[]::new);
    }

    @Test
    void theModelDependsOnTheRowsNotOnHowTheTableIsCutIntoFiles() throws Exception {
        String out = tmp.resolve("runs-b").toString();
        MainTest.Result a = run(concat("train", "output.runId=three", "data.testLimit=10", common(out)));
        assertEquals(0, a.code(), a.err() + a.out());
        List<String> one = new ArrayList<>(List.of(common(out, "output.runId=one", "data.testLimit=10")));
        one.replaceAll(s -> s.startsWith("data.train=") ? "data.train=" + tmp.resolve("train-one-file.parquet") : s);
        one.add(0, "train");
        MainTest.Result b = run(one.toArray(String[]::new));
        assertEquals(0, b.code(), b.err() + b.out());
        assertArrayEquals(Host.pull(ModelIO.load(Path.of(out, "models", "three")).params()),
                Host.pull(ModelIO.load(Path.of(out, "models", "one")).params()), 0.0, "the same model, bit for bit");
        assertEquals(ModelIO.provenance(Path.of(out, "models", "three")).path("dataFingerprint").asText(),
                ModelIO.provenance(Path.of(out, "models", "one")).path("dataFingerprint").asText());
    }
}
