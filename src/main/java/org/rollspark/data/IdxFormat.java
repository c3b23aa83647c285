package org.rollspark.data;

import java.io.IOException;
import java.util.List;

/**
 * IDX image and label files (MNIST and every set in its format), raw or gzipped, read in parts of at most
 * {@link #PART_BYTES} of images, 32 MB as float32 (consecutive records: a task per part, each skipping to its first record).
 * Bytes are scaled to [0, 1]; (N, H, W) images become (1, H, W) examples, (N, H, W, C) ones (H, W, C) as
 * stored, (N, D) vectors (D). An example's id is its record number in the file.
 */
final class IdxFormat extends Format {
    private static final long serialVersionUID = 1L;

    @Override
    public List<Part> parts(Location location, DataFiles.Settings settings) throws IOException {
        if (location.labels() == null || location.labels().isEmpty()) {
            throw new IllegalArgumentException("format idx needs a label file for " + location.data()
                    + " (" + DataSpec.TRAIN_LABELS + " / " + DataSpec.TEST_LABELS + ")");
        }
        String images = DataFiles.qualify(location.data(), settings);
        String labels = DataFiles.qualify(location.labels(), settings);
        int[] img = IdxReader.header(images, settings);
        int[] lab = IdxReader.header(labels, settings);
        check(img, images, lab, labels);
        long per = perPart(img);
        List<Part> parts = new java.util.ArrayList<>();
        for (long from = 0, k = 0; k == 0 || from < img[0]; from += per, k++) {
            parts.add(new Part((int) k, List.of(images, labels), -1));
        }
        return parts;
    }

    /** Bytes of images per part (a task's read): small enough for a small executor, large enough to amortise a task. */
    static final long PART_BYTES = 8L << 20;
    /** {@link #PART_BYTES}, lowered by tests to split small files. */
    static volatile long partBytes = PART_BYTES;

    /** Records per part. */
    private static long perPart(int[] imageDims) {
        long item = 1;
        for (int i = 1; i < imageDims.length; i++) {
            item *= imageDims[i];
        }
        return Math.max(1, partBytes / item);
    }

    private static void check(int[] img, String images, int[] lab, String labels) throws DataFormatException {
        if (lab.length != 1) {
            throw new DataFormatException(labels, "offset 3", "a label file has 1 dimension, this one has " + lab.length);
        }
        if (img.length < 2) {
            throw new DataFormatException(images, "offset 3", "an image file has at least 2 dimensions, this one has "
                    + img.length);
        }
        if (img[0] != lab[0]) {
            throw new DataFormatException(images, "offset 4", "the file has " + img[0] + " images but " + labels + " has "
                    + lab[0] + " labels");
        }
    }

    @Override
    public boolean byteValued() {
        return true;
    }

    /** The label file and the label's byte offset in it (uncompressed): an 8-byte header, then one byte per label. */
    @Override
    public String[] labelAt(Part part, LabeledData data, int example) {
        long record = data.id(example);
        return new String[] {part.files().get(1), "byte offset " + (8L + record) + " (label " + record + ")"};
    }

    @Override
    public LabeledData read(Part part, DataFiles.Settings settings) throws IOException {
        String images = part.files().get(0);
        String labels = part.files().get(1);
        int[] dims = IdxReader.header(images, settings);
        long per = perPart(dims);
        long from = part.index() * per;
        int count = (int) Math.max(0, Math.min(per, dims[0] - from));
        return toData(DataFiles.name(images), IdxReader.read(images, settings, from, count), images,
                IdxReader.read(labels, settings, from, count), labels, from);
    }

    /**
     * Examples from an IDX image array and its label array (files named for errors), the first being record
     * {@code first} of the files (its id).
     */
    static LabeledData toData(String name, IdxReader.Idx img, String images, IdxReader.Idx lab, String labels, long first)
            throws DataFormatException {
        check(img.dims(), images, lab.dims(), labels);
        int[] d = img.dims();
        int[] shape = switch (d.length) {
            case 2 -> new int[] {d[1]};
            case 3 -> new int[] {1, d[1], d[2]};
            default -> new int[] {d[1], d[2], d[3]};
        };
        float[] x = new float[img.data().length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (img.data()[i] & 0xff) / 255f;
        }
        int[] y = new int[lab.count()];
        int max = 1;
        for (int i = 0; i < y.length; i++) {
            y[i] = lab.data()[i] & 0xff;
            max = Math.max(max, y[i]);
        }
        long[] ids = new long[y.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = first + i;
        }
        return new LabeledData(name, x, y, shape, max + 1, ids, null);
    }
}
