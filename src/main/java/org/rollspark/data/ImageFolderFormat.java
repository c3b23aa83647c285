package org.rollspark.data;

import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.Type.INTS;
import static org.rollspark.config.Setting.Type.STRING;
import static org.rollspark.config.Setting.oneOf;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.rollspark.config.Setting;

/**
 * A folder with one sub-folder per class of JPEG, PNG, BMP or GIF files (the layout of Caltech-256
 * and of torchvision's ImageFolder). Classes are the sub-folders in name order. Every image is decoded
 * with javax.imageio and brought to {@code roll.data.imageSize = [H, W]}: {@code resize} scales it
 * (bilinear), {@code crop} scales its shorter side to fit and cuts the centre. {@code channels = 1}
 * gives grey (ITU-R 601 luma), 3 gives RGB; examples are (C, H, W) in [0, 1]. Parts hold up to 256
 * files of one class.
 */
final class ImageFolderFormat extends Format {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<List<Integer>> IMAGE_SIZE = SETTINGS.add(Setting.of("data.imageSize", INTS, List.of(),
            "images: [height, width] every image is brought to.", v -> {
                if (!v.isEmpty() && (v.size() != 2 || v.get(0) < 1 || v.get(1) < 1)) {
                    throw new IllegalArgumentException("must be [height, width], both >= 1");
                }
            }));
    public static final Setting<String> IMAGE_MODE = SETTINGS.add(Setting.of("data.imageMode", STRING, "resize",
            "images: resize (scale) or crop (scale the shorter side, cut the centre).", oneOf(List.of("resize", "crop"))));
    public static final Setting<Integer> CHANNELS = SETTINGS.add(Setting.of("data.channels", INT, 3,
            "images: channels, 1 (grey) or 3 (RGB).", v -> {
                if (v != 1 && v != 3) {
                    throw new IllegalArgumentException("must be 1 (grey) or 3 (RGB)");
                }
            }));

    private static final long serialVersionUID = 1L;
    private static final int FILES_PER_PART = 256;
    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");
    private final int height;
    private final int width;
    private final int channels;
    private final boolean crop;
    private List<String> names;

    ImageFolderFormat(DataSpec spec) {
        int[] size = spec.ints(IMAGE_SIZE);
        if (size.length == 0) {
            throw new IllegalArgumentException(IMAGE_SIZE + " must be [height, width] for format images");
        }
        this.height = size[0];
        this.width = size[1];
        this.channels = spec.get(CHANNELS);
        this.crop = spec.get(IMAGE_MODE).equals("crop");
        List<String> fixed = spec.get(DataSpec.CLASSES);
        this.names = fixed.isEmpty() ? null : fixed;
    }

    @Override
    public List<Part> parts(Location location, DataFiles.Settings settings) throws IOException {
        List<String> dirs = DataFiles.subdirectories(location.data(), settings);
        if (dirs.isEmpty()) {
            throw new DataFormatException(location.data(), "", "no class sub-folders (format images wants one folder per class)");
        }
        List<String> found = new ArrayList<>();
        for (String d : dirs) {
            found.add(DataFiles.name(d));
        }
        if (names == null) {
            names = List.copyOf(found);
        }
        List<Part> parts = new ArrayList<>();
        for (int c = 0; c < dirs.size(); c++) {
            int label = names.indexOf(found.get(c));
            if (label < 0) {
                throw new DataFormatException(dirs.get(c), "", "class folder '" + found.get(c) + "' is not one of the classes "
                        + names + " (of the training data or the model)");
            }
            List<String> files = new ArrayList<>();
            for (String f : DataFiles.list(dirs.get(c), settings)) {
                String lower = f.toLowerCase(Locale.ROOT);
                if (EXTENSIONS.stream().anyMatch(lower::endsWith)) {
                    files.add(f);
                }
            }
            for (int from = 0; from < files.size(); from += FILES_PER_PART) {
                parts.add(new Part(parts.size(), List.copyOf(files.subList(from, Math.min(files.size(), from + FILES_PER_PART))),
                        label));
            }
        }
        return parts;
    }

    @Override
    public List<String> classNames() {
        return names;
    }

    @Override
    public int classes(List<Part> parts) {
        return names == null ? 0 : names.size();
    }

    @Override
    public LabeledData read(Part part, DataFiles.Settings settings) throws IOException {
        int n = part.files().size();
        int d = channels * height * width;
        float[] x = new float[n * d];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            String file = part.files().get(i);
            BufferedImage img;
            try (InputStream in = DataFiles.open(file, settings)) {
                img = Images.decode(in, file);
            } catch (DataFormatException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new DataFormatException(file, "", "unreadable image (" + e.getMessage() + ")", e);
            }
            if (img == null || img.getWidth() < 1 || img.getHeight() < 1) {
                throw new DataFormatException(file, "", "unreadable image (not a JPEG, PNG, BMP or GIF that javax.imageio decodes)");
            }
            pixels(fit(img), x, i * d);
            y[i] = part.label();
        }
        return new LabeledData(DataFiles.name(part.files().get(0)), x, y, new int[] {channels, height, width},
                part.label() + 1, ids(part.index(), n), null);
    }

    /** The image scaled (and for crop, centre-cut) to height x width, as RGB. */
    private BufferedImage fit(BufferedImage img) {
        int w0 = img.getWidth();
        int h0 = img.getHeight();
        int sx = 0;
        int sy = 0;
        int sw = w0;
        int sh = h0;
        if (crop) { // the largest centred window with the target's aspect ratio
            if ((long) w0 * height > (long) h0 * width) {
                sw = (int) Math.max(1, Math.round((double) h0 * width / height));
                sx = (w0 - sw) / 2;
            } else {
                sh = (int) Math.max(1, Math.round((double) w0 * height / width));
                sy = (h0 - sh) / 2;
            }
        }
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(img, 0, 0, width, height, sx, sy, sx + sw, sy + sh, null);
        g.dispose();
        return out;
    }

    /** RGB pixels are bytes over 255; grey ones are a weighted sum of three (the float32 luminance is the point). */
    @Override
    public boolean byteValued() {
        return channels == 3;
    }

    private void pixels(BufferedImage img, float[] x, int at) {
        int plane = height * width;
        for (int i = 0; i < height; i++) {
            for (int j = 0; j < width; j++) {
                int rgb = img.getRGB(j, i);
                float r = ((rgb >> 16) & 0xff) / 255f;
                float g = ((rgb >> 8) & 0xff) / 255f;
                float b = (rgb & 0xff) / 255f;
                int p = i * width + j;
                if (channels == 1) {
                    x[at + p] = 0.299f * r + 0.587f * g + 0.114f * b;
                } else {
                    x[at + p] = r;
                    x[at + plane + p] = g;
                    x[at + 2 * plane + p] = b;
                }
            }
        }
    }
}
