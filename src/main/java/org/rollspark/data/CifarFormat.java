package org.rollspark.data;

import java.io.IOException;
import java.util.List;

/**
 * CIFAR-10 binary batches ({@code data_batch_1.bin} ... {@code test_batch.bin}): records of one label
 * byte (0-9) and 3,072 pixel bytes, the 32 x 32 red, green and blue planes in that order. One part per
 * file; a location is a file, a folder of batch files or a glob such as {@code data_batch_*.bin}.
 * Examples are (3, 32, 32), scaled to [0, 1].
 */
final class CifarFormat extends Format {
    @Override
    public boolean byteValued() {
        return true;
    }

    private static final long serialVersionUID = 1L;
    static final int PIXELS = 3 * 32 * 32;
    static final int RECORD = PIXELS + 1;

    @Override
    public List<Part> parts(Location location, DataFiles.Settings settings) throws IOException {
        return perFile(location, settings);
    }

    @Override
    public int classes(List<Part> parts) {
        return 10;
    }

    @Override
    public LabeledData read(Part part, DataFiles.Settings settings) throws IOException {
        String file = part.files().get(0);
        byte[] b = DataFiles.readAll(file, settings, 1L << 30);
        if (b.length == 0) {
            throw new DataFormatException(file, "offset 0", "empty file");
        }
        if (b.length % RECORD != 0) {
            throw new DataFormatException(file, "offset " + (b.length - b.length % RECORD), b.length
                    + " bytes is not a whole number of " + RECORD + "-byte CIFAR-10 records (truncated or not CIFAR-10)");
        }
        int n = b.length / RECORD;
        float[] x = new float[n * PIXELS];
        int[] y = new int[n];
        for (int r = 0; r < n; r++) {
            int at = r * RECORD;
            y[r] = b[at] & 0xff;
            if (y[r] > 9) {
                throw new DataFormatException(file, "record " + r + " (offset " + at + ")", "label " + y[r]
                        + " is not a CIFAR-10 class (0-9)");
            }
            for (int i = 0; i < PIXELS; i++) {
                x[r * PIXELS + i] = (b[at + 1 + i] & 0xff) / 255f;
            }
        }
        return new LabeledData(DataFiles.name(file), x, y, new int[] {3, 32, 32}, 10, ids(part.index(), n), null);
    }
}
