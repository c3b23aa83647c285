package org.rollspark.data;

import java.util.ArrayList;
import java.util.List;

/** Collects variable-length sequences of F features and pads them (with zeros) to the longest. */
final class SequenceBuilder {
    private final String file;
    private final int features;
    private final List<float[]> steps = new ArrayList<>();
    private final List<Integer> labels = new ArrayList<>();

    SequenceBuilder(String file, int features) {
        this.file = file;
        this.features = features;
    }

    /** Adds one sequence: its steps, each of F values, row-major. */
    void add(float[] values, int label) {
        steps.add(values);
        labels.add(label);
    }

    int size() {
        return labels.size();
    }

    LabeledData build(int part, int classes) throws DataFormatException {
        return build(part, classes, null);
    }

    /** The padded sequences; {@code override} replaces the labels given to {@link #add} when not null. */
    LabeledData build(int part, int classes, int[] override) throws DataFormatException {
        if (steps.isEmpty()) {
            throw new DataFormatException(file, "", "no sequences");
        }
        int t = 0;
        for (float[] s : steps) {
            t = Math.max(t, s.length / features);
        }
        int n = steps.size();
        long values = (long) n * t * features;
        if (values > Integer.MAX_VALUE - 8) {
            throw new DataFormatException(file, "", n + " sequences padded to " + t + " steps of " + features
                    + " features are more values than one part can hold; split the file");
        }
        float[] x = new float[(int) values];
        int[] y = new int[n];
        int[] len = new int[n];
        int max = 1;
        for (int i = 0; i < n; i++) {
            float[] s = steps.get(i);
            System.arraycopy(s, 0, x, i * t * features, s.length);
            len[i] = s.length / features;
            y[i] = override == null ? labels.get(i) : override[i];
            max = Math.max(max, y[i]);
        }
        return new LabeledData(DataFiles.name(file), x, y, new int[] {t, features}, Math.max(classes, max + 1),
                Format.ids(part, n), len);
    }
}
