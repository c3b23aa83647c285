package org.rollspark.net;

import static org.rollspark.config.Setting.Type.DOUBLES;

import java.util.Arrays;
import java.util.List;
import org.rollspark.config.Setting;

/**
 * Input normalisation {@code x_norm = (x_raw - mean) / std}, with one scalar pair or one pair per
 * input feature. The network sees normalised inputs; margins are reported in raw units.
 *
 * <p>The values are what the network computes with, exactly: a certificate is about {@code (x - mean) / std} with
 * these doubles. The tool's own sources (settings, statistics of the data, {@link #mnist()}) give float32 values
 * ({@link #float32}), like the weights, so an ONNX export stores them as they are; a model folder or an imported
 * graph may hold any double (an export then keeps it in float64: {@link #isFloat32()}).
 */
public record Normalization(double[] mean, double[] std) implements java.io.Serializable {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<List<Double>> MEAN = SETTINGS.add(Setting.of("data.mean", DOUBLES, List.of(0.1307),
            "Normalisation mean: one value, or one per input feature. Raw units: pixels / 255 for image formats.").main());
    public static final Setting<List<Double>> STD = SETTINGS.add(Setting.of("data.std", DOUBLES, List.of(0.3081),
            "Normalisation standard deviation: one value, or one per input feature.").main());


    public Normalization {
        if (mean.length != std.length || mean.length == 0) {
            throw new IllegalArgumentException("normalisation: mean has " + mean.length
                    + " values and std " + std.length + "; need the same count, 1 or one per feature");
        }
        for (int i = 0; i < std.length; i++) {
            if (!(std[i] > 0) || !Double.isFinite(std[i]) || !Double.isFinite(mean[i])) {
                throw new IllegalArgumentException("normalisation: std[" + i + "] = " + std[i]
                        + ", mean[" + i + "] = " + mean[i] + "; std must be finite and > 0");
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** The normalisation data.mean and data.std set (their nearest float32 values). */
    public static Normalization of(Setting.Values v) {
        double[] mean = v.get(MEAN).stream().mapToDouble(Double::doubleValue).toArray();
        double[] std = v.get(STD).stream().mapToDouble(Double::doubleValue).toArray();
        try {
            return float32(mean, std);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(MEAN + " / " + STD + ": " + e.getMessage(), e);
        }
    }

    public static Normalization identity() {
        return scalar(0, 1);
    }

    public static Normalization scalar(double mean, double std) {
        return new Normalization(new double[] {mean}, new double[] {std});
    }

    /** The nearest float32 values to {@code mean} and {@code std} (0.1307 as 0.13070000708...), as PyTorch holds them. */
    public static Normalization float32(double[] mean, double[] std) {
        return new Normalization(nearestFloat32(mean), nearestFloat32(std));
    }

    private static double[] nearestFloat32(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) v[i];
        }
        return out;
    }

    /** MNIST's statistics, as the paper uses them (inputs scaled to [0, 1] first), as float32 values. */
    public static Normalization mnist() {
        return float32(new double[] {0.1307}, new double[] {0.3081});
    }

    /** Whether every value is a float32 (so float32 ONNX constants hold it exactly). */
    public boolean isFloat32() {
        return Arrays.equals(mean, nearestFloat32(mean)) && Arrays.equals(std, nearestFloat32(std));
    }

    public boolean isScalar() {
        return mean.length == 1;
    }

    public double mean(int feature) {
        return mean.length == 1 ? mean[0] : mean[feature];
    }

    public double std(int feature) {
        return std.length == 1 ? std[0] : std[feature];
    }

    /** Checks that a per-feature normalisation matches the input size. */
    public void checkInputSize(int inputSize) {
        if (!isScalar() && mean.length != inputSize) {
            throw new IllegalArgumentException("normalisation has " + mean.length
                    + " per-feature values but the input has " + inputSize + " features");
        }
    }

    @Override
    public double[] mean() {
        return mean.clone();
    }

    @Override
    public double[] std() {
        return std.clone();
    }

    /** {@code (x - mean) / std} of a raw (B, D) batch, as a new array of the given type. */
    public org.nd4j.linalg.api.ndarray.INDArray apply(org.nd4j.linalg.api.ndarray.INDArray raw,
            org.nd4j.linalg.api.buffer.DataType type) {
        int b = (int) raw.size(0);
        int d = (int) raw.size(1);
        checkInputSize(d);
        double[] x = org.rollspark.util.Host.pull(raw);
        for (int r = 0; r < b; r++) {
            for (int k = 0; k < d; k++) {
                int i = r * d + k;
                x[i] = (x[i] - mean(k)) / std(k);
            }
        }
        return org.rollspark.util.Host.array(x, type, b, d);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Normalization n && Arrays.equals(mean, n.mean) && Arrays.equals(std, n.std);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return isScalar() ? "Normalization(mean=" + mean[0] + ", std=" + std[0] + ")"
                : "Normalization(per-feature, " + mean.length + " features)";
    }
}
