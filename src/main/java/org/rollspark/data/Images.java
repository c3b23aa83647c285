package org.rollspark.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import javax.imageio.ImageIO;

/**
 * Encoded images (JPEG, PNG, BMP, GIF) decoded with javax.imageio, for image folders and for tables whose rows hold
 * encoded images or the rows of Spark's {@code image} source.
 */
public final class Images {
    private Images() {}

    /** Images larger than this many pixels are refused before decoding (a corrupt header can claim any size). */
    public static final long MAX_PIXELS = 1L << 26;

    /**
     * The image {@code in} holds, or null when no javax.imageio reader takes it.
     *
     * @param file where it comes from, for errors
     * @throws DataFormatException for a header claiming more than {@link #MAX_PIXELS} pixels
     */
    public static BufferedImage decode(InputStream in, String file) throws IOException {
        try (javax.imageio.stream.ImageInputStream iis = ImageIO.createImageInputStream(in)) {
            java.util.Iterator<javax.imageio.ImageReader> readers = iis == null ? null : ImageIO.getImageReaders(iis);
            if (readers == null || !readers.hasNext()) {
                return null;
            }
            javax.imageio.ImageReader r = readers.next();
            try {
                r.setInput(iis, true, true);
                long pixels = (long) r.getWidth(0) * r.getHeight(0);
                if (pixels > MAX_PIXELS) {
                    throw new DataFormatException(file, "", r.getWidth(0) + " x " + r.getHeight(0) + " pixels, more than "
                            + MAX_PIXELS + " (corrupt header?)");
                }
                return r.read(0);
            } finally {
                r.dispose();
            }
        }
    }

    /**
     * An image's pixels as (C, H, W) values in [0, 1], as Spark's {@code image} source reads them: a grey image's
     * first band (C = 1), any other image's RGB (C = 3, alpha dropped); each byte over 255 in float32.
     */
    public static float[] chw(BufferedImage img) {
        int h = img.getHeight();
        int w = img.getWidth();
        boolean grey = img.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY;
        int plane = h * w;
        float[] x = new float[(grey ? 1 : 3) * plane];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < w; j++) {
                int p = i * w + j;
                if (grey) {
                    x[p] = (img.getRaster().getSample(j, i, 0) & 0xff) / 255f;
                } else {
                    int rgb = img.getRGB(j, i);
                    x[p] = ((rgb >> 16) & 0xff) / 255f;
                    x[plane + p] = ((rgb >> 8) & 0xff) / 255f;
                    x[2 * plane + p] = (rgb & 0xff) / 255f;
                }
            }
        }
        return x;
    }

    /**
     * A row of Spark's {@code image} source (OpenCV's layout: {@code height} rows of {@code width} pixels of
     * {@code channels} bytes, B G R (A)) as (C, H, W) values in [0, 1]: grey stays one channel, colour becomes R G B
     * (alpha dropped).
     */
    public static float[] chw(byte[] data, int height, int width, int channels) {
        int c = channels == 1 ? 1 : 3;
        int plane = height * width;
        float[] x = new float[c * plane];
        for (int p = 0; p < plane; p++) {
            if (c == 1) {
                x[p] = (data[p] & 0xff) / 255f;
            } else {
                for (int k = 0; k < 3; k++) { // B G R in the row, R G B out
                    x[(2 - k) * plane + p] = (data[p * channels + k] & 0xff) / 255f;
                }
            }
        }
        return x;
    }
}
