package org.rollspark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutates real files (the bundled MNIST IDX slice, raw and gzipped, and the format fixtures of
 * {@link DataFormatsTest}) with bit flips, truncation, header edits, inserted and deleted bytes, and
 * accepts only two outcomes: an {@link IOException} whose message names the file, or a read whose
 * result is a valid dataset (finite values, labels in range, one shape). Any other exception, or
 * an error that does not say which file, fails. Fixed seed, 3,000 mutations.
 */
class ReaderFuzzTest {
    static final long SEED = 20261125L;
    static final int PER_FILE = 375;

    @TempDir
    Path tmp;

    record Target(String name, String format, Map<String, String> opts, byte[] bytes, boolean gzip, int headerBytes,
            String labels) {}

    static byte[] gunzip(Path p) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(p))) {
            return in.readAllBytes();
        }
    }

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(o)) {
            g.write(b);
        }
        return o.toByteArray();
    }

    /** The first n items of a real IDX file (header count rewritten). */
    static byte[] idxHead(byte[] idx, int n) {
        int rank = idx[3];
        int item = 1;
        for (int i = 1; i < rank; i++) {
            item *= java.nio.ByteBuffer.wrap(idx, 4 + 4 * i, 4).getInt();
        }
        byte[] out = Arrays.copyOf(idx, 4 + 4 * rank + n * item);
        java.nio.ByteBuffer.wrap(out, 4, 4).putInt(n);
        return out;
    }

    static byte[] mutate(byte[] src, int headerBytes, SplittableRandom r) {
        byte[] b = src.clone();
        switch (r.nextInt(5)) {
            case 0 -> { // bit flips anywhere
                int flips = 1 + r.nextInt(4);
                for (int i = 0; i < flips && b.length > 0; i++) {
                    int at = r.nextInt(b.length);
                    b[at] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 1 -> b = Arrays.copyOf(b, r.nextInt(b.length + 1)); // truncation
            case 2 -> { // header edit: random bytes, or a header int set to an extreme
                int h = Math.min(headerBytes, b.length);
                if (h > 0) {
                    int at = r.nextInt(h);
                    if (r.nextBoolean() && at + 4 <= b.length) {
                        int[] extremes = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 65536, 3, 28};
                        java.nio.ByteBuffer.wrap(b, at & ~3, 4).putInt(extremes[r.nextInt(extremes.length)]);
                    } else {
                        b[at] = (byte) r.nextInt(256);
                    }
                }
            }
            case 3 -> { // inserted bytes
                int at = r.nextInt(b.length + 1);
                byte[] extra = new byte[1 + r.nextInt(8)];
                for (int i = 0; i < extra.length; i++) {
                    extra[i] = (byte) r.nextInt(256);
                }
                byte[] out = new byte[b.length + extra.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(extra, 0, out, at, extra.length);
                System.arraycopy(b, at, out, at + extra.length, b.length - at);
                b = out;
            }
            default -> { // deleted bytes
                if (b.length > 1) {
                    int at = r.nextInt(b.length);
                    int len = Math.min(b.length - at, 1 + r.nextInt(8));
                    byte[] out = new byte[b.length - len];
                    System.arraycopy(b, 0, out, 0, at);
                    System.arraycopy(b, at + len, out, at, b.length - at - len);
                    b = out;
                }
            }
        }
        return b;
    }

    @Test
    void mutatedFilesGiveACleanErrorOrACorrectRead() throws IOException {
        byte[] images = idxHead(gunzip(Path.of("data/mnist/t10k-images-idx3-ubyte.gz")), 60);
        byte[] labels = idxHead(gunzip(Path.of("data/mnist/t10k-labels-idx1-ubyte.gz")), 60);
        Path png = tmp.resolve("png-src/a/img.png");
        DataFormatsTest.image(png, "png", 12, 9, Color.ORANGE);
        List<Target> targets = List.of(
                new Target("images.idx", "idx", Map.of(), images, false, 16, "labels.idx"),
                new Target("images.idx.gz", "idx", Map.of(), images, true, 16, "labels.idx"),
                new Target("labels.idx", "idx", Map.of(), labels, false, 8, "labels-of-images"),
                new Target("batch.bin", "cifar10", Map.of(), DataFormatsTest.cifar(4, 9), false, 8, null),
                new Target("fixture.ts", "ts", Map.of(), DataFormatsTest.TS.getBytes(), false, 200, null),
                new Target("table.csv", "csv", Map.of(), "x,y,label\n0.5,1,0\n2,-3e2,1\n0,0,2\n".getBytes(), false, 10, null),
                new Target("ae.fixture", "vowels", Map.of("speakerBlocks", "2,1"),
                        DataFormatsTest.vowels(new int[] {7, 8, 9}).getBytes(), false, 60, null),
                new Target("img.png", "images", Map.of("imageSize", "4,4", "channels", "3"), Files.readAllBytes(png), false, 33,
                        null));
        SplittableRandom r = new SplittableRandom(SEED);
        int reads = 0;
        int errors = 0;
        for (Target t : targets) {
            Path dir = Files.createDirectories(tmp.resolve("fuzz-" + t.name()));
            for (int m = 0; m < PER_FILE; m++) {
                byte[] bytes = mutate(t.bytes(), t.headerBytes(), r);
                Path file;
                String location;
                String labelFile = "";
                if (t.format().equals("images")) {
                    file = dir.resolve("root/cls/" + t.name());
                    Files.createDirectories(file.getParent());
                    location = dir.resolve("root").toString();
                } else {
                    file = dir.resolve(t.name());
                    location = file.toString();
                }
                Files.write(file, t.gzip() ? gzip(bytes) : bytes);
                if (t.format().equals("idx")) {
                    // mutate the images (the label file intact), or the labels (next to intact images)
                    boolean labelsMutated = t.name().startsWith("labels");
                    Path other = dir.resolve(labelsMutated ? "intact-images.idx" : "intact-labels.idx");
                    Files.write(other, labelsMutated ? images : labels);
                    labelFile = labelsMutated ? file.toString() : other.toString();
                    location = labelsMutated ? other.toString() : file.toString();
                }
                String what = t.name() + " mutation " + m;
                try {
                    Format f = Format.of(new DataSpec(t.format(), t.opts()));
                    List<Format.Part> parts = f.parts(new Format.Location(location, labelFile), DataFiles.Settings.local());
                    for (Format.Part p : parts) {
                        check(f.read(p, DataFiles.Settings.local()), f.classes(parts), what);
                    }
                    reads++;
                } catch (IOException e) {
                    String msg = String.valueOf(e.getMessage());
                    assertTrue(msg.contains(dir.toString()), what + ": the error must name the file: " + msg);
                    errors++;
                } catch (RuntimeException | Error e) {
                    fail(what + ": " + e, e);
                }
            }
        }
        assertEquals(targets.size() * PER_FILE, reads + errors);
        assertTrue(reads > 100 && errors > 1000, reads + " clean reads, " + errors + " clean errors");
    }

    /** What a correct read guarantees. */
    static void check(LabeledData d, int formatClasses, String what) {
        assertTrue(d.size() > 0, what + ": empty read");
        assertTrue(formatClasses == 0 || d.numClasses() <= formatClasses, what + ": classes");
        org.nd4j.linalg.api.ndarray.INDArray all = d.allFeatures();
        float[] x = all.reshape(all.length()).toFloatVector();
        assertEquals((long) d.size() * d.numFeatures(), x.length, what);
        for (float v : x) {
            assertTrue(Float.isFinite(v), what + ": non-finite value");
        }
        for (int y : d.labels()) {
            assertTrue(y >= 0 && y < d.numClasses(), what + ": label " + y);
        }
    }
}
