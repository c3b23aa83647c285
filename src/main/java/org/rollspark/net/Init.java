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

    public void fill(double[] weight, double[] bias, int fanIn, SplittableRandom rng) {
        for (int i = 0; i < weight.length; i++) {
            weight[i] = sample(false, fanIn, rng);
        }
        for (int i = 0; i < bias.length; i++) {
            bias[i] = sample(true, fanIn, rng);
        }
    }

    /** One draw for a weight ({@code bias} false) or a bias of a unit with this fan-in. */
    public double sample(boolean bias, int fanIn, SplittableRandom rng) {
        return switch (this) {
            case UNIFORM_FAN_IN -> (2 * rng.nextDouble() - 1) * (1.0 / Math.sqrt(fanIn));
            case HE_NORMAL -> bias ? 0 : gaussian(rng) * Math.sqrt(2.0 / fanIn);
        };
    }

    private static double gaussian(SplittableRandom rng) {
        double u1 = rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u1)) * Math.cos(2 * Math.PI * u2);
    }
}
