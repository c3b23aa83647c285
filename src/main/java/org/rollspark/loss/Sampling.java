package org.rollspark.loss;

/**
 * Which input coordinates the ROLL gradient term uses (METHOD.md section 4). Exact: all D of them.
 * Sampled: {@code coordinates} drawn uniformly without replacement per example and step (per
 * channel when {@code perChannel}: that many from each channel of a (C, H, W) input), their squared
 * neuron derivatives scaled by D / (number drawn): an unbiased estimate of the exact term, at about
 * (number drawn) / D of its cost. Only the mean aggregation (gamma = 100) is unbiased under sampling.
 */
public record Sampling(int coordinates, boolean perChannel) implements java.io.Serializable {

    public Sampling {
        if (coordinates < 0) {
            throw new IllegalArgumentException("roll.samples must be >= 0 (0 = exact), got " + coordinates);
        }
    }

    public static Sampling exact() {
        return new Sampling(0, false);
    }

    public boolean isExact() {
        return coordinates == 0;
    }

    public String spec() {
        return isExact() ? "exact" : coordinates + (perChannel ? " per channel" : " coordinates");
    }
}
