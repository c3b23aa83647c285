package org.rollspark.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * The UEA / UCR {@code .ts} time-series format (sktime's): a header of {@code @tag value} lines
 * ({@code @classLabel true a b c} lists the classes, in label order), then after {@code @data} one
 * case per line, its dimensions separated by ':' and the class label last, each dimension's values
 * separated by ','. Cases may differ in length (padded, with lengths) but all dimensions of a case
 * must have the same length. Time stamps, missing values ('?') and regression targets are refused.
 * Examples are (T, dimensions).
 */
final class TsFormat extends Format {
    private static final long serialVersionUID = 1L;
    private List<String> classes;

    TsFormat(DataSpec spec) {
        String[] fixed = spec.get(DataSpec.CLASSES).toArray(String[]::new);
        this.classes = fixed.length == 0 ? null : List.of(fixed);
    }

    @Override
    public List<Part> parts(Location location, DataFiles.Settings settings) throws IOException {
        List<Part> parts = perFile(location, settings);
        if (parts.isEmpty()) {
            throw new DataFormatException(location.data(), "", "no input files");
        }
        if (classes == null) {
            classes = header(parts.get(0).files().get(0), settings);
        }
        return parts;
    }

    @Override
    public List<String> classNames() {
        return classes;
    }

    @Override
    public int classes(List<Part> parts) {
        return classes == null ? 0 : classes.size();
    }

    private static List<String> header(String file, DataFiles.Settings settings) throws IOException {
        try (BufferedReader r = reader(file, settings)) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                String t = FloatBuffer.noBom(line, lineNo).trim();
                String lower = t.toLowerCase(Locale.ROOT);
                if (lower.startsWith("@classlabel")) {
                    String[] v = t.split("\\s+");
                    if (v.length < 3 || !v[1].equalsIgnoreCase("true")) {
                        throw new DataFormatException(file, "line " + lineNo, "@classLabel must be 'true' followed by the class labels");
                    }
                    return List.of(java.util.Arrays.copyOfRange(v, 2, v.length));
                }
                if (lower.startsWith("@data")) {
                    break;
                }
            }
            throw new DataFormatException(file, "line " + lineNo, "no @classLabel header before @data (a classification .ts file lists its classes)");
        }
    }

    private static BufferedReader reader(String file, DataFiles.Settings settings) throws IOException {
        return new BufferedReader(new InputStreamReader(DataFiles.open(file, settings), StandardCharsets.UTF_8));
    }

    @Override
    public LabeledData read(Part part, DataFiles.Settings settings) throws IOException {
        String file = part.files().get(0);
        // labels are indexed by the training data's (or the model's) class names, whatever this header's order
        List<String> names = classes != null ? classes : header(file, settings);
        SequenceBuilder seqs = null;
        int dims = -1;
        try (BufferedReader r = reader(file, settings)) {
            String line;
            int lineNo = 0;
            boolean data = false;
            while ((line = r.readLine()) != null) {
                lineNo++;
                String t = FloatBuffer.noBom(line, lineNo).trim();
                if (t.isEmpty() || t.startsWith("#")) {
                    continue;
                }
                String where = "line " + lineNo;
                if (!data) {
                    String lower = t.toLowerCase(Locale.ROOT);
                    if (lower.startsWith("@data")) {
                        data = true;
                    } else if (lower.startsWith("@timestamps") && lower.endsWith("true")) {
                        throw new DataFormatException(file, where, "time-stamped series are not supported");
                    } else if (lower.startsWith("@targetlabel") && lower.endsWith("true")) {
                        throw new DataFormatException(file, where, "regression targets are not supported (classification only)");
                    } else if (lower.startsWith("@dimensions")) {
                        dims = parseInt(t.split("\\s+"), file, where);
                    } else if (!lower.startsWith("@")) {
                        throw new DataFormatException(file, where, "expected a @tag line or @data, got '" + abbreviate(t) + "'");
                    }
                    continue;
                }
                String[] fields = t.split(":", -1);
                if (fields.length < 2) {
                    throw new DataFormatException(file, where, "a case is 'values:...:label'; no ':' found");
                }
                int d = fields.length - 1;
                if (dims < 0) {
                    dims = d;
                }
                if (d != dims) {
                    throw new DataFormatException(file, where, d + " dimensions; the file has " + dims);
                }
                if (seqs == null) {
                    seqs = new SequenceBuilder(file, dims);
                }
                int label = names.indexOf(fields[d].trim());
                if (label < 0) {
                    throw new DataFormatException(file, where, "class label '" + fields[d].trim() + "' is not one of " + names);
                }
                int len = -1;
                float[][] series = new float[d][];
                for (int k = 0; k < d; k++) {
                    String[] v = fields[k].split(",");
                    if (len < 0) {
                        len = v.length;
                    } else if (v.length != len) {
                        throw new DataFormatException(file, where, "dimension " + k + " has " + v.length + " values, dimension 0 has "
                                + len + " (ragged case)");
                    }
                    series[k] = new float[v.length];
                    for (int s = 0; s < v.length; s++) {
                        String cell = v[s].trim();
                        if (cell.equals("?") || cell.isEmpty()) {
                            throw new DataFormatException(file, where, "dimension " + k + " step " + s + ": missing value");
                        }
                        try {
                            series[k][s] = finite(Double.parseDouble(cell), file, where + ", dimension " + k + " step " + s);
                        } catch (NumberFormatException e) {
                            throw new DataFormatException(file, where, "dimension " + k + " step " + s + ": '" + abbreviate(cell)
                                    + "' is not a number");
                        }
                    }
                }
                float[] steps = new float[len * d];
                for (int s = 0; s < len; s++) {
                    for (int k = 0; k < d; k++) {
                        steps[s * d + k] = series[k][s];
                    }
                }
                seqs.add(steps, label);
            }
            if (!data) {
                throw new DataFormatException(file, "line " + lineNo, "no @data line");
            }
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new DataFormatException(file, "", "corrupt gzip stream (" + e.getMessage() + ")", e);
        }
        if (seqs == null) {
            throw new DataFormatException(file, "", "no cases after @data");
        }
        return seqs.build(part.index(), names.size());
    }

    private static int parseInt(String[] v, String file, String where) throws DataFormatException {
        try {
            return Integer.parseInt(v[v.length - 1]);
        } catch (NumberFormatException e) {
            throw new DataFormatException(file, where, "'" + v[v.length - 1] + "' is not an integer");
        }
    }

    static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
