package org.rollspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every reader on files in its real format: the bundled MNIST slice (IDX), and format fixtures
 * written here byte for byte as the format specifies (CIFAR-10 binary records, PNG / JPEG folders,
 * Japanese Vowels blocks, UEA .ts, CSV) since those sets are not reachable from this machine.
 */
public class DataFormatsTest {
    @TempDir
    Path tmp;

    static LabeledData readOne(String format, Map<String, String> opts, String data, String labels) throws IOException {
        Format f = Format.of(new DataSpec(format, opts));
        List<Format.Part> parts = f.parts(new Format.Location(data, labels), DataFiles.Settings.local());
        assertEquals(1, parts.size(), "one part");
        return f.read(parts.get(0), DataFiles.Settings.local());
    }

    static LabeledData readAll(String format, Map<String, String> opts, String data) throws IOException {
        Format f = Format.of(new DataSpec(format, opts));
        List<Format.Part> parts = f.parts(new Format.Location(data, ""), DataFiles.Settings.local());
        List<LabeledData> read = new java.util.ArrayList<>();
        for (Format.Part p : parts) {
            read.add(f.read(p, DataFiles.Settings.local()));
        }
        return LabeledData.concat(data, read, read.get(0).shape(), f.classes(parts) > 0 ? f.classes(parts) : 10);
    }

