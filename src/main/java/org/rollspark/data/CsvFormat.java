package org.rollspark.data;

import static org.rollspark.config.Setting.Type.STRING;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.rollspark.config.Setting;

/**
 * Comma-separated tables, one part per file (a file, a folder of them or a glob).
 *
 * <p>{@code csv}: one example per row, numeric feature columns and one label column
 * ({@code roll.data.labelColumn}: a header name or a 0-based index; default the last column).
 *
 * <p>{@code csv_sequence}: one time step per row; {@code roll.data.sequenceColumn} (default the first
 * column) names the sequence, whose rows must be contiguous and share one label; the other columns are
 * the step's features. Sequences may differ in length (padded, with lengths).
 *
 * <p>Labels are integers 0..K-1, or names listed in {@code roll.data.classes} (label i is the i-th
 * name). A first row that is not all numbers (label column aside) is a header. Double-quoted fields
 * are understood; NaN, Inf, empty cells and ragged rows are errors naming the file and line.
 */
final class CsvFormat extends Format {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<String> SEQUENCE_COLUMN = SETTINGS.add(Setting.of("data.sequenceColumn", STRING, "0",
            "csv_sequence: the sequence-id column, by header name or 0-based index."));

    private static final long serialVersionUID = 1L;
    private final boolean sequences;
    private final String labelColumn;
    private final String sequenceColumn;
    private final List<String> classes;

    CsvFormat(DataSpec spec, boolean sequences) {
        this.sequences = sequences;
        String label = spec.get(DataSpec.LABEL_COLUMN);
        this.labelColumn = label.isEmpty() && sequences ? "1" : label; // empty: csv the last column, csv_sequence 1
        this.sequenceColumn = spec.get(SEQUENCE_COLUMN);
        this.classes = spec.get(DataSpec.CLASSES);
    }

    @Override
    public List<Part> parts(Location location, DataFiles.Settings settings) throws IOException {
        return perFile(location, settings);
    }

    @Override
    public int classes(List<Part> parts) {
        return classes.size();
    }

