package org.rollspark.data;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * A data format: lists the parts of a location on the driver (usually one per file) and reads one
 * part into examples on an executor. Examples get stable ids, {@code part << 32 | record}, so that
 * splits and shards do not depend on how Spark schedules the reads. Every malformed input is a
 * {@link DataFormatException} naming the file and the offset, record or line.
 */
public abstract class Format implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * One unit of reading: its index among the location's parts, its files, and for formats that
     * take labels from the folder structure the label of every example in it.
     */
    public record Part(int index, List<String> files, int label) implements Serializable {}

    /** Where a split's data is: a file, directory or glob; IDX also names the label file. */
    public record Location(String data, String labels) implements Serializable {}

    /** Formats by name, as {@code roll.data.format} spells them. */
    public static final List<String> NAMES = List.of("idx", "cifar10", "images", "vowels", "ts", "csv", "csv_sequence",
            "synthetic2d", "table");

    /** The settings of every reader, each declared on its reader. */
    public static List<org.rollspark.config.Setting.Group> readerSettings() {
        return List.of(ImageFolderFormat.SETTINGS, CsvFormat.SETTINGS, TableFormat.SETTINGS, VowelsFormat.SETTINGS,
                SyntheticFormat.SETTINGS);
    }

    /** Every data.* setting by key: the shared ones (DataSpec) and the readers'. */
    static Map<String, org.rollspark.config.Setting<?>> dataSettings() {
        Map<String, org.rollspark.config.Setting<?>> m = new java.util.HashMap<>();
        for (org.rollspark.config.Setting.Group g : readerSettings()) {
            g.settings().forEach(s -> m.put(s.key(), s));
        }
        DataSpec.SETTINGS.settings().forEach(s -> m.put(s.key(), s));
        return m;
    }

    public static Format of(DataSpec spec) {
        return switch (spec.format()) {
            case "idx" -> new IdxFormat();
            case "cifar10" -> new CifarFormat();
            case "images" -> new ImageFolderFormat(spec);
            case "vowels" -> new VowelsFormat(spec);
            case "ts" -> new TsFormat(spec);
            case "csv" -> new CsvFormat(spec, false);
            case "csv_sequence" -> new CsvFormat(spec, true);
            case "synthetic2d" -> new SyntheticFormat(spec);
            case "table" -> new TableFormat(spec);
            default -> throw new IllegalArgumentException(DataSpec.FORMAT + ": unknown format '" + spec.format() + "'; one of "
                    + String.join(", ", NAMES));
        };
    }

    /** The parts of a location (driver side). */
    public abstract List<Part> parts(Location location, DataFiles.Settings settings) throws IOException;

    /**
     * Reads one part (executor side). Sequences come back with their own padding (shape (T, F) with T
     * the longest in the part, and lengths); the pipeline pads them to a common length.
     */
    public abstract LabeledData read(Part part, DataFiles.Settings settings) throws IOException;

    /**
     * The class names, label order, of formats whose classes have names (a folder per class, .ts
     * headers), once {@link #parts} has listed a location; null otherwise. A second location (the test
     * set) is mapped onto the first one's names; {@code roll.data.classes} fixes them up front (a saved
     * model's, for certification).
     */
    public java.util.List<String> classNames() {
        return null;
    }

    /**
     * Whether every value this format reads is a byte over 255, {@code p / 255f} (IDX, CIFAR-10, RGB images): the
     * data point is then the exact {@code p / 255}, which float32 cannot hold, and certification recovers it
     * ({@link LabeledData#bytePoints()}).
     */
    public boolean byteValued() {
        return false;
    }

    /** Where example {@code example} of a part (read as {@code data}) keeps its label, for errors: a file and a place in it. */
    public String[] labelAt(Part part, LabeledData data, int example) {
        return new String[] {part.files().get(0), "example " + example};
    }

    /** Number of classes when the format knows it (CIFAR-10, a folder per class, .ts headers); 0 when labels decide. */
    public int classes(List<Part> parts) {
        return 0;
    }

    /** The stable id of record r of part p. */
    public static long id(int part, long record) {
        return ((long) part << 32) | record;
    }

    static long[] ids(int part, int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = id(part, i);
        }
        return ids;
    }

    /** The files of a location as single-file parts. */
    static List<Part> perFile(Location location, DataFiles.Settings settings) throws IOException {
        List<String> files = DataFiles.list(location.data(), settings);
        java.util.ArrayList<Part> parts = new java.util.ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            parts.add(new Part(i, List.of(files.get(i)), -1));
        }
        return parts;
    }

    /** Rejects a non-finite value with the file and where it is. */
    static float finite(double v, String file, String where) throws DataFormatException {
        if (!Double.isFinite(v)) {
            throw new DataFormatException(file, where, "value " + v + " is not finite");
        }
        return (float) v;
    }
}
