package org.rollspark.data;

import static org.rollspark.config.Setting.Type.DOUBLE;
import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.atLeast;
import static org.rollspark.config.Setting.finiteAtLeast;

import java.util.List;
import java.util.SplittableRandom;
import org.rollspark.config.Setting;

/**
 * The seeded synthetic 2-D set (the paper's toy problem: binary labels in the plane, where the linear
 * regions can be drawn): two interleaved spirals with Gaussian noise, {@code roll.data.count} points
 * per split ({@code roll.data.noise} standard deviation), in [-1, 1]^2. The location names the split
 * ("train" or "test") and, with the seed, fixes the draw. Generated on the executors, in parts of 4,096.
 */
final class SyntheticFormat extends Format {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<Integer> COUNT = SETTINGS.add(Setting.of("data.count", INT, 2000,
            "synthetic2d: points per split.", atLeast(2)));
    public static final Setting<Double> NOISE = SETTINGS.add(Setting.of("data.noise", DOUBLE, 0.04,
            "synthetic2d: the points' noise.", finiteAtLeast(0)));

    private static final long serialVersionUID = 1L;
    private static final int PER_PART = 4096;
    private final int count;
    private final double noise;
    private final long seed;

    SyntheticFormat(DataSpec spec) {
        this.count = spec.get(COUNT);
        this.noise = spec.get(NOISE);
        this.seed = spec.get(DataSpec.SEED);
    }

    @Override
    public List<Part> parts(Location location, DataFiles.Settings settings) {
        java.util.ArrayList<Part> parts = new java.util.ArrayList<>();
        for (int from = 0, i = 0; from < count; from += PER_PART, i++) {
            parts.add(new Part(i, List.of(location.data()), -1));
        }
        return parts;
    }

    @Override
    public int classes(List<Part> parts) {
        return 2;
    }

    @Override
    public LabeledData read(Part part, DataFiles.Settings settings) {
        int from = part.index() * PER_PART;
        int n = Math.min(PER_PART, count - from);
        float[] x = new float[2 * n];
        int[] y = new int[n];
        SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + part.files().get(0).hashCode() * 31L + part.index());
        for (int i = 0; i < n; i++) {
            int label = rng.nextInt(2);
            double t = rng.nextDouble();
            double angle = 3 * Math.PI * t + label * Math.PI;
            double radius = 0.15 + 0.8 * t;
            x[2 * i] = (float) (radius * Math.cos(angle) + noise * gaussian(rng));
            x[2 * i + 1] = (float) (radius * Math.sin(angle) + noise * gaussian(rng));
            y[i] = label;
        }
        return new LabeledData("synthetic2d:" + part.files().get(0), x, y, new int[] {2}, 2, ids(part.index(), n), null);
    }

    private static double gaussian(SplittableRandom r) {
        double u = Math.max(1e-300, r.nextDouble());
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