    @Override
    public LabeledData read(Part part, DataFiles.Settings settings) throws IOException {
        String file = part.files().get(0);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(DataFiles.open(file, settings), StandardCharsets.UTF_8))) {
            return read(r, file, part.index());
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new DataFormatException(file, "", "corrupt gzip stream (" + e.getMessage() + ")", e);
        }
    }

    private LabeledData read(BufferedReader r, String file, int part) throws IOException {
        String line;
        int lineNo = 0;
        String[] header = null;
        int width = -1;
        int labelAt = -1;
        int seqAt = -1;
        List<float[]> rows = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        SequenceBuilder seqs = null;
        String currentSeq = null;
        int currentLabel = -1;
        java.util.Set<String> seen = new java.util.HashSet<>();
        FloatBuffer steps = new FloatBuffer();
        while ((line = r.readLine()) != null) {
            lineNo++;
            line = FloatBuffer.noBom(line, lineNo);
            if (line.isBlank()) {
                continue;
            }
            String where = "line " + lineNo;
            String[] f = split(line, file, where);
            if (width < 0) {
                width = f.length;
                labelAt = column(labelColumn, f, width - 1, file, where);
                seqAt = sequences ? column(sequenceColumn, f, 0, file, where) : -1;
                if (sequences && seqAt == labelAt) {
                    throw new IllegalArgumentException(SEQUENCE_COLUMN + " and " + DataSpec.LABEL_COLUMN + " name the same column");
                }
                if (width - 1 - (sequences ? 1 : 0) < 1) {
                    throw new DataFormatException(file, where, width + " columns leave no feature column");
                }
                if (isHeader(f, labelAt, seqAt)) {
                    header = f;
                    continue;
                }
            }
            if (f.length != width) {
                throw new DataFormatException(file, where, f.length + " columns; the first row has " + width);
            }
            int label = label(f[labelAt], file, where);
            float[] x = new float[width - 1 - (sequences ? 1 : 0)];
            for (int c = 0, k = 0; c < width; c++) {
                if (c == labelAt || c == seqAt) {
                    continue;
                }
                String cell = f[c].trim();
                String col = header == null ? "column " + c : "column '" + header[c] + "'";
                if (cell.isEmpty()) {
                    throw new DataFormatException(file, where, col + " is empty");
                }
                try {
                    x[k++] = finite(Double.parseDouble(cell), file, where + ", " + col);
                } catch (NumberFormatException e) {
                    throw new DataFormatException(file, where, col + ": '" + TsFormat.abbreviate(cell) + "' is not a number");
                }
            }
            if (!sequences) {
                rows.add(x);
                labels.add(label);
                continue;
            }
            if (seqs == null) {
                seqs = new SequenceBuilder(file, x.length);
            }
            String id = f[seqAt].trim();
            if (!id.equals(currentSeq)) {
                if (currentSeq != null) {
                    seqs.add(steps.take(), currentLabel);
                }
                if (!seen.add(id)) {
                    throw new DataFormatException(file, where, "sequence '" + id + "' continues after other sequences (its rows must be contiguous)");
                }
                currentSeq = id;
                currentLabel = label;
            } else if (label != currentLabel) {
                throw new DataFormatException(file, where, "sequence '" + id + "' changes its label from " + currentLabel + " to " + label);
            }
            for (float v : x) {
                steps.add(v);
            }
        }
        if (sequences) {
            if (seqs == null) {
                throw new DataFormatException(file, "", "no data rows");
            }
            seqs.add(steps.take(), currentLabel);
            return seqs.build(part, classes.size());
        }
        if (rows.isEmpty()) {
            throw new DataFormatException(file, "", "no data rows");
        }
        int d = rows.get(0).length;
        float[] x = new float[rows.size() * d];
        int[] y = new int[rows.size()];
        int max = 1;
        for (int i = 0; i < y.length; i++) {
            System.arraycopy(rows.get(i), 0, x, i * d, d);
            y[i] = labels.get(i);
            max = Math.max(max, y[i]);
        }
        return new LabeledData(DataFiles.name(file), x, y, new int[] {d}, Math.max(classes.size(), max + 1), ids(part, y.length),
                null);
    }

    private int label(String cell, String file, String where) throws DataFormatException {
        String v = cell.trim();
        if (!classes.isEmpty()) {
            int i = classes.indexOf(v);
            if (i < 0) {
                throw new DataFormatException(file, where, "label '" + TsFormat.abbreviate(v) + "' is not one of " + DataSpec.CLASSES + " " + classes);
            }
            return i;
        }
        try {
            int y = Integer.parseInt(v);
            if (y < 0) {
                throw new NumberFormatException();
            }
            return y;
        } catch (NumberFormatException e) {
            throw new DataFormatException(file, where, "label '" + TsFormat.abbreviate(v)
                    + "' is not an integer >= 0 (list named classes in " + DataSpec.CLASSES + ")");
        }
    }

    private static int column(String spec, String[] first, int dflt, String file, String where) throws DataFormatException {
        if (spec.isEmpty()) {
            return dflt;
        }
        try {
            int i = Integer.parseInt(spec);
            if (i < 0 || i >= first.length) {
                throw new DataFormatException(file, where, "column " + i + " does not exist (" + first.length + " columns)");
            }
            return i;
        } catch (NumberFormatException e) {
            for (int i = 0; i < first.length; i++) {
                if (first[i].trim().equals(spec)) {
                    return i;
                }
            }
            throw new DataFormatException(file, where, "no column named '" + spec + "' in the header " + Arrays.toString(first));
        }
    }

    /** A header row: none of its feature cells is a number (a data row with a bad cell is an error, not a header). */
    private static boolean isHeader(String[] f, int labelAt, int seqAt) {
        for (int c = 0; c < f.length; c++) {
            if (c == labelAt || c == seqAt) {
                continue;
            }
            try {
                Double.parseDouble(f[c].trim());
                return false;
            } catch (NumberFormatException e) {
                // a name
            }
        }
        return true;
    }

    /** Splits a CSV line, honouring double quotes ("" inside quotes is a quote). */
    static String[] split(String line, String file, String where) throws DataFormatException {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"') {
                    if (i + 1 < line.length() && line.charAt(i + 1) == '"') {
                        cur.append('"');
                        i++;
                    } else {
                        quoted = false;
                    }
                } else {
                    cur.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(ch);
            }
        }
        if (quoted) {
            throw new DataFormatException(file, where, "unterminated quote");
        }
        out.add(cur.toString());
        return out.toArray(new String[0]);
    }
}
