package org.rollspark.loss;

/**
 * Which input coordinates the ROLL gradient term uses (docs/METHOD.md section 4). Exact: all D of them.
 * Sampled: {@code coordinates} drawn uniformly without replacement per example and step (per
 * channel when {@code perChannel}: that many from each channel of a (C, H, W) input), their squared
 * neuron derivatives scaled by D / (number drawn): an unbiased estimate of the exact term, at about
 * (number drawn) / D of its cost. Only the mean aggregation (gamma = 100) is unbiased under sampling.
 */
public record Sampling(int coordinates, boolean perChannel) implements java.io.Serializable {

    public Sampling {
        RollLoss.SAMPLES.check(coordinates);
    }

    public static Sampling exact() {
        return new Sampling(0, false);
    }

    public boolean isExact() {
        return coordinates == 0;
    }

    /**
     * The coordinates the tangent passes cover for a batch of {@code n} examples of a network with
     * this input shape: all of them, or a seeded draw per example (partial Fisher-Yates per channel).
     */
    public org.rollspark.net.Coordinates draw(int[] inputShape, int n, long seed) {
        if (isExact()) {
            return org.rollspark.net.Coordinates.all();
        }
        int d = 1;
        for (int s : inputShape) {
            d *= s;
        }
        int channels = perChannel && inputShape.length == 3 ? inputShape[0] : 1;
        int per = d / channels;
        int draw = Math.min(coordinates, per);
        int r = draw * channels;
        java.util.SplittableRandom rng = new java.util.SplittableRandom(seed);
        int[] c = new int[n * r];
        int[] pool = new int[per];
        for (int e = 0; e < n; e++) {
            for (int ch = 0; ch < channels; ch++) {
                for (int i = 0; i < per; i++) {
                    pool[i] = i;
                }
                for (int i = 0; i < draw; i++) { // partial Fisher-Yates: draw without replacement
                    int j = i + rng.nextInt(per - i);
                    int tmp = pool[i];
                    pool[i] = pool[j];
                    pool[j] = tmp;
                    c[e * r + ch * draw + i] = ch * per + pool[i];
                }
            }
        }
        return org.rollspark.net.Coordinates.sampled(c, r, (double) per / draw);
    }

    public String spec() {
        return isExact() ? "exact" : coordinates + (perChannel ? " per channel" : " coordinates");
    }
}
