package org.rollspark.net;

import java.util.Locale;
import java.util.SplittableRandom;

/** Seeded weight initialisation schemes. Draws come from {@link SplittableRandom}, so a seed gives
 * the same weights on every platform and ND4J version. */
public enum Init {
    /** Weights and biases uniform in +-1/sqrt(fan_in): PyTorch's nn.Linear default, which the paper's
     * numbers come from. */
    UNIFORM_FAN_IN,
    /** He et al.: weights normal with variance 2/fan_in, biases zero. */
    HE_NORMAL;

    public static Init parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("init '" + s + "': use uniform_fan_in or he_normal");
        }
    }

    void fill(double[] weight, double[] bias, int fanIn, SplittableRandom rng) {
        switch (this) {
            case UNIFORM_FAN_IN -> {
                double bound = 1.0 / Math.sqrt(fanIn);
                for (int i = 0; i < weight.length; i++) {
                    weight[i] = (2 * rng.nextDouble() - 1) * bound;
                }
                for (int i = 0; i < bias.length; i++) {
                    bias[i] = (2 * rng.nextDouble() - 1) * bound;
                }
            }
            case HE_NORMAL -> {
                double sd = Math.sqrt(2.0 / fanIn);
                for (int i = 0; i < weight.length; i++) {
                    weight[i] = gaussian(rng) * sd;
                }
                java.util.Arrays.fill(bias, 0);
            }
            default -> throw new AssertionError(this);
        }
    }

    private static double gaussian(SplittableRandom rng) {
        double u1 = rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u1)) * Math.cos(2 * Math.PI * u2);
    }
}
