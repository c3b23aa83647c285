package org.rollspark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.rollspark.data.DataFormatsTest;
import org.rollspark.model.ModelIO;

/**
 * Every data format through the command line on Spark local mode: a model trains on data read on the
 * executors, is saved with its data fingerprint and normalisation, and a certify run reads the test
 * location and writes the Parquet tables. Bad input stops with exit code 3 and writes nothing.
 * Format fixtures as in {@link DataFormatsTest}.
 */
class DataFormatsCliTest {
    @TempDir
    static Path tmp;

    @BeforeAll
    static void quietSpark() {
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.driver.host", "127.0.0.1");
    }

    static final String RNN = "net.layers=[{type = rnn, hidden = 6, activation = relu, recurrent_init = identity},"
            + " {type = dense, units = %d}]";

    static Stream<Arguments> formats() throws Exception {
        // CIFAR-10: two batch files for training, one for test
        Path cifar = Files.createDirectories(tmp.resolve("cifar"));
        Files.write(cifar.resolve("data_batch_1.bin"), DataFormatsTest.cifar(40, 1));
        Files.write(cifar.resolve("data_batch_2.bin"), DataFormatsTest.cifar(30, 2));
        Files.write(cifar.resolve("test_batch.bin"), DataFormatsTest.cifar(20, 3));
        // an image folder of three classes, PNG and JPEG, different sizes
        Path imgs = tmp.resolve("imgs");
        Color[] colours = {Color.RED, Color.GREEN, Color.BLUE};
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 12; i++) {
                DataFormatsTest.image(imgs.resolve("class" + c + "/" + i + (i % 2 == 0 ? ".png" : ".jpg")), i % 2 == 0 ? "png" : "jpg",
                        10 + i, 8 + c, colours[c]);
            }
        }
        // Japanese Vowels: a small file with 4 speakers
        Path vowels = tmp.resolve("ae.small");
        int[] blocks = new int[40];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = 7 + i % 5;
        }
        Files.writeString(vowels, DataFormatsTest.vowels(blocks));
        // UEA .ts: 30 cases, 2 dimensions, lengths 2-4
        StringBuilder ts = new StringBuilder(DataFormatsTest.TS.substring(0, DataFormatsTest.TS.indexOf("@data") + 6));
        for (int i = 0; i < 30; i++) {
            int len = 2 + i % 3;
            for (int d = 0; d < 2; d++) {
                for (int s = 0; s < len; s++) {
                    ts.append(s > 0 ? "," : "").append(String.format(Locale.ROOT, "%.3f", (i % 2 == 0 ? 1 : -1) * (s + d) * 0.1));
                }
                ts.append(':');
            }
            ts.append(i % 2 == 0 ? "up" : "down").append('\n');
        }
        Path tsFile = tmp.resolve("cases.ts");
        Files.writeString(tsFile, ts.toString());
        // CSV table and CSV sequences
        StringBuilder csv = new StringBuilder("u,v,w,label\n");
        StringBuilder seq = new StringBuilder("id,label,f1,f2\n");
        java.util.SplittableRandom r = new java.util.SplittableRandom(4);
        for (int i = 0; i < 80; i++) {
            int y = i % 3;
            csv.append(String.format(Locale.ROOT, "%.3f,%.3f,%.3f,%s%n", y + r.nextDouble(), r.nextDouble(), -y + r.nextDouble(),
                    new String[] {"a", "b", "c"}[y]));
            for (int s = 0; s <= i % 4; s++) {
                seq.append("q").append(i).append(',').append(i % 2).append(',')
                        .append(String.format(Locale.ROOT, "%.3f,%.3f%n", (i % 2) + 0.1 * s, r.nextDouble()));
            }
        }
        Path csvFile = tmp.resolve("table.csv");
        Files.writeString(csvFile, csv.toString());
        Path seqFile = tmp.resolve("seq.csv");
        Files.writeString(seqFile, seq.toString());
        return Stream.of(
                Arguments.of("cifar10", List.of("data.format=cifar10", "data.train=" + cifar.resolve("data_batch_*.bin"),
                        "data.test=" + cifar.resolve("test_batch.bin"), "data.validation=10", "data.normalize=channel",
                        "net.hidden=[8]"), 20),
                Arguments.of("images", List.of("data.format=images", "data.train=" + imgs, "data.test=" + imgs,
                        "data.imageSize=[6, 6]", "data.channels=3", "data.validation=6", "data.stratified=true", "net.type=graph",
                        "net.inputShape=[3, 6, 6]", "net.layers=[{type = conv2d, filters = 2, kernel = 3, padding = 1}, "
                        + "{type = relu}, {type = global_avgpool}, {type = dense, units = 3}]"), 36),
                Arguments.of("vowels", List.of("data.format=vowels", "data.train=" + vowels, "data.test=" + vowels,
                        "data.speakerBlocks=[10, 10, 10, 10]", "data.validation=8", "data.normalize=channel", "net.type=graph",
                        "net.inputShape=[11, 12]", String.format(Locale.ROOT, RNN, 4)), 40),
                Arguments.of("ts", List.of("data.format=ts", "data.train=" + tsFile, "data.test=" + tsFile, "data.validation=6",
                        "net.type=graph", "net.inputShape=[4, 2]", String.format(Locale.ROOT, RNN, 2)), 30),
                Arguments.of("csv", List.of("data.format=csv", "data.train=" + csvFile, "data.test=" + csvFile,
                        "data.classes=[a, b, c]", "data.validation=10", "data.normalize=feature", "net.hidden=[8]"), 80),
                Arguments.of("csv_sequence", List.of("data.format=csv_sequence", "data.train=" + seqFile, "data.test=" + seqFile,
                        "data.validation=10", "net.type=graph", "net.inputShape=[4, 2]", String.format(Locale.ROOT, RNN, 2)), 80),
                Arguments.of("synthetic2d", List.of("data.format=synthetic2d", "data.count=300", "data.validation=50",
                        "net.hidden=[16, 16]"), 300),
                Arguments.of("idx, sequential view", List.of("data.sequential=true", "data.trainLimit=200", "data.testLimit=30",
                        "data.validation=40", "net.type=graph", "net.inputShape=[28, 28]", String.format(Locale.ROOT, RNN, 10)), 30));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void formatTrainsAndCertifiesThroughTheCli(String name, List<String> settings, int testExamples) throws Exception {
        String id = name.replaceAll("[^a-z0-9]", "");
        Path out = tmp.resolve("runs-" + id);
        List<String> args = new ArrayList<>(List.of("train", "train.epochs=1", "spark.numWorkers=2", "output.runId=" + id,
                "output.dir=" + out, "loss.lambda=0.1"));
        args.addAll(settings);
        MainTest.Result r = MainTest.run(args.toArray(new String[0]));
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(r.out().contains("data: "), r.out());
        Path model = out.resolve("models").resolve(id);
        JsonNode prov = ModelIO.provenance(model);
        assertTrue(prov.path("dataFingerprint").asText().startsWith("sha256:"), prov.toString());
        List<String> cert = new ArrayList<>(List.of("certify", "--model", model.toString(), "output.runId=c" + id,
                "output.dir=" + out, "certify.soundnessExamples=4", "certify.soundnessPoints=10"));
        cert.addAll(settings.stream().filter(s -> s.startsWith("data.")).toList());
        MainTest.Result c = MainTest.run(cert.toArray(new String[0]));
        assertEquals(0, c.code(), c.err() + c.out());
        assertTrue(c.out().contains(testExamples + " examples, accuracy") && c.out().contains(" 0 violations"), c.out());
    }

    /** An IDX pair of n 4x4 images (seeded noise) and the given labels. */
    static Path[] idx(String name, int[] labels) throws Exception {
        int n = labels.length;
        java.nio.ByteBuffer images = java.nio.ByteBuffer.allocate(16 + 16 * n).putInt(0x00000803).putInt(n).putInt(4).putInt(4);
        java.util.Random r = new java.util.Random(n);
        for (int i = 0; i < 16 * n; i++) {
            images.put((byte) r.nextInt(256));
        }
        java.nio.ByteBuffer lab = java.nio.ByteBuffer.allocate(8 + n).putInt(0x00000801).putInt(n);
        for (int y : labels) {
            lab.put((byte) y);
        }
        return new Path[] {Files.write(tmp.resolve(name + "-images"), images.array()),
                Files.write(tmp.resolve(name + "-labels"), lab.array())};
    }

    static List<String> idxArgs(Path[] train, Path[] test) {
        return List.of("data.train=" + train[0], "data.trainLabels=" + train[1], "data.test=" + test[0],
                "data.testLabels=" + test[1], "data.validation=4", "net.hidden=[5]", "data.mean=[0.5]", "data.std=[0.25]");
    }

    /**
     * IDX through the command line. Labels that would train a useless or wrong-sized model are input errors
     * naming the label file: one class only (an IDX label file of all 200s), a label at or beyond
     * data.numClasses (with its byte offset), and a test split whose labels the model has no outputs for. The
     * pixels' certificates are about the exact points p / 255, checked in float64 against per-neuron
     * back-propagation there.
     */
    @Test
    void idxLabelsAreCheckedAndPixelsCertifiedAtPOver255() throws Exception {
        int[] twoHundreds = new int[30];
        java.util.Arrays.fill(twoHundreds, 200);
        int[] three = new int[30];
        for (int i = 0; i < 30; i++) {
            three[i] = i % 3;
        }
        Path[] one = idx("one-class", twoHundreds);
        Path[] ok = idx("three-classes", three);
        Path out = tmp.resolve("label-runs");
        List<String> args = new ArrayList<>(List.of("train", "--dry-run", "output.dir=" + out));
        args.addAll(idxArgs(one, ok));
        MainTest.Result single = MainTest.run(args.toArray(new String[0]));
        assertEquals(Main.INPUT, single.code(), single.err());
        assertTrue(single.err().contains(one[1] + ": every one of the 26 training labels is 200"), single.err());

        args = new ArrayList<>(List.of("train", "--dry-run", "data.numClasses=2", "output.dir=" + out));
        args.addAll(idxArgs(ok, ok));
        MainTest.Result beyond = MainTest.run(args.toArray(new String[0]));
        assertEquals(Main.INPUT, beyond.code(), beyond.err());
        assertTrue(beyond.err().contains(ok[1] + ": byte offset 10 (label 2): label 2 is at or beyond roll.data.numClasses = 2"),
                beyond.err());

        // five classes declared, three present: five outputs; certify checks the model's classes against the data
        args = new ArrayList<>(List.of("train", "data.numClasses=5", "train.epochs=1", "output.runId=five",
                "output.dir=" + out));
        args.addAll(idxArgs(ok, ok));
        MainTest.Result five = MainTest.run(args.toArray(new String[0]));
        assertEquals(0, five.code(), five.err() + five.out());
        org.rollspark.net.Network net = ModelIO.load(out.resolve("models").resolve("five"));
        assertEquals(5, net.outputSize());
        // certify the training images: the certificates are about the exact points p / 255 (float64 reference)
        MainTest.Result exact = MainTest.run("certify", "--model", out.resolve("models/five").toString(), "data.test="
                + ok[0], "data.testLabels=" + ok[1], "output.dir=" + out, "output.runId=exact",
                "certify.soundnessExamples=30");
        assertEquals(0, exact.code(), exact.err() + exact.out());
        assertTrue(exact.out().contains(" 0 violations"), exact.out());
        byte[] pixels = Files.readAllBytes(ok[0]);
        double[] x = new double[30 * 16];
        for (int i = 0; i < x.length; i++) {
            x[i] = (pixels[16 + i] & 0xff) / 255.0;
        }
        org.rollspark.dense.DenseNet net64 = (org.rollspark.dense.DenseNet) net.castTo(
                org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        org.nd4j.linalg.api.ndarray.INDArray points = org.rollspark.util.Host.array(x,
                org.nd4j.linalg.api.buffer.DataType.DOUBLE, 30, 16);
        try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:duckdb:");
                java.sql.ResultSet rs = db.createStatement().executeQuery("SELECT example_id, eps_l1, eps_l2, eps_linf FROM "
                        + "read_parquet('" + out + "/certification/examples/*/run_id=exact/*.parquet') ORDER BY example_id")) {
            int e = 0;
            while (rs.next()) {
                assertEquals(e, rs.getLong(1));
                org.rollspark.region.Norm[] norms = {org.rollspark.region.Norm.L1, org.rollspark.region.Norm.L2,
                        org.rollspark.region.Norm.LINF};
                for (int k = 0; k < 3; k++) {
                    double truth = org.rollspark.region.RegionCertifierDenseTest.referenceMargin(net64, points, e, norms[k]);
                    double got = rs.getDouble(2 + k);
                    assertTrue(got <= truth && got >= truth * (1 - 2e-4), norms[k] + " margin of example " + e + ": " + got
                            + " against " + truth + " at p / 255");
                }
                e++;
            }
            assertEquals(30, e);
        }
        int[] seven = three.clone();
        seven[17] = 7;
        Path[] wide = idx("label-seven", seven);
        MainTest.Result cert = MainTest.run("certify", "--model", out.resolve("models/five").toString(), "data.test="
                + wide[0], "data.testLabels=" + wide[1], "output.dir=" + out, "output.runId=c7");
        assertEquals(Main.INPUT, cert.code(), cert.err());
        assertTrue(cert.err().contains(wide[1] + ": labels up to 7 but the model") && cert.err().contains("has 5 classes"),
                cert.err());
        MainTest.Result declared = MainTest.run("certify", "--model", out.resolve("models/five").toString(), "data.test="
                + ok[0], "data.testLabels=" + ok[1], "data.numClasses=4", "output.dir=" + out, "output.runId=c4");
        assertEquals(Main.USAGE, declared.code(), declared.err());
        assertTrue(declared.err().contains("roll.data.numClasses = 4 but the model"), declared.err());
        try (Stream<Path> all = Files.walk(out.resolve("certification"))) {
            assertTrue(all.noneMatch(f -> f.toString().endsWith(".parquet") && (f.toString().contains("run_id=c7")
                    || f.toString().contains("run_id=c4"))), "the refused runs certified nothing (only the failures' "
                    + "records in the run manifests)");
        }
    }

    @Test
    void badInputStopsWithExitCodeThreeAndWritesNothing() throws Exception {
        Path csv = tmp.resolve("bad.csv");
        Files.writeString(csv, "x,y,label\n1,2,0\n3,4,1\n5,NaN,0\n7,8,1\n");
        Path out = tmp.resolve("bad-runs");
        MainTest.Result r = MainTest.run("compare", "data.format=csv", "data.train=" + csv, "data.test=" + csv,
                "data.validation=1", "net.hidden=[4]", "output.dir=" + out);
        assertEquals(Main.INPUT, r.code(), r.err() + r.out());
        assertTrue(r.err().contains("bad.csv: line 4") && r.err().contains("not finite"), r.err());
        assertFalse(Files.exists(out.resolve("models")) || Files.exists(out.resolve("certification")), "nothing written");
        Path imgs = Files.createDirectories(tmp.resolve("mixed-imgs/a"));
        DataFormatsTest.image(imgs.resolve("x.png"), "png", 5, 5, Color.RED);
        MainTest.Result noSize = MainTest.run("train", "--dry-run", "data.format=images", "data.train=" + imgs.getParent(),
                "data.test=" + imgs.getParent());
        assertEquals(Main.USAGE, noSize.code(), noSize.err());
        assertTrue(noSize.err().contains("roll.data.imageSize"), noSize.err());
        Path seq = tmp.resolve("short-seq.csv");
        Files.writeString(seq, "id,label,f1,f2\na,0,1,2\na,0,1,2\nb,1,3,4\nc,0,1,1\nc,0,2,2\nc,0,3,3\nc,0,4,4\n");
        MainTest.Result shape = MainTest.run("train", "--dry-run", "data.format=csv_sequence", "data.train=" + seq,
                "data.test=" + seq, "data.validation=1", "net.hidden=[4]");
        assertEquals(Main.USAGE, shape.code(), shape.err());
        assertTrue(shape.err().contains("padded sequences of shape [4, 2]"), shape.err());
    }
}
