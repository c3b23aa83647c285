package org.rollspark.data;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * A data format and its options (the {@code roll.data} settings as strings), serialisable so that
 * executors build the same reader as the driver.
 */
public final class DataSpec implements Serializable {
    private static final long serialVersionUID = 1L;
    private final String format;
    private final Map<String, String> options;

    public DataSpec(String format, Map<String, String> options) {
        this.format = format;
        this.options = new TreeMap<>(options);
    }

    public String format() {
        return format;
    }

    public String string(String key, String dflt) {
        String v = options.get(key);
        return v == null || v.isEmpty() ? dflt : v;
    }

    public int integer(String key, int dflt) {
        String v = options.get(key);
        if (v == null || v.isEmpty()) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("roll.data." + key + " must be an integer, got '" + v + "'");
        }
    }

    /** A list option written as comma-separated values (HOCON lists are flattened that way); empty when absent. */
    public String[] list(String key) {
        String v = options.get(key);
        if (v == null || v.isBlank()) {
            return new String[0];
        }
        return Arrays.stream(v.split(",")).map(String::trim).toArray(String[]::new);
    }

    public int[] ints(String key) {
        String[] s = list(key);
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            try {
                out[i] = Integer.parseInt(s[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("roll.data." + key + " must be a list of integers, got '" + options.get(key)
                        + "'");
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return format + options;
    }
}
