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
 * float64 pattern differing from the certified one is a violation too. Only the norms the certificates were
 * computed in ({@link Certification#has}) are sampled.
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
        // the norms certified, in this order; a norm not computed draws no points
        Norm[] checked = java.util.Arrays.stream(Norm.values()).filter(c::has).toArray(Norm[]::new);
        int n = checked.length * points + 1;
        double[] pts = new double[n * d];
        Norm[] normOf = new Norm[n];
        System.arraycopy(x, 0, pts, 0, d);
        int row = 1;
        for (Norm norm : checked) {
            for (int t = 0; t < points; t++, row++) {
                normOf[row] = norm;
                fill(pts, row, x, switch (norm) {
                    case L1 -> l1Offset(rng, x, t, e1);
                    case L2 -> l2Offset(rng, d, t, e2);
                    case LINF -> linfOffset(rng, d, ei);
                });
            }
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
            Norm norm = normOf[p];
            if (c.certifiedRadius(norm, i, label) > 0 && distance(pts, p, x, norm) < c.certifiedRadius(norm, i, label)
                    && argmax(logits, p, k) != pred) {
                violations++;
            }
        }
        return new Report(1, n - 1, violations);
    }

    /** Point t of the l1 ball of radius r: a vertex every other point, else a random point of the ball. */
    private static double[] l1Offset(SplittableRandom rng, double[] x, int t, double r) {
        int d = x.length;
        if (t % 2 == 0 && Double.isFinite(r)) {
            double[] u = new double[d];
            u[rng.nextInt(d)] = rng.nextBoolean() ? r : -r;
            return u;
        }
        return l1Point(rng, d, finite(r));
    }

    /** Point t of the l2 ball of radius r: on the sphere every other point, else inside it. */
    private static double[] l2Offset(SplittableRandom rng, int d, int t, double r) {
        double[] u = gaussian(rng, d);
        double norm = 0;
        for (double v : u) {
            norm += v * v;
        }
        double scale = (t % 2 == 0 ? 1 : Math.sqrt(rng.nextDouble())) * finite(r) / Math.sqrt(norm);
        for (int k = 0; k < d; k++) {
            u[k] *= scale;
        }
        return u;
    }

    /** A random corner of the l_inf cube of radius r. */
    private static double[] linfOffset(SplittableRandom rng, int d, double r) {
        double[] u = new double[d];
        for (int k = 0; k < d; k++) {
            u[k] = rng.nextBoolean() ? finite(r) : -finite(r);
        }
        return u;
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
