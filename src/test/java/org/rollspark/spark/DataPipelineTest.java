package org.rollspark.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rollspark.data.DataFormatException;
import org.rollspark.data.DataSpec;
import org.rollspark.data.Format;
import org.rollspark.data.LabeledData;
import org.rollspark.net.Normalization;

/**
 * Reading on the executors (Spark local mode): seeded and stratified splits, balanced shards, limits,
 * normalisation statistics, sequence padding, and errors for inconsistent or empty inputs.
 */
class DataPipelineTest {
    static SparkSession spark;
    static JavaSparkContext sc;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2]").appName("roll-data-test").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").getOrCreate();
        sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** Format fixture: CSV tables, 3 features and an integer label (class 2 rare), in several files. */
    Path csvFolder(int files, int rows) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("csv" + files + "x" + rows));
        java.util.SplittableRandom r = new java.util.SplittableRandom(files * 31L + rows);
        for (int f = 0; f < files; f++) {
            StringBuilder b = new StringBuilder("a,b,c,label\n");
            for (int i = 0; i < rows; i++) {
                int y = i % 10 == 0 ? 2 : i % 2;
                b.append(String.format(java.util.Locale.ROOT, "%.4f,%.4f,%.4f,%d%n", r.nextDouble() + y, 3 * r.nextDouble(),
                        f - r.nextDouble(), y));
            }
            Files.writeString(dir.resolve(String.format("part-%02d.csv", f)), b.toString());
        }
        return dir;
    }

    static DataPipeline.Request request(String format, Map<String, String> opts, String train, String test, int validation,
            boolean stratified, int workers) {
        return new DataPipeline.Request(new DataSpec(format, opts), train == null ? null : new Format.Location(train, ""),
                new Format.Location(test, ""), 0, 0, validation, stratified, 7, false, workers, 3, 0);
    }

    static List<LabeledData> shards(ShardedData d) {
        return d.shards().collect();
    }

    static Set<Long> ids(ShardedData d) {
        Set<Long> s = new HashSet<>();
        for (LabeledData p : shards(d)) {
            for (long id : p.ids()) {
                assertTrue(s.add(id), "id " + id + " twice");
            }
        }
        return s;
    }

    @Test
    void splitsAreSeededDisjointBalancedAndStratifiedOnRequest() throws IOException {
        Path dir = csvFolder(3, 200);
        DataPipeline.Loaded a = DataPipeline.load(sc, request("csv", Map.of(), dir.toString(), dir.toString(), 60, true, 2));
        try {
            assertEquals(540, a.train().size());
            assertEquals(60, a.validation().size());
            assertEquals(600, a.test().size());
            assertEquals(3, a.train().numClasses());
            assertEquals(2, a.train().numShards());
            List<LabeledData> tr = shards(a.train());
            assertEquals(270, tr.get(0).size());
            assertEquals(270, tr.get(1).size());
            Set<Long> t = ids(a.train());
            Set<Long> v = ids(a.validation());
            assertTrue(java.util.Collections.disjoint(t, v));
            assertEquals(600, t.size() + v.size());
            // stratified: class 2 is 10 % of the data, so exactly 6 of the 60 held out
            int rare = 0;
            for (LabeledData p : shards(a.validation())) {
                for (int y : p.labels()) {
                    rare += y == 2 ? 1 : 0;
                }
            }
            assertEquals(6, rare);
            assertEquals(3, a.test().numShards());
            // the same settings give the same splits, shards and fingerprint
            DataPipeline.Loaded b = DataPipeline.load(sc, request("csv", Map.of(), dir.toString(), dir.toString(), 60, true, 2));
            assertEquals(v, ids(b.validation()));
            assertEquals(shards(a.train()).get(1).fingerprint(), shards(b.train()).get(1).fingerprint());
            assertEquals(a.train().fingerprint(), b.train().fingerprint());
            b.unpersist();
            // shards are in id order and examples keep their file's values
            LabeledData s0 = tr.get(0);
            for (int i = 1; i < s0.size(); i++) {
                assertTrue(s0.id(i) > s0.id(i - 1));
            }
        } finally {
            a.unpersist();
        }
    }

    @Test
    void limitTakesTheFirstExamplesInFileOrder() throws IOException {
        Path dir = csvFolder(2, 50);
        DataPipeline.Request r = new DataPipeline.Request(new DataSpec("csv", Map.of()), new Format.Location(dir.toString(), ""),
                new Format.Location(dir.toString(), ""), 70, 10, 10, false, 7, false, 2, 2, 0);
        DataPipeline.Loaded d = DataPipeline.load(sc, r);
        try {
            Set<Long> all = ids(d.train());
            all.addAll(ids(d.validation()));
            Set<Long> expect = new HashSet<>();
            for (int i = 0; i < 50; i++) {
                expect.add(Format.id(0, i));
            }
            for (int i = 0; i < 20; i++) {
                expect.add(Format.id(1, i));
            }
            assertEquals(expect, all);
            assertEquals(10, d.test().size());
        } finally {
            d.unpersist();
        }
    }

    @Test
    void normalisationStatisticsComeFromTheTrainingSplit() throws IOException {
        Path dir = csvFolder(2, 100);
        DataPipeline.Loaded d = DataPipeline.load(sc, request("csv", Map.of(), dir.toString(), dir.toString(), 20, false, 2));
        try {
            double[] s = new double[3];
            double[] q = new double[3];
            int n = 0;
            for (LabeledData p : shards(d.train())) {
                float[] x = p.allFeatures().reshape(p.size() * 3L).toFloatVector();
                for (int i = 0; i < x.length; i++) {
                    s[i % 3] += x[i];
                    q[i % 3] += (double) x[i] * x[i];
                }
                n += p.size();
            }
            Normalization f = DataPipeline.statistics(d.train(), "feature");
            Normalization sc1 = DataPipeline.statistics(d.train(), "scalar");
            double all = 0;
            double allSq = 0;
            // the statistics are float32 values, like every constant of a network (Normalization.float32)
            assertTrue(f.isFloat32() && sc1.isFloat32());
            for (int k = 0; k < 3; k++) {
                double mean = s[k] / n;
                assertEquals(mean, f.mean(k), 1e-7 * Math.abs(mean));
                assertEquals(Math.sqrt((q[k] - n * mean * mean) / (n - 1)), f.std(k), 1e-6);
                all += s[k];
                allSq += q[k];
            }
            double mean = all / (3 * n);
            assertEquals(mean, sc1.mean(0), 1e-7 * Math.abs(mean));
            assertEquals(Math.sqrt((allSq - 3 * n * mean * mean) / (3 * n - 1)), sc1.std(0), 1e-6);
        } finally {
            d.unpersist();
        }
    }

    @Test
    void sequencesArePaddedToTheTrainingLengthAndLongerTestSequencesRefused() throws IOException {
        Path train = tmp.resolve("train.csv");
        Path test = tmp.resolve("test.csv");
        StringBuilder b = new StringBuilder("id,label,f\n");
        for (int s = 0; s < 12; s++) {
            for (int t = 0; t <= s % 4; t++) {
                b.append("s").append(s).append(',').append(s % 2).append(',').append(0.1 * t).append('\n');
            }
        }
        Files.writeString(train, b.toString());
        Files.writeString(test, "id,label,f\na,0,1\nb,1,1\nb,1,2\n");
        DataPipeline.Loaded d = DataPipeline.load(sc, request("csv_sequence", Map.of(), train.toString(), test.toString(), 4,
                false, 2));
        try {
            assertArrayEquals(new int[] {4, 1}, d.train().shape());
            assertTrue(d.train().hasLengths() && d.test().hasLengths());
            assertArrayEquals(new int[] {4, 1}, d.test().shape(), "test padded to the training length");
            int[] lengths = new int[0];
            for (LabeledData p : shards(d.test())) {
                int[] l = p.lengths(LabeledData.identity(p.size()), 0, p.size());
                int[] all = java.util.Arrays.copyOf(lengths, lengths.length + l.length);
                System.arraycopy(l, 0, all, lengths.length, l.length);
                lengths = all;
            }
            java.util.Arrays.sort(lengths);
            assertArrayEquals(new int[] {1, 2}, lengths);
        } finally {
            d.unpersist();
        }
        // a longer test sequence: train and test both padded to the longest of the two
        Files.writeString(test, "id,label,f\na,0,1\na,0,1\na,0,1\na,0,1\na,0,1\n");
        DataPipeline.Loaded longer = DataPipeline.load(sc, request("csv_sequence", Map.of(), train.toString(), test.toString(),
                4, false, 2));
        try {
            assertArrayEquals(new int[] {5, 1}, longer.train().shape());
            assertArrayEquals(new int[] {5, 1}, longer.test().shape());
        } finally {
            longer.unpersist();
        }
        // certifying a saved model: its steps are fixed, a longer sequence is an error naming the file
        DataPipeline.Request fixed = new DataPipeline.Request(new DataSpec("csv_sequence", Map.of()), null,
                new Format.Location(test.toString(), ""), 0, 0, 1, false, 7, false, 2, 2, 4);
        Exception e = assertThrows(DataFormatException.class, () -> DataPipeline.load(sc, fixed));
        assertTrue(rootMessage(e).contains("5 steps, more than the 4") && rootMessage(e).contains("test.csv"), rootMessage(e));
    }

    /** Named classes (a folder per class, .ts headers) map the test set onto the training set's names. */
    @Test
    void testClassesAreMappedByName() throws IOException {
        Path trainDir = tmp.resolve("named/train");
        Path testDir = tmp.resolve("named/test");
        for (String c : new String[] {"ant", "bee", "cat"}) {
            org.rollspark.data.DataFormatsTest.image(trainDir.resolve(c + "/1.png"), "png", 4, 4, java.awt.Color.RED);
            org.rollspark.data.DataFormatsTest.image(trainDir.resolve(c + "/2.png"), "png", 4, 4, java.awt.Color.RED);
        }
        org.rollspark.data.DataFormatsTest.image(testDir.resolve("cat/9.png"), "png", 4, 4, java.awt.Color.RED);
        DataPipeline.Loaded d = DataPipeline.load(sc, request("images", Map.of("imageSize", "4,4"), trainDir.toString(),
                testDir.toString(), 2, false, 2));
        try {
            assertEquals(List.of("ant", "bee", "cat"), d.classNames());
            assertArrayEquals(new int[] {2}, shards(d.test()).stream().filter(p -> p.size() > 0).findFirst().orElseThrow()
                    .labels(), "cat is class 2, though the test folder holds only cat");
            assertEquals(3, d.test().numClasses());
        } finally {
            d.unpersist();
        }
        org.rollspark.data.DataFormatsTest.image(testDir.resolve("dog/1.png"), "png", 4, 4, java.awt.Color.RED);
        Exception e = assertThrows(DataFormatException.class, () -> DataPipeline.load(sc, request("images",
                Map.of("imageSize", "4,4"), trainDir.toString(), testDir.toString(), 2, false, 2)));
        assertTrue(e.getMessage().contains("'dog' is not one of the classes [ant, bee, cat]"), e.getMessage());
        // .ts: a test header listing the classes in another order
        Path trainTs = tmp.resolve("a.ts");
        Path testTs = tmp.resolve("b.ts");
        String head = "@problemName x\n@classLabel true %s\n@data\n";
        Files.writeString(trainTs, String.format(head, "up down") + "1,2:up\n3,4:down\n5,6:up\n");
        Files.writeString(testTs, String.format(head, "down up") + "1,2:up\n");
        DataPipeline.Loaded t = DataPipeline.load(sc, request("ts", Map.of(), trainTs.toString(), testTs.toString(), 1, false, 1));
        try {
            assertArrayEquals(new int[] {0}, shards(t.test()).stream().filter(p -> p.size() > 0).findFirst().orElseThrow()
                    .labels(), "'up' is the training set's class 0");
        } finally {
            t.unpersist();
        }
    }

    static String rootMessage(Throwable e) {
        List<String> all = new ArrayList<>();
        for (Throwable t = e; t != null; t = t.getCause()) {
            all.add(String.valueOf(t.getMessage()));
        }
        return String.join(" / ", all);
    }

    @Test
    void inconsistentShapesAndEmptyInputsAreErrors() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("mixed"));
        Files.writeString(dir.resolve("a.csv"), "x,y,label\n1,2,0\n3,4,1\n");
        Files.writeString(dir.resolve("b.csv"), "x,y,z,label\n1,2,3,0\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> DataPipeline.load(sc,
                request("csv", Map.of(), dir.toString(), dir.toString(), 1, false, 2)));
        assertTrue(e.getMessage().contains("b.csv") && e.getMessage().contains("[3]") && e.getMessage().contains("a.csv"),
                e.getMessage());
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Exception e2 = assertThrows(Exception.class, () -> DataPipeline.load(sc,
                request("csv", Map.of(), empty.toString(), empty.toString(), 1, false, 2)));
        assertTrue(rootMessage(e2).contains("empty") || rootMessage(e2).contains("no input files"), rootMessage(e2));
        Path bad = Files.createDirectories(tmp.resolve("badcsv"));
        Files.writeString(bad.resolve("a.csv"), "x,label\n1,0\nNaN,1\n");
        Exception e3 = assertThrows(Exception.class, () -> DataPipeline.load(sc,
                request("csv", Map.of(), bad.toString(), bad.toString(), 1, false, 2)));
        Throwable io = e3;
        while (io != null && !(io instanceof DataFormatException)) {
            io = io.getCause();
        }
        assertTrue(io != null && io.getMessage().contains("a.csv: line 3"), "an executor's reader error reaches the driver "
                + "with its file and line: " + rootMessage(e3));
    }
}