    /**
     * IDX files are read in parts of consecutive records, each task skipping to its first one (a seek in a raw
     * file, decompression in a gzipped one): the parts together are the file, ids are record numbers, and a
     * truncated file names the offset where it ends.
     */
    @Test
    void idxFilesAreReadInPartsOfConsecutiveRecords() throws IOException {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
        int n = 25;
        java.nio.ByteBuffer img = java.nio.ByteBuffer.allocate(16 + 16 * n).putInt(0x00000803).putInt(n).putInt(4).putInt(4);
        java.nio.ByteBuffer lab = java.nio.ByteBuffer.allocate(8 + n).putInt(0x00000801).putInt(n);
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 16; k++) {
                img.put((byte) rng.nextInt(256));
            }
            lab.put((byte) (i % 10));
        }
        Path raw = Files.write(tmp.resolve("img"), img.array());
        Path labels = Files.write(tmp.resolve("lab"), lab.array());
        Path gz = tmp.resolve("img.gz");
        try (java.io.OutputStream o = new java.util.zip.GZIPOutputStream(Files.newOutputStream(gz))) {
            o.write(img.array());
        }
        LabeledData whole = LabeledData.fromIdx("whole", raw, labels, Integer.MAX_VALUE);
        long saved = IdxFormat.partBytes;
        IdxFormat.partBytes = 10 * 16; // 10 records per part: 3 parts
        try {
            for (Path images : new Path[] {raw, gz}) {
                Format f = Format.of(new DataSpec("idx", Map.of()));
                List<Format.Part> parts = f.parts(new Format.Location(images.toString(), labels.toString()),
                        DataFiles.Settings.local());
                assertEquals(3, parts.size(), images.toString());
                List<LabeledData> read = new java.util.ArrayList<>();
                for (Format.Part p : parts) {
                    read.add(f.read(p, DataFiles.Settings.local()));
                }
                assertEquals(List.of(10, 10, 5), read.stream().map(LabeledData::size).toList());
                LabeledData all = LabeledData.concat("all", read, whole.shape(), whole.numClasses());
                for (int i = 0; i < n; i++) {
                    assertEquals(i, all.id(i));
                    assertEquals(whole.label(i), all.label(i));
                }
                org.junit.jupiter.api.Assertions.assertArrayEquals(whole.allFeatures().data().asFloat(),
                        all.allFeatures().data().asFloat());
                // the fingerprint is the examples', not the parts'
                DataDigest combined = new DataDigest();
                for (LabeledData part : read) {
                    combined = combined.then(DataDigest.of(part));
                }
                assertEquals(whole.fingerprint(), combined.fingerprint(whole.shape()), images.toString());
                assertEquals("byte offset 31 (label 23)", f.labelAt(parts.get(2), read.get(2), 3)[1]);
            }
            // a file cut inside the last part: that part names the offset where it ends
            Path cut = Files.write(tmp.resolve("cut"), java.util.Arrays.copyOf(img.array(), 16 + 16 * 22 + 3));
            Format f = Format.of(new DataSpec("idx", Map.of()));
            List<Format.Part> parts = f.parts(new Format.Location(cut.toString(), labels.toString()), DataFiles.Settings.local());
            f.read(parts.get(1), DataFiles.Settings.local());
            IOException e = assertThrows(DataFormatException.class, () -> f.read(parts.get(2), DataFiles.Settings.local()));
            assertTrue(message(e).contains(cut + ": offset 371: file ends after 355 of the 400 data bytes"), message(e));
        } finally {
            IdxFormat.partBytes = saved;
        }
    }

    static String message(IOException e) {
        return e.getMessage();
    }

    /** {@code text} written to {@code f} is refused with an error naming the file, {@code where} and {@code why}. */
    static void assertError(String format, Path f, String text, String where, String why) throws IOException {
        Files.writeString(f, text);
        IOException e = assertThrows(DataFormatException.class, () -> readOne(format, Map.of(), f.toString(), ""), text);
        assertTrue(message(e).contains(f.toString()) && message(e).contains(where) && message(e).contains(why),
                text + ": " + message(e));
    }

    @Test
    void idxReadsTheMnistSliceAsImages() throws IOException {
        LabeledData d = readOne("idx", Map.of(), "data/mnist/t10k-images-idx3-ubyte.gz", "data/mnist/t10k-labels-idx1-ubyte.gz");
        assertEquals(2000, d.size());
        assertArrayEquals(new int[] {1, 28, 28}, d.shape());
        assertEquals(7, d.label(0));
        assertEquals(LabeledData.bundledMnist(Path.of("."))[1].features(new int[] {5}, 0, 1),
                d.features(new int[] {5}, 0, 1));
        assertEquals(Format.id(0, 1999), d.id(1999));
    }

    @Test
    void sequentialViewReadsImageRowsAsSteps() throws IOException {
        LabeledData d = readOne("idx", Map.of(), "data/mnist/t10k-images-idx3-ubyte.gz", "data/mnist/t10k-labels-idx1-ubyte.gz");
        LabeledData s = d.sequential();
        assertArrayEquals(new int[] {28, 28}, s.shape());
        assertEquals(d.features(new int[] {0}, 0, 1), s.features(new int[] {0}, 0, 1), "grey images: rows are the steps");
        // colour: step i holds row i of every channel
        float[] x = new float[2 * 2 * 3];
        for (int i = 0; i < x.length; i++) {
            x[i] = i;
        }
        LabeledData rgb = new LabeledData("rgb", x, new int[] {0}, new int[] {2, 2, 3}, 2, null, null).sequential();
        assertArrayEquals(new int[] {2, 6}, rgb.shape());
        assertArrayEquals(new float[] {0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11}, rgb.features(new int[] {0}, 0, 1).toFloatVector());
    }

    /** Format fixture: CIFAR-10 binary records (label byte, then 1024 red, 1024 green, 1024 blue bytes). */
    public static byte[] cifar(int n, int seed) {
        byte[] b = new byte[n * 3073];
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            b[i * 3073] = (byte) (i % 10);
            for (int k = 1; k < 3073; k++) {
                b[i * 3073 + k] = (byte) r.nextInt(256);
            }
        }
        return b;
    }

    @Test
    void cifarReadsBatchFilesInNameOrder() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("cifar"));
        byte[] one = cifar(5, 1);
        byte[] two = cifar(3, 2);
        Files.write(dir.resolve("data_batch_1.bin"), one);
        Files.write(dir.resolve("data_batch_2.bin"), two);
        Files.write(dir.resolve(".hidden"), new byte[] {1});
        LabeledData d = readAll("cifar10", Map.of(), dir.toString());
        assertEquals(8, d.size());
        assertArrayEquals(new int[] {3, 32, 32}, d.shape());
        assertEquals(10, d.numClasses());
        assertEquals(2, d.label(2));
        assertEquals(1, d.label(6), "second file, second record");
        float[] x = d.features(new int[] {6}, 0, 1).toFloatVector();
        assertEquals((two[3073 + 1] & 0xff) / 255f, x[0], 0, "red (0, 0)");
        assertEquals((two[3073 + 1 + 1024 + 33] & 0xff) / 255f, x[1024 + 33], 0, "green (1, 1)");
        assertEquals(Format.id(1, 1), d.id(6));
    }

    @Test
    void cifarRejectsTruncatedFilesAndBadLabels() throws IOException {
        Path f = tmp.resolve("batch.bin");
        byte[] b = cifar(3, 3);
        Files.write(f, java.util.Arrays.copyOf(b, b.length - 7));
        IOException e = assertThrows(DataFormatException.class, () -> readAll("cifar10", Map.of(), f.toString()));
        assertTrue(message(e).contains(f.toString()) && message(e).contains("offset 6146"), message(e));
        b[3073] = 12;
        Files.write(f, b);
        e = assertThrows(DataFormatException.class, () -> readAll("cifar10", Map.of(), f.toString()));
        assertTrue(message(e).contains("record 1 (offset 3073)") && message(e).contains("label 12"), message(e));
    }

    public static void image(Path file, String type, int w, int h, Color c) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(c);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w / 2, h); // left half white: the crop keeps a centred window
        g.dispose();
        Files.createDirectories(file.getParent());
        assertTrue(ImageIO.write(img, type, file.toFile()));
    }

    @Test
    void imageFoldersAreClassesResizedOrCropped() throws IOException {
        Path root = tmp.resolve("imgs");
        image(root.resolve("cat/a.png"), "png", 40, 20, new Color(255, 0, 0));
        image(root.resolve("cat/b.jpg"), "jpg", 16, 16, new Color(0, 0, 255));
        image(root.resolve("dog/c.png"), "png", 10, 30, new Color(0, 255, 0));
        Files.writeString(root.resolve("dog/notes.txt"), "not an image, not read");
        Map<String, String> rgb = Map.of("imageSize", "8,8", "channels", "3", "imageMode", "resize");
        LabeledData d = readAll("images", rgb, root.toString());
        assertEquals(3, d.size());
        assertArrayEquals(new int[] {3, 8, 8}, d.shape());
        assertArrayEquals(new int[] {0, 0, 1}, d.labels());
        assertEquals(2, d.numClasses());
        float[] a = d.features(new int[] {0}, 0, 1).toFloatVector();
        assertEquals(1.0, a[7], 1e-6, "red channel, right half: red");
        assertEquals(0.0, a[64 + 7], 1e-6, "green channel, right half");
        assertEquals(1.0, a[64], 1e-6, "green channel, left half: white");
        LabeledData grey = readAll("images", Map.of("imageSize", "8,8", "channels", "1"), root.toString());
        assertArrayEquals(new int[] {1, 8, 8}, grey.shape());
        assertEquals(0.587, grey.features(new int[] {2}, 0, 1).toFloatVector()[7], 1e-2, "luma of green");
        // crop: a 40 x 20 image cut to a square keeps the centre 20 x 20, half white, half red
        LabeledData crop = readAll("images", Map.of("imageSize", "4,4", "channels", "3", "imageMode", "crop"), root.toString());
        float[] c = crop.features(new int[] {0}, 0, 1).toFloatVector();
        assertEquals(1.0, c[16], 1e-2, "green channel, left column: white");
        assertEquals(0.0, c[16 + 3], 1e-2, "green channel, right column: red");
    }

    @Test
    void unreadableImagesAreErrorsNamingTheFile() throws IOException {
        Path root = tmp.resolve("bad");
        image(root.resolve("a/ok.png"), "png", 4, 4, Color.RED);
        Path broken = root.resolve("b/broken.png");
        Files.createDirectories(broken.getParent());
        Files.write(broken, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        IOException e = assertThrows(DataFormatException.class, () -> readAll("images", Map.of("imageSize", "4,4"),
                root.toString()));
        assertTrue(message(e).contains("broken.png") && message(e).contains("unreadable image"), message(e));
    }

    /** Format fixture: Japanese Vowels blocks of 12 LPC coefficients, blank-line separated. */
    public static String vowels(int[] blockLengths) {
        StringBuilder b = new StringBuilder();
        int v = 0;
        for (int len : blockLengths) {
            for (int t = 0; t < len; t++) {
                for (int k = 0; k < 12; k++) {
                    b.append(String.format(java.util.Locale.ROOT, "%.6f ", 0.01 * (v++ % 97) - 0.3));
                }
                b.append('\n');
            }
            b.append('\n');
        }
        return b.toString();
    }

    @Test
    void japaneseVowelsBlocksBecomeLabelledSequences() throws IOException {
        Path f = tmp.resolve("ae.small");
        Files.writeString(f, vowels(new int[] {7, 9, 8, 12}));
        LabeledData d = readOne("vowels", Map.of("speakerBlocks", "1,3"), f.toString(), "");
        assertEquals(4, d.size());
        assertArrayEquals(new int[] {12, 12}, d.shape());
        assertArrayEquals(new int[] {7, 9, 8, 12}, d.lengths(LabeledData.identity(4), 0, 4));
        assertArrayEquals(new int[] {0, 1, 1, 1}, d.labels());
        float[] x = d.features(new int[] {0}, 0, 1).toFloatVector();
        assertEquals(-0.3, x[0], 1e-6);
        assertEquals(0.0, x[7 * 12], 0, "padded steps are zeros");
        // the real files' block counts decide the speakers: 270 blocks, 30 per speaker
        int[] train = new int[270];
        java.util.Arrays.fill(train, 7);
        Path ae = tmp.resolve("ae.train");
        Files.writeString(ae, vowels(train));
        LabeledData t = readOne("vowels", Map.of(), ae.toString(), "");
        assertEquals(9, t.numClasses());
        assertEquals(0, t.label(29));
        assertEquals(1, t.label(30));
        assertEquals(8, t.label(269));
    }

    @Test
    void japaneseVowelsRaggedLinesAndUnknownBlockCountsAreErrors() throws IOException {
        Path f = tmp.resolve("ae.bad");
        Files.writeString(f, vowels(new int[] {3}) + "0.1 0.2 0.3\n");
        IOException e = assertThrows(DataFormatException.class, () -> readOne("vowels", Map.of(), f.toString(), ""));
        assertTrue(message(e).contains("line 5") && message(e).contains("3 values"), message(e));
        Files.writeString(f, vowels(new int[] {3, 4}));
        e = assertThrows(DataFormatException.class, () -> readOne("vowels", Map.of(), f.toString(), ""));
        assertTrue(message(e).contains("2 utterance blocks"), message(e));
    }

    /** Format fixture: a UEA .ts file with 2 dimensions, unequal lengths, named classes. */
    public static final String TS = """
            # format fixture (UEA / sktime .ts)
            @problemName Fixture
            @timeStamps false
            @missing false
            @univariate false
            @dimensions 2
            @equalLength false
            @classLabel true up down
            @data
            1.0,2.0,3.0:4.0,5.0,6.0:up
            0.5,0.25:-1.0,-2.0:down
            """;

    @Test
    void tsReadsMultivariateUnequalLengthCases() throws IOException {
        Path f = tmp.resolve("fixture.ts");
        Files.writeString(f, TS);
        Format fmt = Format.of(new DataSpec("ts", Map.of()));
        List<Format.Part> parts = fmt.parts(new Format.Location(f.toString(), ""), DataFiles.Settings.local());
        assertEquals(2, fmt.classes(parts));
        LabeledData d = fmt.read(parts.get(0), DataFiles.Settings.local());
        assertArrayEquals(new int[] {3, 2}, d.shape());
        assertArrayEquals(new int[] {0, 1}, d.labels());
        assertArrayEquals(new int[] {3, 2}, d.lengths(LabeledData.identity(2), 0, 2));
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, d.features(new int[] {0}, 0, 1).toFloatVector());
        assertArrayEquals(new float[] {0.5f, -1, 0.25f, -2, 0, 0}, d.features(new int[] {1}, 0, 1).toFloatVector());
    }

    @Test
    void tsErrorsNameTheLine() throws IOException {
        Path f = tmp.resolve("bad.ts");
        for (String[] c : new String[][] {
            {"1.0,2.0:4.0:up", "line 10", "ragged case"},
            {"1.0,?,3.0:4.0,5.0,6.0:up", "line 10", "missing value"},
            {"1.0,NaN,3.0:4.0,5.0,6.0:up", "line 10", "not finite"},
            {"1.0,2.0:up", "line 10", "1 dimensions"},
            {"1.0,2.0:3.0,4.0:sideways", "line 10", "not one of"}}) {
            assertError("ts", f, TS.replace("1.0,2.0,3.0:4.0,5.0,6.0:up", c[0]), c[1], c[2]);
        }
    }

    @Test
    void csvTablesWithHeadersNamedLabelsAndGzip() throws IOException {
        Path f = tmp.resolve("t.csv.gz");
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(f))) {
            o.write("a,species,b\n1.5,setosa,2\n\"3\",virginica,-4e-1\n".getBytes(StandardCharsets.UTF_8));
        }
        LabeledData d = readOne("csv", Map.of("labelColumn", "species", "classes", "setosa,versicolor,virginica"),
                f.toString(), "");
        assertArrayEquals(new int[] {2}, d.shape());
        assertArrayEquals(new int[] {0, 2}, d.labels());
        assertEquals(3, d.numClasses());
        assertArrayEquals(new float[] {1.5f, 2, 3, -0.4f}, d.allFeatures().reshape(4).toFloatVector());
        Path g = tmp.resolve("plain.csv");
        Files.writeString(g, "\uFEFF0.1,0.2,1\n0.3,0.4,0\n");
        LabeledData p = readOne("csv", Map.of(), g.toString(), "");
        assertArrayEquals(new int[] {1, 0}, p.labels(), "no header (a byte-order mark skipped), label last");
    }

    @Test
    void csvErrorsNameFileLineAndColumn() throws IOException {
        Path f = tmp.resolve("bad.csv");
        for (String[] c : new String[][] {
            {"x,y,label\n1,2,0\n3,0\n", "line 3", "2 columns"},
            {"x,y,label\n1,2,0\n3,Infinity,1\n", "line 3", "not finite"},
            {"x,y,label\n1,2,0\n3,NaN,1\n", "line 3", "not finite"},
            {"x,y,label\n1,,0\n", "line 2", "column 'y' is empty"},
            {"x,y,label\n1,2,cat\n", "line 2", "not an integer"},
            {"x,y,label\n1,\"2,0\n", "line 2", "unterminated quote"},
            {"x,y,label\n", "", "no data rows"},
            {"1,,0\n2,3,1\n", "line 1", "column 1 is empty"}}) {
            assertError("csv", f, c[0], c[1], c[2]);
        }
    }

    @Test
    void csvSequencesGroupContiguousRows() throws IOException {
        Path f = tmp.resolve("seq.csv");
        Files.writeString(f, "id,label,f1,f2\ns1,1,0.1,0.2\ns1,1,0.3,0.4\ns2,0,1,2\ns3,1,5,6\ns3,1,7,8\ns3,1,9,10\n");
        LabeledData d = readOne("csv_sequence", Map.of(), f.toString(), "");
        assertArrayEquals(new int[] {3, 2}, d.shape());
        assertArrayEquals(new int[] {1, 0, 1}, d.labels());
        assertArrayEquals(new int[] {2, 1, 3}, d.lengths(LabeledData.identity(3), 0, 3));
        assertArrayEquals(new float[] {1, 2, 0, 0, 0, 0}, d.features(new int[] {1}, 0, 1).toFloatVector());
        Files.writeString(f, "id,label,f1\ns1,1,0.1\ns2,0,1\ns1,1,2\n");
        IOException e = assertThrows(DataFormatException.class, () -> readOne("csv_sequence", Map.of(), f.toString(), ""));
        assertTrue(message(e).contains("line 4") && message(e).contains("contiguous"), message(e));
        Files.writeString(f, "id,label,f1\ns1,1,0.1\ns1,0,1\n");
        e = assertThrows(DataFormatException.class, () -> readOne("csv_sequence", Map.of(), f.toString(), ""));
        assertTrue(message(e).contains("line 3") && message(e).contains("changes its label"), message(e));
    }

    @Test
    void syntheticSetIsSeededAndSplitsDiffer() throws IOException {
        Map<String, String> o = Map.of("count", "300", "seed", "5");
        LabeledData a = readOne("synthetic2d", o, "train", "");
        LabeledData b = readOne("synthetic2d", o, "train", "");
        LabeledData t = readOne("synthetic2d", o, "test", "");
        assertEquals(300, a.size());
        assertEquals(a.fingerprint(), b.fingerprint());
        assertTrue(!a.fingerprint().equals(t.fingerprint()));
        int ones = 0;
        for (int y : a.labels()) {
            ones += y;
        }
        assertTrue(ones > 100 && ones < 200, "both classes: " + ones);
    }

    @Test
    void missingFilesAndUnknownFormatsAreClearErrors() {
        IOException e = assertThrows(IOException.class, () -> readAll("csv", Map.of(), tmp.resolve("nope.csv").toString()));
        assertTrue(message(e).contains("nope.csv") && message(e).contains("no such file"), message(e));
        IllegalArgumentException u = assertThrows(IllegalArgumentException.class, () -> Format.of(new DataSpec("hdf5", Map.of())));
        assertTrue(u.getMessage().contains("roll.data.format") && u.getMessage().contains("csv_sequence"), u.getMessage());
        IllegalArgumentException s = assertThrows(IllegalArgumentException.class,
                () -> Format.of(new DataSpec("images", Map.of("imageSize", "32"))));
        assertTrue(s.getMessage().contains("roll.data.imageSize"), s.getMessage());
    }
}
