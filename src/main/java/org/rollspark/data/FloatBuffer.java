package org.rollspark.data;

import java.util.Arrays;

/** A growable float array (amortised appends), for sequences read step by step. */
final class FloatBuffer {
    private float[] values = new float[64];
    private int size;

    void add(float v) {
        if (size == values.length) {
            values = Arrays.copyOf(values, values.length * 2);
        }
        values[size++] = v;
    }

    int size() {
        return size;
    }

    /** The values so far, and a fresh empty buffer state. */
    float[] take() {
        float[] out = Arrays.copyOf(values, size);
        size = 0;
        return out;
    }

    /** Strips a UTF-8 byte-order mark from a file's first line. */
    static String noBom(String line, int lineNo) {
        return lineNo == 1 && line.startsWith("\uFEFF") ? line.substring(1) : line;
    }
}
