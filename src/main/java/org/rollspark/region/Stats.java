package org.rollspark.region;

import java.util.Arrays;

/** Order statistics used in summaries. */
public final class Stats {
    private Stats() {}

    /**
     * The q-quantile (0..1) by the nearest-rank rule: the smallest value with at least q*n values at
     * or below it; q = 0 gives the minimum, q = 1 the maximum. NaN for no values.
     */
    public static double quantile(double[] values, double q) {
        if (!(q >= 0 && q <= 1)) {
            throw new IllegalArgumentException("quantile " + q + " is outside [0, 1]");
        }
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] s = values.clone();
        Arrays.sort(s);
        int rank = (int) Math.ceil(q * s.length);
        return s[Math.max(0, rank - 1)];
    }

    public static double median(double[] values) {
        return quantile(values, 0.5);
    }
}
