package org.rollspark.loss;

import java.util.Locale;

/**
 * How the per-neuron ROLL terms t_j of one example are aggregated (METHOD.md section 4):
 * gamma = 100 is the mean over all neurons (what every reported model uses), gamma < 100 the mean
 * over the top gamma percent, and {@code max} the largest term.
 */
public record Aggregation(boolean max, double gamma) implements java.io.Serializable {

    public Aggregation {
        if (!max && !(gamma > 0 && gamma <= 100)) {
            throw new IllegalArgumentException("roll gamma must be in (0, 100] or 'max', got " + gamma);
        }
    }

    public static Aggregation mean() {
        return new Aggregation(false, 100);
    }

    public static Aggregation top(double gamma) {
        return new Aggregation(false, gamma);
    }

    public static Aggregation maximum() {
        return new Aggregation(true, 0);
    }

    /** Parses {@code 100}, {@code 25} (top 25 %) or {@code max}. */
    public static Aggregation parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.equals("max")) {
            return maximum();
        }
        try {
            return top(Double.parseDouble(t));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("roll gamma '" + s + "': a percentage in (0, 100] or 'max'");
        }
    }

    public boolean isMean() {
        return !max && gamma == 100;
    }

    /** Number of terms averaged out of n neurons. */
    public int count(int n) {
        if (max) {
            return 1;
        }
        return Math.max(1, Math.min(n, (int) Math.ceil(gamma / 100.0 * n - 1e-9)));
    }

    public String spec() {
        return max ? "max" : (gamma == Math.rint(gamma) ? Long.toString((long) gamma) : Double.toString(gamma));
    }
}
