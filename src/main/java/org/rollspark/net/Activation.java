package org.rollspark.net;

/**
 * A piecewise-linear activation: {@code act(z) = z} for {@code z > 0}, {@code alpha * z} otherwise.
 * ReLU is {@code alpha = 0}. A unit with {@code z = 0} counts as inactive (docs/METHOD.md section 2).
 *
 * <p>The slope is a float32 value, like every constant of a network (its weights, a batch norm's epsilon, ONNX's
 * {@code alpha} attribute): a decimal names the nearest float32 ({@code leaky_relu:0.01} is 0.009999999776...), so the
 * network certified in float64 is the one trained in float32 and the one an ONNX export stores.
 */
public record Activation(String name, double alpha) implements java.io.Serializable {

    public Activation {
        alpha = (float) alpha;
        if (!"relu".equals(name) && !"leaky_relu".equals(name)) {
            throw new IllegalArgumentException("activation '" + name
                    + "' is not piecewise linear or not supported: use relu or leaky_relu"
                    + " (sigmoid, tanh and gated units have no linear regions)");
        }
        if (!(alpha >= 0 && alpha < 1) || ("relu".equals(name) && alpha != 0)) {
            throw new IllegalArgumentException("activation " + name + ": slope alpha must be in [0, 1)"
                    + ("relu".equals(name) ? " and 0 for relu" : "") + ", got " + alpha);
        }
    }

    public static Activation relu() {
        return new Activation("relu", 0);
    }

    public static Activation leakyRelu(double alpha) {
        return new Activation("leaky_relu", alpha);
    }

    /** Parses {@code relu}, {@code leaky_relu} (slope 0.01) or {@code leaky_relu:0.2}. */
    public static Activation parse(String spec) {
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("relu")) {
            return relu();
        }
        if (s.equals("leaky_relu") || s.equals("leakyrelu")) {
            return leakyRelu(0.01);
        }
        if (s.startsWith("leaky_relu:")) {
            try {
                return leakyRelu(Double.parseDouble(s.substring("leaky_relu:".length())));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("activation '" + spec + "': bad slope", e);
            }
        }
        return new Activation(s, 0); // throws with the message above
    }

    /**
     * The local slope of a unit with pre-activation {@code z}: 1 if active ({@code z > 0}), alpha otherwise. Computed
     * without a branch: a batch's activation pattern is random, so a branch mispredicts about half the time (the
     * vanilla step ran 1.10x faster without it). {@code z - Double.MIN_VALUE} is negative exactly when {@code z <= 0}
     * (+0 and -0 included; any other z keeps its sign), and its sign bit says so.
     */
    public double slope(double z) {
        return alpha + (1 - alpha) * (1 - (Double.doubleToRawLongBits(z - Double.MIN_VALUE) >>> 63));
    }

    /** {@code relu} or {@code leaky_relu:ALPHA}, the slope as its shortest float32 decimal (parses back to it). */
    public String spec() {
        return alpha == 0 ? name : name + ":" + (float) alpha;
    }
}
