package org.rollspark.region;

import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.atLeast;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.config.Setting;
import org.rollspark.net.Network;
import org.rollspark.util.Host;

/**
 * Re-verifies certificates in float64 by sampling (the soundness mode). For an example with region
 * margins eps_1, eps_2, eps_inf and certified radii, points are drawn inside each certified ball:
 * vertices and random points of the l1 ball, points on and inside the l2 sphere, random corners of the
 * l_inf cube, all at (1 - 1e-9) times the radius. A point whose float64 activation pattern differs from
 * the input's, or whose prediction differs inside a certified radius, is a violation. The input's own
 * float64 pattern differing from the certified one is a violation too.
 */
public final class SoundnessCheck {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<Integer> POINTS = SETTINGS.add(Setting.of("certify.soundnessPoints", INT, 100,
            "Soundness mode: points per norm and example.", atLeast(2)).main());

    private final Network net64;
    private final int points;
    private final long seed;

    /** The outcome: examples checked, points tried, violations found (expected: 0). */
    public record Report(long examples, long points, long violations) {
        public Report plus(Report o) {
            return new Report(examples + o.examples, points + o.points, violations + o.violations);
        }
    }

    /**
     * @param pointsPerExample points drawn per example and norm (at least 2)
     */
    public SoundnessCheck(Network net, int pointsPerExample, long seed) {
        POINTS.check(pointsPerExample);
        this.net64 = net.castTo(DataType.DOUBLE);
        this.points = pointsPerExample;
        this.seed = seed;
    }

    /** Verifies example {@code i} of {@code c}, whose raw input is {@code x} and label {@code label}. */
    public Report verify(double[] x, Certification c, int i, int label, long exampleId) {
        return verify(x, c, i, label, exampleId, 0);
    }

    /** {@link #verify(double[], Certification, int, int, long)} of a padded sequence with {@code length} real steps (0: none). */
    public Report verify(double[] x, Certification c, int i, int label, long exampleId, int length) {
        int d = x.length;
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + exampleId);
        double shrink = 1 - 1e-9;
        double e1 = c.margin(Norm.L1, i) * shrink;
        double e2 = c.margin(Norm.L2, i) * shrink;
        double ei = c.margin(Norm.LINF, i) * shrink;
        int n = 3 * points + 1;
        double[] pts = new double[n * d];
        System.arraycopy(x, 0, pts, 0, d);
        int row = 1;
        for (int t = 0; t < points; t++, row++) {
            // l1: a vertex every other point, else a random point of the ball
            if (t % 2 == 0 && Double.isFinite(e1)) {
                int k = rng.nextInt(d);
                System.arraycopy(x, 0, pts, row * d, d);
                pts[row * d + k] += rng.nextBoolean() ? e1 : -e1;
            } else {
                fill(pts, row, x, l1Point(rng, d, finite(e1)));
            }
        }
        for (int t = 0; t < points; t++, row++) {
            double[] u = gaussian(rng, d);
            double norm = 0;
            for (double v : u) {
                norm += v * v;
            }
            double r = (t % 2 == 0 ? 1 : Math.sqrt(rng.nextDouble())) * finite(e2) / Math.sqrt(norm);
            for (int k = 0; k < d; k++) {
                u[k] *= r;
            }
            fill(pts, row, x, u);
        }
        for (int t = 0; t < points; t++, row++) {
            double[] u = new double[d];
            for (int k = 0; k < d; k++) {
                u[k] = rng.nextBoolean() ? finite(ei) : -finite(ei);
            }
            fill(pts, row, x, u);
        }
        int[] lengths = null;
        if (length > 0) {
            lengths = new int[n];
            java.util.Arrays.fill(lengths, length);
        }
        Network.NeuronValues nv = net64.neuronValues(Host.array(pts, DataType.DOUBLE, n, d), lengths);
        ActivationPattern[] pats = ActivationPattern.of(nv.z(), nv.valid(), nv.sizes(), n);
        double[] logits = nv.logits();
        int k = net64.outputSize();
        long violations = pats[0].equals(c.pattern(i)) ? 0 : 1;
        int pred = c.pred(i);
        for (int p = 1; p < n; p++) {
            if (!pats[p].equals(pats[0])) {
                violations++;
                continue;
            }
            // inside its region a point must also keep the prediction when within the certified radius
            Norm norm = p <= points ? Norm.L1 : p <= 2 * points ? Norm.L2 : Norm.LINF;
            if (c.certifiedRadius(norm, i, label) > 0 && distance(pts, p, x, norm) < c.certifiedRadius(norm, i, label)
                    && argmax(logits, p, k) != pred) {
                violations++;
            }
        }
        return new Report(1, n - 1, violations);
    }

    private static double finite(double r) {
        return Double.isFinite(r) ? r : 1.0;
    }

    private static void fill(double[] pts, int row, double[] x, double[] offset) {
        int d = x.length;
        for (int k = 0; k < d; k++) {
            pts[row * d + k] = x[k] + offset[k];
        }
    }

    private static double distance(double[] pts, int row, double[] x, Norm p) {
        int d = x.length;
        double s = 0;
        for (int k = 0; k < d; k++) {
            double v = Math.abs(pts[row * d + k] - x[k]);
            s = switch (p) {
                case L1 -> s + v;
                case L2 -> s + v * v;
                case LINF -> Math.max(s, v);
            };
        }
        return p == Norm.L2 ? Math.sqrt(s) : s;
    }

    private static int argmax(double[] f, int row, int k) {
        int best = 0;
        for (int c = 1; c < k; c++) {
            if (f[row * k + c] > f[row * k + best]) {
                best = c;
            }
        }
        return best;
    }

    private static double[] gaussian(SplittableRandom rng, int d) {
        double[] u = new double[d];
        for (int k = 0; k < d; k++) {
            u[k] = Math.sqrt(-2 * Math.log1p(-rng.nextDouble())) * Math.cos(2 * Math.PI * rng.nextDouble());
        }
        return u;
    }

    private static double[] l1Point(SplittableRandom rng, int d, double r) {
        double[] u = new double[d];
        double s = 0;
        for (int k = 0; k < d; k++) {
            u[k] = -Math.log1p(-rng.nextDouble());
            s += u[k];
        }
        double scale = r * rng.nextDouble() / s;
        for (int k = 0; k < d; k++) {
            u[k] *= (rng.nextBoolean() ? 1 : -1) * scale;
        }
        return u;
    }

    /** Verifies the first {@code count} examples of a certified batch. */
    public Report verify(INDArray raw, Certification c, int[] labels, long[] ids, int count) {
        double[] xs = Host.pull(raw);
        int d = (int) raw.size(1);
        Report r = new Report(0, 0, 0);
        for (int i = 0; i < Math.min(count, c.size()); i++) {
            r = r.plus(verify(java.util.Arrays.copyOfRange(xs, i * d, (i + 1) * d), c, i, labels[i], ids[i]));
        }
        return r;
    }
}
