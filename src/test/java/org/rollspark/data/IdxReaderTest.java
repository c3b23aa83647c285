package org.rollspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
    static final Path SLICE = Path.of("data", "mnist");

    @TempDir
    Path tmp;

    @Test
    void readsTheBundledMnistSlice() throws IOException {
        LabeledData[] d = LabeledData.bundledMnist(Path.of("."));
        assertEquals(10_000, d[0].size());
        assertEquals(2_000, d[1].size());
        assertEquals(784, d[0].numFeatures());
        assertEquals(10, d[0].numClasses());
        // the first MNIST training labels, and the first test labels
        int[] first = new int[10];
        for (int i = 0; i < 10; i++) {
            first[i] = d[0].label(i);
        }
        assertArrayEquals(new int[] {5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, first);
        assertEquals(7, d[1].label(0));
        float[] x = d[0].features(new int[] {0}, 0, 1).toFloatVector();
        double max = 0;
        for (float v : x) {
            assertTrue(v >= 0 && v <= 1);
            max = Math.max(max, v);
        }
        assertEquals(1.0, max, 1e-6);
        assertEquals(d[0].fingerprint(), LabeledData.bundledMnist(Path.of("."))[0].fingerprint());
    }

    @Test
    void limitReadsOnlyTheFirstItems() throws IOException {
        IdxReader.Idx idx = IdxReader.read(SLICE.resolve("train-images-idx3-ubyte.gz"), 3);
        assertArrayEquals(new int[] {3, 28, 28}, idx.dims());
        assertEquals(3 * 784, idx.data().length);
    }

    @Test
    void splitIsSeededAndDisjoint() throws IOException {
        LabeledData train = LabeledData.bundledMnist(Path.of("."))[0];
        LabeledData[] a = train.splitValidation(1000, 7);
        LabeledData[] b = train.splitValidation(1000, 7);
        LabeledData[] c = train.splitValidation(1000, 8);
        assertEquals(9000, a[0].size());
        assertEquals(1000, a[1].size());
        assertEquals(a[1].fingerprint(), b[1].fingerprint());
        assertNotEquals(a[1].fingerprint(), c[1].fingerprint());
    }

    @Test
    void badFilesGiveErrorsWithFileAndOffset() throws IOException {
        Path bad = tmp.resolve("bad-magic");
        Files.write(bad, ByteBuffer.allocate(12).putInt(0x00000d03).putInt(1).putInt(1).array());
        IOException e = assertThrows(IOException.class, () -> IdxReader.read(bad));
        assertTrue(e.getMessage().startsWith(bad + ": offset 0: magic 0x00000d03"), e.getMessage());

        Path truncated = tmp.resolve("truncated.gz");
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(truncated))) {
            o.write(ByteBuffer.allocate(16 + 50).putInt(0x00000803).putInt(3).putInt(5).putInt(5).array());
        }
        e = assertThrows(IOException.class, () -> IdxReader.read(truncated));
        assertTrue(e.getMessage().contains("offset 66: file ends after 50 of the 75 data bytes"), e.getMessage());

        Path huge = tmp.resolve("huge");
        Files.write(huge, ByteBuffer.allocate(16).putInt(0x00000803).putInt(60000).putInt(100000).putInt(100000).array());
        e = assertThrows(IOException.class, () -> IdxReader.read(huge));
        assertTrue(e.getMessage().contains("offset 12") && e.getMessage().contains("describe more than"), e.getMessage());

        Path header = tmp.resolve("header");
        Files.write(header, new byte[] {0, 0, 8, 3, 0, 0});
        e = assertThrows(IOException.class, () -> IdxReader.read(header));
        assertTrue(e.getMessage().contains("offset 4: file ends inside the header"), e.getMessage());

        Path trailing = tmp.resolve("trailing");
        Files.write(trailing, ByteBuffer.allocate(8 + 3 + 1).putInt(0x00000801).putInt(3).put(new byte[] {1, 2, 3, 4}).array());
        e = assertThrows(IOException.class, () -> IdxReader.read(trailing));
        assertTrue(e.getMessage().contains("offset 11: unexpected bytes"), e.getMessage());

        Path labels = tmp.resolve("labels");
        Files.write(labels, ByteBuffer.allocate(8 + 2).putInt(0x00000801).putInt(2).put(new byte[] {1, 2}).array());
        e = assertThrows(IOException.class, () -> LabeledData.fromIdx("x", SLICE.resolve("t10k-images-idx3-ubyte.gz"),
                labels, Integer.MAX_VALUE));
        assertTrue(e.getMessage().contains("has 2000 images but") && e.getMessage().contains("has 2 labels"), e.getMessage());

        assertThrows(IOException.class, () -> IdxReader.read(tmp.resolve("missing")));
    }
}
