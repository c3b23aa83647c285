package org.rollspark.loss;

import java.util.Locale;

/**
 * How the per-neuron ROLL terms t_j of one example are aggregated (docs/METHOD.md section 4):
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

    /**
     * Fills {@code w[0..n)} with the weights of the terms {@code t[0..n)} in the aggregate (mean of the
     * top {@link #count} terms; ties broken by position) and returns the aggregated value.
     */
    public double weights(double[] t, int n, double[] w) {
        java.util.Arrays.fill(w, 0, n, 0);
        if (isMean()) {
            double s = 0;
            for (int j = 0; j < n; j++) {
                s += t[j];
            }
            java.util.Arrays.fill(w, 0, n, 1.0 / n);
            return s / n;
        }
        int top = count(n);
        double[] sorted = java.util.Arrays.copyOf(t, n);
        java.util.Arrays.sort(sorted);
        double threshold = sorted[n - top];
        int chosen = 0;
        double s = 0;
        for (int j = 0; j < n && chosen < top; j++) {
            if (t[j] > threshold) {
                w[j] = 1.0 / top;
                s += t[j];
                chosen++;
            }
        }
        for (int j = 0; j < n && chosen < top; j++) {
            if (t[j] == threshold) {
                w[j] = 1.0 / top;
                s += t[j];
                chosen++;
            }
        }
        return s / top;
    }
}
