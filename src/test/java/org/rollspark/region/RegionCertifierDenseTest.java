package org.rollspark.region;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.TestNets;
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.dense.DenseActivations;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.util.Host;

public class RegionCertifierDenseTest {

    private static final int[][] SHAPES = {{6, 8, 7, 5, 3}, {3, 10, 9, 2}, {12, 5, 4}};

    private static DenseNet net(int s, Activation act) {
        int[] sizes = SHAPES[s];
        // per-feature normalisation exercises the raw-unit conversion
        double[] mean = new double[sizes[0]];
        double[] std = new double[sizes[0]];
        for (int k = 0; k < sizes[0]; k++) {
            mean[k] = 0.1 * k;
            std[k] = 0.5 + 0.2 * k;
        }
        return DenseNet.init(sizes, act, new Normalization(mean, std), Init.UNIFORM_FAN_IN, 17 + s, DataType.DOUBLE);
    }

    @Test
    void jacobiansMatchPerNeuronBackpropagation() {
        for (int s = 0; s < SHAPES.length; s++) {
            for (Activation act : new Activation[] {Activation.relu(), Activation.leakyRelu(0.15)}) {
                DenseNet net = net(s, act);
                INDArray x = TestNets.uniform(s, 7, net.inputSize(), -1, 2, DataType.DOUBLE);
                INDArray[] jac = new RegionCertifier(net, 3).jacobians(x);
                DenseActivations fp = net.activations(x);
                for (int i = 0; i < net.numHidden(); i++) {
                    double[] j = Host.pull(jac[i]);
                    int h = net.hiddenSize(i);
                    int d = net.inputSize();
                    for (int e = 0; e < 7; e++) {
                        for (int u = 0; u < h; u++) {
                            double[] ref = RegionReference.neuronGradient(net, fp, e, i, u);
                            for (int k = 0; k < d; k++) {
                                assertEquals(ref[k], j[(e * h + u) * d + k], 1e-12,
                                        "layer " + i + " unit " + u + " input " + k);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void marginsAreTheNearestHyperplaneDistances() {
        DenseNet net = net(0, Activation.leakyRelu(0.05));
        INDArray x = TestNets.uniform(3, 9, net.inputSize(), -1, 2, DataType.DOUBLE);
        Certification c = new RegionCertifier(net, 4).certify(x);
        DenseActivations fp = net.activations(x);
        for (int e = 0; e < 9; e++) {
            for (Norm p : Norm.values()) {
                double best = Double.POSITIVE_INFINITY;
                int bl = -1;
                int bu = -1;
                for (int i = 0; i < net.numHidden(); i++) {
                    for (int u = 0; u < net.hiddenSize(i); u++) {
                        double g = RegionReference.norm(RegionReference.neuronGradient(net, fp, e, i, u), p.dual());
                        double t = Math.abs(fp.preactHost()[i][e * net.hiddenSize(i) + u]) / g;
                        if (g > 0 && t < best) {
                            best = t;
                            bl = i;
                            bu = u;
                        }
                    }
                }
                assertEquals(best, c.margin(p, e), 1e-12 * best);
                assertEquals(bl, c.bindingLayer(p, e));
                assertEquals(bu, c.bindingUnit(p, e));
            }
        }
    }

    /** Points inside every certified ball keep the pattern; just past the l2 margin it flips. */
    @Test
    void samplingInsideCertifiedBallsKeepsThePattern() {
        SplittableRandom rng = new SplittableRandom(2024);
        for (int s = 0; s < SHAPES.length; s++) {
            for (Activation act : new Activation[] {Activation.relu(), Activation.leakyRelu(0.1)}) {
                DenseNet net = net(s, act);
                int d = net.inputSize();
                int n = 6;
                INDArray x = TestNets.uniform(40 + s, n, d, -1, 2, DataType.DOUBLE);
                RegionCertifier cert = new RegionCertifier(net, 4);
                Certification c = cert.certify(x);
                INDArray[] jac = cert.jacobians(x);
                double[] xs = Host.pull(x);
                for (int e = 0; e < n; e++) {
                    double[] x0 = java.util.Arrays.copyOfRange(xs, e * d, (e + 1) * d);
                    ActivationPattern p0 = c.pattern(e);
                    double shrink = 1 - 1e-9;
                    // l1: all 2D vertices of the ball, then random points inside it
                    double e1 = c.margin(Norm.L1, e) * shrink;
                    for (int k = 0; k < d; k++) {
                        for (int sign = -1; sign <= 1; sign += 2) {
                            double[] q = x0.clone();
                            q[k] += sign * e1;
                            assertEquals(p0, pattern(net, q), "l1 vertex " + k);
                        }
                    }
                    for (int t = 0; t < 200; t++) {
                        assertEquals(p0, pattern(net, add(x0, randomL1(rng, d, e1))), "l1 sample");
                    }
                    // l2: random points on and inside the sphere
                    double e2 = c.margin(Norm.L2, e) * shrink;
                    for (int t = 0; t < 300; t++) {
                        double[] u = gaussian(rng, d);
                        double r = (t % 2 == 0 ? 1 : rng.nextDouble()) * e2 / RegionReference.norm(u, Norm.L2);
                        for (int k = 0; k < d; k++) {
                            u[k] *= r;
                        }
                        assertEquals(p0, pattern(net, add(x0, u)), "l2 sample");
                    }
                    // l_inf: random corners of the box
                    double ei = c.margin(Norm.LINF, e) * shrink;
                    for (int t = 0; t < 300; t++) {
                        double[] u = new double[d];
                        for (int k = 0; k < d; k++) {
                            u[k] = rng.nextBoolean() ? ei : -ei;
                        }
                        assertEquals(p0, pattern(net, add(x0, u)), "l_inf corner");
                    }
                    // just beyond the l2 margin along the binding neuron's gradient, that neuron flips
                    int bl = c.bindingLayer(Norm.L2, e);
                    int bu = c.bindingUnit(Norm.L2, e);
                    int h = net.hiddenSize(bl);
                    double[] g = new double[d];
                    double[] jl = Host.pull(jac[bl]);
                    System.arraycopy(jl, (e * h + bu) * d, g, 0, d);
                    double gn = RegionReference.norm(g, Norm.L2);
                    double z = net.activations(x.getRow(e, true)).preactHost()[bl][bu];
                    double step = c.margin(Norm.L2, e) * (1 + 1e-6);
                    double[] q = x0.clone();
                    for (int k = 0; k < d; k++) {
                        q[k] -= Math.signum(z) * step * g[k] / gn;
                    }
                    ActivationPattern beyond = pattern(net, q);
                    assertNotEquals(p0, beyond, "pattern must change just past the l2 margin");
                    int flat = offset(net, bl) + bu;
                    assertNotEquals(p0.isActive(flat), beyond.isActive(flat), "the binding neuron flips");
                }
            }
        }
    }

    @Test
    void directionalCertificatesMatchBisection() {
        DenseNet net = net(1, Activation.leakyRelu(0.1));
        DenseNet relu = net(0, Activation.relu());
        for (DenseNet m : new DenseNet[] {net, relu}) {
            int d = m.inputSize();
            INDArray x = TestNets.uniform(5, 4, d, -1, 2, DataType.DOUBLE);
            INDArray dirs = TestNets.uniform(6, 5, d, -1, 1, DataType.DOUBLE);
            double[][] steps = new RegionCertifier(m).directional(x, dirs);
            double[] xs = Host.pull(x);
            double[] ds = Host.pull(dirs);
            for (int e = 0; e < 4; e++) {
                double[] x0 = java.util.Arrays.copyOfRange(xs, e * d, (e + 1) * d);
                ActivationPattern p0 = pattern(m, x0);
                for (int k = 0; k < 5; k++) {
                    double[] dir = java.util.Arrays.copyOfRange(ds, k * d, (k + 1) * d);
                    double t = steps[e][k];
                    assertTrue(t > 0 && Double.isFinite(t), "finite positive step expected, got " + t);
                    // the set of t keeping the pattern is an interval [0, t*): bisection finds t*
                    double lo = 0;
                    double hi = 1;
                    while (p0.equals(pattern(m, axpy(x0, hi, dir)))) {
                        hi *= 2;
                    }
                    for (int it = 0; it < 80; it++) {
                        double mid = 0.5 * (lo + hi);
                        if (p0.equals(pattern(m, axpy(x0, mid, dir)))) {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    assertEquals(hi, t, 1e-9 * Math.max(1, t), "example " + e + " direction " + k);
                }
            }
        }
    }

    /** Per-coordinate bounds (+e_k and -e_k) equal the directional certificates along the axes. */
    @Test
    void coordinateBoundsMatchDirectionalCertificatesAlongTheAxes() {
        for (int sh = 0; sh < SHAPES.length; sh++) {
            DenseNet net = net(sh, Activation.leakyRelu(0.1));
            int d = net.inputSize();
            INDArray x = TestNets.uniform(70 + sh, 5, d, -1, 2, DataType.DOUBLE);
            Certification c = new RegionCertifier(net, 2).withCoordinateBounds(true).certify(x);
            double[] axes = new double[2 * d * d];
            for (int k = 0; k < d; k++) {
                axes[k * d + k] = 1;
                axes[(d + k) * d + k] = -1;
            }
            double[][] steps = new RegionCertifier(net).directional(x, Host.array(axes, DataType.DOUBLE, 2 * d, d));
            for (int e = 0; e < 5; e++) {
                double[] b = c.coordinateBounds(e);
                for (int q = 0; q < 2 * d; q++) {
                    if (Double.isInfinite(steps[e][q])) {
                        assertEquals(steps[e][q], b[q]);
                    } else {
                        assertEquals(steps[e][q], b[q], 1e-12 * steps[e][q], "example " + e + " direction " + q);
                    }
                }
            }
        }
        assertEquals(null, new RegionCertifier(net(0, Activation.relu())).certify(
                TestNets.uniform(1, 2, 6, 0, 1, DataType.DOUBLE)).coordinateBounds(0));
    }

    /** Processing the Jacobian in blocks of input coordinates (bounded memory) changes no result. */
    @Test
    void coordinateBlocksGiveTheSameCertificates() {
        for (int sh = 0; sh < SHAPES.length; sh++) {
            DenseNet net = net(sh, Activation.leakyRelu(0.1));
            INDArray x = TestNets.uniform(90 + sh, 7, net.inputSize(), -1, 2, DataType.DOUBLE);
            Certification whole = new RegionCertifier(net, 4).withCoordinateBounds(true).certify(x);
            Certification blocks = new RegionCertifier(net, 4).withCoordinateBounds(true).withCoordinateBlock(3).certify(x);
            for (int e = 0; e < 7; e++) {
                for (Norm p : Norm.values()) {
                    assertEquals(whole.margin(p, e), blocks.margin(p, e), 1e-12 * whole.margin(p, e));
                    assertEquals(whole.decisionMargin(p, e), blocks.decisionMargin(p, e), 1e-12 * whole.decisionMargin(p, e));
                    assertEquals(whole.bindingUnit(p, e), blocks.bindingUnit(p, e));
                }
                assertEquals(whole.jacobianHash(e), blocks.jacobianHash(e));
                org.junit.jupiter.api.Assertions.assertArrayEquals(whole.coordinateBounds(e), blocks.coordinateBounds(e), 1e-12);
            }
        }
    }

    /**
     * l2 alone runs the chain on the row space of the first layer: the basis is orthonormal and holds every
     * neuron's gradient (per-neuron back-propagation), and the l2 margins, decision margins, binding neurons and
     * Jacobian hashes equal those of the coordinate path; the other norms are NaN, unbound, and not sampled.
     */
    @Test
    void l2AloneRunsOnTheRowSpaceOfTheFirstLayer() {
        int[][] shapes = {{12, 5, 4, 3}, {20, 7, 6, 5, 4}, {9, 4, 2}};
        for (int sh = 0; sh < shapes.length; sh++) {
            for (Activation act : new Activation[] {Activation.relu(), Activation.leakyRelu(0.1)}) {
                int[] sizes = shapes[sh];
                double[] mean = new double[sizes[0]];
                double[] std = new double[sizes[0]];
                for (int k = 0; k < sizes[0]; k++) {
                    mean[k] = 0.05 * k;
                    std[k] = 0.4 + 0.1 * k;
                }
                DenseNet net = DenseNet.init(sizes, act, new Normalization(mean, std), Init.UNIFORM_FAN_IN, 31 + sh,
                        DataType.DOUBLE);
                int d = net.inputSize();
                int n = 9;
                INDArray x = TestNets.uniform(60 + sh, n, d, -1, 2, DataType.DOUBLE);
                INDArray u = net.linearizer().gradientBasis();
                assertEquals(net.hiddenSize(0), u.size(0));
                double[] uu = Host.pull(u);
                int r = (int) u.size(0);
                for (int a = 0; a < r; a++) {
                    for (int b = 0; b < r; b++) {
                        double dot = 0;
                        for (int k = 0; k < d; k++) {
                            dot += uu[a * d + k] * uu[b * d + k];
                        }
                        assertEquals(a == b ? 1 : 0, dot, 1e-12, "U U^T at " + a + ", " + b);
                    }
                }
                DenseActivations fp = net.activations(x);
                for (int e = 0; e < n; e++) {
                    for (int i = 0; i < net.numHidden(); i++) {
                        for (int j = 0; j < net.hiddenSize(i); j++) {
                            double[] g = RegionReference.neuronGradient(net, fp, e, i, j);
                            double[] rest = g.clone(); // g minus its projection on the basis
                            for (int a = 0; a < r; a++) {
                                double c = 0;
                                for (int k = 0; k < d; k++) {
                                    c += g[k] * uu[a * d + k];
                                }
                                for (int k = 0; k < d; k++) {
                                    rest[k] -= c * uu[a * d + k];
                                }
                            }
                            assertEquals(0, RegionReference.norm(rest, Norm.L2), 1e-12 * (1 + RegionReference.norm(g, Norm.L2)));
                        }
                    }
                }
                Certification all = new RegionCertifier(net, 4).certify(x);
                Certification l2 = new RegionCertifier(net, 4).withNorms(java.util.EnumSet.of(Norm.L2)).certify(x);
                for (int e = 0; e < n; e++) {
                    String at = java.util.Arrays.toString(sizes) + " " + act + ", example " + e;
                    assertEquals(all.margin(Norm.L2, e), l2.margin(Norm.L2, e), 1e-12 * all.margin(Norm.L2, e), at);
                    assertEquals(all.decisionMargin(Norm.L2, e), l2.decisionMargin(Norm.L2, e),
                            1e-12 * all.decisionMargin(Norm.L2, e));
                    assertEquals(all.bindingLayer(Norm.L2, e), l2.bindingLayer(Norm.L2, e));
                    assertEquals(all.bindingUnit(Norm.L2, e), l2.bindingUnit(Norm.L2, e));
                    assertEquals(all.jacobianHash(e), l2.jacobianHash(e));
                    assertEquals(all.pattern(e), l2.pattern(e));
                    for (Norm p : new Norm[] {Norm.L1, Norm.LINF}) {
                        assertTrue(Double.isNaN(l2.margin(p, e)) && Double.isNaN(l2.decisionMargin(p, e))
                                && Double.isNaN(l2.certifiedRadius(p, e, l2.pred(e))));
                        assertEquals(-1, l2.bindingLayer(p, e));
                    }
                }
                assertTrue(l2.has(Norm.L2) && !l2.has(Norm.L1) && !l2.has(Norm.LINF));
                SoundnessCheck.Report rep = new SoundnessCheck(net, 6, 3).verify(x, l2, new int[n], new long[n], n);
                assertEquals(0, rep.violations());
                assertEquals(n * 6, rep.points(), "l2 points only");
            }
        }
    }

    /**
     * float32 on the row-space basis: every l2 margin and decision margin at or below the float64 truth (per-neuron
     * back-propagation on the float64 copy) and within 2e-4 of it, as on the coordinate path.
     */
    @Test
    void float32RowSpaceMarginsAreSoundAndTight() {
        DenseNet net = DenseNet.init(new int[] {196, 64, 64, 64, 10}, Activation.relu(), Normalization.mnist(),
                Init.UNIFORM_FAN_IN, 8, DataType.FLOAT);
        DenseNet net64 = net.castTo(DataType.DOUBLE);
        INDArray x = TestNets.uniform(12, 40, 196, 0, 1, DataType.DOUBLE);
        Certification c = new RegionCertifier(net).withNorms(java.util.EnumSet.of(Norm.L2)).certify(x);
        Certification exact = new RegionCertifier(net64).certify(x);
        for (int e = 0; e < 40; e++) {
            double truth = referenceMargin(net64, x, e, Norm.L2);
            double got = c.margin(Norm.L2, e);
            assertTrue(got <= truth && got >= truth * (1 - 2e-4), "l2 margin of example " + e + ": " + got + " against " + truth);
            double dec = exact.decisionMargin(Norm.L2, e);
            assertTrue(c.decisionMargin(Norm.L2, e) <= dec && c.decisionMargin(Norm.L2, e) >= dec * (1 - 2e-4),
                    "decision margin of example " + e);
        }
    }

    /** A 3x224x224 input certifies in blocks of coordinates (no D x D or whole-Jacobian allocation). */
    /** The true l_p margin of example e at the float64 point of row e of {@code x}: per-neuron back-propagation. */
    public static double referenceMargin(DenseNet net64, INDArray x, int e, Norm p) {
        DenseActivations fp = net64.activations(x.getRow(e, true));
        double best = Double.POSITIVE_INFINITY;
        for (int i = 0; i < net64.numHidden(); i++) {
            for (int u = 0; u < net64.hiddenSize(i); u++) {
                double g = RegionReference.norm(RegionReference.neuronGradient(net64, fp, 0, i, u), p.dual());
                if (g > 0) {
                    best = Math.min(best, Math.abs(fp.preactHost()[i][u]) / g);
                }
            }
        }
        return best;
    }

    /**
     * Pixels p / 255 (p in 1..254) are not float32 numbers. Certified from the float32 rounding the data holds,
     * some small margins exceed the true margin around the exact point (by up to the rounding's distance);
     * certified from {@link org.rollspark.data.LabeledData#bytePoints()}, every margin is sound and tight
     * there, in float64 against per-neuron back-propagation.
     */
    @Test
    void byteValuedDataIsCertifiedAroundTheExactPoint() {
        int n = 20000;
        int d = 16;
        DenseNet net = DenseNet.init(new int[] {d, 10, 8, 3}, Activation.relu(), Normalization.mnist(), Init.UNIFORM_FAN_IN,
                5, DataType.FLOAT);
        DenseNet net64 = net.castTo(DataType.DOUBLE);
        SplittableRandom rng = new SplittableRandom(11);
        float[] f = new float[n * d];
        for (int i = 0; i < f.length; i++) {
            f[i] = (1 + rng.nextInt(254)) / 255f; // as the IDX, CIFAR and image readers compute it
        }
        org.rollspark.data.LabeledData data = new org.rollspark.data.LabeledData("bytes", f, new int[n], d, 3);
        INDArray exact = data.bytePoints();
        assertEquals(DataType.DOUBLE, exact.dataType());
        Certification atExact = new RegionCertifier(net).certify(exact);
        Certification atRounded = new RegionCertifier(net).certify(data.allFeatures());
        int checked = 0;
        int overstated = 0;
        for (int e = 0; e < n; e++) {
            if (atRounded.margin(Norm.L2, e) > 3e-4 && e >= 20) {
                continue; // the small margins are where the rounding shows; the first 20 as a control
            }
            checked++;
            for (Norm p : Norm.values()) {
                double truth = referenceMargin(net64, exact, e, p);
                double got = atExact.margin(p, e);
                assertTrue(got <= truth && got >= truth * (1 - 2e-4), p + " margin of example " + e + ": " + got
                        + " against " + truth + " at the exact point");
                if (atRounded.margin(p, e) > truth) {
                    overstated++;
                }
            }
        }
        assertTrue(checked > 40, checked + " examples checked");
        assertTrue(overstated > 0, "the float32 point's certificates overstate some margins around the data point");
    }

    @Test
    void wideInputsCertifyInBlocks() {
        int d = 3 * 224 * 224;
        DenseNet net = DenseNet.init(new int[] {d, 64, 32, 10}, Activation.relu(), Normalization.scalar(0.45, 0.25),
                Init.UNIFORM_FAN_IN, 1, DataType.FLOAT);
        RegionCertifier certifier = new RegionCertifier(net);
        assertTrue(certifier.coordinateBlock(certifier.chunkSize()) < d, "the Jacobian is processed in blocks");
        Certification c = certifier.certify(TestNets.uniform(3, 20, d, 0, 1, DataType.FLOAT));
        for (int e = 0; e < 20; e++) {
            for (Norm p : Norm.values()) {
                assertTrue(c.margin(p, e) > 0 && Double.isFinite(c.margin(p, e)));
            }
        }
    }

    static int offset(DenseNet net, int layer) {
        int o = 0;
        for (int i = 0; i < layer; i++) {
            o += net.hiddenSize(i);
        }
        return o;
    }

    static ActivationPattern pattern(DenseNet net, double[] x) {
        DenseActivations fp = net.activations(Host.array(x, DataType.DOUBLE, 1, x.length));
        int[] h = new int[net.numHidden()];
        for (int i = 0; i < h.length; i++) {
            h[i] = net.hiddenSize(i);
        }
        return ActivationPattern.of(fp.preactHost(), h, 1)[0];
    }

    public static double[] add(double[] a, double[] b) {
        double[] o = a.clone();
        for (int i = 0; i < o.length; i++) {
            o[i] += b[i];
        }
        return o;
    }

    public static double[] axpy(double[] x, double t, double[] d) {
        double[] o = x.clone();
        for (int i = 0; i < o.length; i++) {
            o[i] += t * d[i];
        }
        return o;
    }

    public static double[] gaussian(SplittableRandom rng, int d) {
        double[] u = new double[d];
        for (int k = 0; k < d; k++) {
            u[k] = Math.sqrt(-2 * Math.log1p(-rng.nextDouble())) * Math.cos(2 * Math.PI * rng.nextDouble());
        }
        return u;
    }

    /** A random point of the l1 ball of radius r (uniform direction on the simplex, random radius). */
    public static double[] randomL1(SplittableRandom rng, int d, double r) {
        double[] u = new double[d];
        double s = 0;
        for (int k = 0; k < d; k++) {
            u[k] = -Math.log1p(-rng.nextDouble());
            s += u[k];
        }
        double scale = r * Math.sqrt(rng.nextDouble()) / s;
        for (int k = 0; k < d; k++) {
            u[k] *= (rng.nextBoolean() ? 1 : -1) * scale;
        }
        return u;
    }
}
