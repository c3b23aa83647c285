package org.rollspark.bench;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.rollspark.data.IdxReader;

/**
 * Writes a large IDX test set for scale benchmarks: {@code n} images, image i being MNIST test image
 * {@code i mod 10000} (or of the bundled 2,000) with seeded noise (each pixel moved by up to +-16 levels,
 * clipped), its label the original's. Uncompressed, so the reader's parts seek to their first record.
 * Usage: {@code NoisyIdx N OUT_DIR [SOURCE_DIR]} writes OUT_DIR/t10k-images-idx3-ubyte and
 * OUT_DIR/t10k-labels-idx1-ubyte (jobs/make-noisy-idx.sh).
 */
public final class NoisyIdx {
    private NoisyIdx() {}

    public static void main(String[] args) throws IOException {
        int n = Integer.parseInt(args[0]);
        Path out = Files.createDirectories(Path.of(args[1]));
        Path src = Path.of(args.length > 2 ? args[2] : Files.exists(Path.of("data/full/mnist/t10k-images-idx3-ubyte.gz"))
                ? "data/full/mnist" : "data/mnist");
        IdxReader.Idx images = IdxReader.read(src.resolve("t10k-images-idx3-ubyte.gz"));
        IdxReader.Idx labels = IdxReader.read(src.resolve("t10k-labels-idx1-ubyte.gz"));
        int size = images.itemSize();
        SplittableRandom rng = new SplittableRandom(20261126);
        try (DataOutputStream img = stream(out.resolve("t10k-images-idx3-ubyte"));
                DataOutputStream lab = stream(out.resolve("t10k-labels-idx1-ubyte"))) {
            img.writeInt(0x00000803);
            img.writeInt(n);
            img.writeInt(images.dims()[1]);
            img.writeInt(images.dims()[2]);
            lab.writeInt(0x00000801);
            lab.writeInt(n);
            byte[] row = new byte[size];
            for (int i = 0; i < n; i++) {
                int s = i % images.count();
                for (int k = 0; k < size; k++) {
                    int v = (images.data()[s * size + k] & 0xff) + rng.nextInt(33) - 16;
                    row[k] = (byte) Math.max(0, Math.min(255, v));
                }
                img.write(row);
                lab.write(labels.data()[s]);
            }
        }
        System.out.printf("wrote %d noisy MNIST test images to %s (from %s)%n", n, out, src);
    }

    private static DataOutputStream stream(Path p) throws IOException {
        OutputStream o = Files.newOutputStream(p);
        return new DataOutputStream(new BufferedOutputStream(o, 1 << 20));
    }
}
