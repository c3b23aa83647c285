package org.rollspark.data;

import java.io.IOException;
import java.util.List;

/**
 * IDX image and label files (MNIST and every set in its format), raw or gzipped: one part, the image
 * file and its label file. Bytes are scaled to [0, 1]; (N, H, W) images become (1, H, W) examples,
 * (N, H, W, C) ones (H, W, C) as stored, (N, D) vectors (D).
 */
final class IdxFormat extends Format {
    private static final long serialVersionUID = 1L;

    @Override
    public List<Part> parts(Location location, DataFiles.Settings settings) throws IOException {
        if (location.labels() == null || location.labels().isEmpty()) {
            throw new IllegalArgumentException("format idx needs a label file for " + location.data()
                    + " (roll.data.trainLabels / roll.data.testLabels)");
        }
        return List.of(new Part(0, List.of(DataFiles.qualify(location.data(), settings),
                DataFiles.qualify(location.labels(), settings)), -1));
    }

    @Override
    public boolean byteValued() {
        return true;
    }

    /** The label file and the label's byte offset in it (uncompressed): an 8-byte header, then one byte per label. */
    @Override
    public String[] labelAt(Part part, int example) {
        return new String[] {part.files().get(1), "byte offset " + (8L + example) + " (label " + example + ")"};
    }

    @Override
    public LabeledData read(Part part, DataFiles.Settings settings) throws IOException {
        String images = part.files().get(0);
        String labels = part.files().get(1);
        return toData(DataFiles.name(images), IdxReader.read(images, settings, Integer.MAX_VALUE), images,
                IdxReader.read(labels, settings, Integer.MAX_VALUE), labels, part.index());
    }

    /** Examples from an IDX image array and its label array (files named for errors); ids of part {@code part}. */
    static LabeledData toData(String name, IdxReader.Idx img, String images, IdxReader.Idx lab, String labels, int part)
            throws DataFormatException {
        if (lab.dims().length != 1) {
            throw new DataFormatException(labels, "offset 3", "a label file has 1 dimension, this one has " + lab.dims().length);
        }
        if (img.dims().length < 2) {
            throw new DataFormatException(images, "offset 3", "an image file has at least 2 dimensions, this one has "
                    + img.dims().length);
        }
        if (img.count() != lab.count()) {
            throw new DataFormatException(images, "offset 4", "the file has " + img.count() + " images but " + labels + " has " + lab.count()
                    + " labels");
        }
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
        return new LabeledData(name, x, y, shape, max + 1, ids(part, y.length), null);
    }
}
