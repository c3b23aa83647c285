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

/** Decision margins and certified radii against slow references and sampling (float64). */
class DecisionMarginTest {

    static DenseNet net(int[] sizes, Activation act, long seed) {
        return DenseNet.init(sizes, act, Normalization.scalar(0.3, 0.6), Init.UNIFORM_FAN_IN, seed, DataType.DOUBLE);
    }

    @Test
    void decisionMarginsMatchPerClassBackpropagation() {
        for (int[] sizes : new int[][] {{6, 8, 7, 4}, {5, 9, 3}}) {
            DenseNet net = net(sizes, Activation.leakyRelu(0.1), sizes.length);
            INDArray x = TestNets.uniform(2, 7, sizes[0], -1, 2, DataType.DOUBLE);
            Certification c = new RegionCertifier(net, 3).certify(x);
            DenseActivations fp = net.activations(x);
            double[] f = Host.pull(fp.logits());
            int k = net.outputSize();
            for (int e = 0; e < 7; e++) {
                int pred = c.pred(e);
                double[] gc = RegionReference.logitGradient(net, fp, e, pred);
                for (Norm p : Norm.values()) {
                    double best = Double.POSITIVE_INFINITY;
                    for (int o = 0; o < k; o++) {
                        if (o == pred) {
                            continue;
                        }
                        double[] go = RegionReference.logitGradient(net, fp, e, o);
                        double[] diff = new double[gc.length];
                        for (int r = 0; r < diff.length; r++) {
                            diff[r] = gc[r] - go[r];
                        }
                        best = Math.min(best, (f[e * k + pred] - f[e * k + o]) / RegionReference.norm(diff, p.dual()));
                    }
                    assertEquals(best, c.decisionMargin(p, e), 1e-10 * best, "example " + e + " " + p);
                }
            }
        }
    }

    /** No point inside the certified radius changes the prediction; past a binding decision margin it does. */
    @Test
    void certifiedRadiiHoldUnderSampling() {
        SplittableRandom rng = new SplittableRandom(9);
        int flipsChecked = 0;
        for (long seed = 1; seed <= 4; seed++) {
            DenseNet net = net(new int[] {4, 12, 10, 3}, Activation.relu(), seed);
            int d = net.inputSize();
            double[] random = Host.pull(TestNets.uniform(seed, 12, d, -2, 2, DataType.DOUBLE));
            // plus points just short of a class change on segments between differently classified inputs
            java.util.List<double[]> points = new java.util.ArrayList<>();
            for (int e = 0; e < 12; e++) {
                points.add(java.util.Arrays.copyOfRange(random, e * d, (e + 1) * d));
            }
            for (int a = 0; a < 12 && points.size() < 20; a++) {
                for (int b2 = a + 1; b2 < 12 && points.size() < 20; b2++) {
                    double[] xa = points.get(a);
                    double[] xb = points.get(b2);
                    int pa = predict(net, xa);
                    if (pa == predict(net, xb)) {
                        continue;
                    }
                    double lo = 0;
                    double hi = 1;
                    double[] delta = RegionCertifierDenseTest.axpy(xb, -1, xa);
                    for (int it = 0; it < 50; it++) {
                        double mid = 0.5 * (lo + hi);
                        if (predict(net, RegionCertifierDenseTest.axpy(xa, mid, delta)) == pa) {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    points.add(RegionCertifierDenseTest.axpy(xa, lo * (1 - 1e-3), delta));
                }
            }
            int n = points.size();
            double[] xs = new double[n * d];
            for (int e = 0; e < n; e++) {
                System.arraycopy(points.get(e), 0, xs, e * d, d);
            }
            INDArray x = Host.array(xs, DataType.DOUBLE, n, d);
            Certification c = new RegionCertifier(net).certify(x);
            for (int e = 0; e < n; e++) {
                double[] x0 = java.util.Arrays.copyOfRange(xs, e * d, (e + 1) * d);
                int pred = c.pred(e);
                double r2 = c.certifiedRadius(Norm.L2, e, pred) * (1 - 1e-9);
                double rInf = c.certifiedRadius(Norm.LINF, e, pred) * (1 - 1e-9);
                double r1 = c.certifiedRadius(Norm.L1, e, pred) * (1 - 1e-9);
                assertEquals(0.0, c.certifiedRadius(Norm.L2, e, (pred + 1) % 3), "misclassified: radius 0");
                for (int t = 0; t < 200; t++) {
                    double[] u = RegionCertifierDenseTest.gaussian(rng, d);
                    double s = r2 / RegionReference.norm(u, Norm.L2);
                    assertEquals(pred, predict(net, RegionCertifierDenseTest.axpy(x0, s, u)), "l2");
                    double[] corner = new double[d];
                    for (int k = 0; k < d; k++) {
                        corner[k] = rng.nextBoolean() ? rInf : -rInf;
                    }
                    assertEquals(pred, predict(net, RegionCertifierDenseTest.add(x0, corner)), "l_inf corner");
                    assertEquals(pred, predict(net, RegionCertifierDenseTest.add(x0, RegionCertifierDenseTest.randomL1(rng, d, r1))), "l1");
                }
                for (int k = 0; k < d; k++) {
                    for (int sign = -1; sign <= 1; sign += 2) {
                        double[] q = x0.clone();
                        q[k] += sign * r1;
                        assertEquals(pred, predict(net, q), "l1 vertex");
                    }
                }
                // where the decision hyperplane is nearer than the region boundary, crossing it flips the class
                if (c.decisionMargin(Norm.L2, e) < c.margin(Norm.L2, e)) {
                    DenseActivations fp = net.activations(Host.array(x0, DataType.DOUBLE, 1, d));
                    double[] f = Host.pull(fp.logits());
                    double[] gc = RegionReference.logitGradient(net, fp, 0, pred);
                    int worst = -1;
                    double best = Double.POSITIVE_INFINITY;
                    double[] dir = null;
                    for (int o = 0; o < 3; o++) {
                        if (o == pred) {
                            continue;
                        }
                        double[] go = RegionReference.logitGradient(net, fp, 0, o);
                        double[] diff = new double[d];
                        for (int r = 0; r < d; r++) {
                            diff[r] = gc[r] - go[r];
                        }
                        double dist = (f[pred] - f[o]) / RegionReference.norm(diff, Norm.L2);
                        if (dist < best) {
                            best = dist;
                            worst = o;
                            dir = diff;
                        }
                    }
                    double dirNorm = RegionReference.norm(dir, Norm.L2);
                    double[] beyond = RegionCertifierDenseTest.axpy(x0, -c.decisionMargin(Norm.L2, e) * (1 + 1e-6) / dirNorm, dir);
                    assertNotEquals(pred, predict(net, beyond), "past the decision margin the class changes");
                    assertTrue(worst >= 0);
                    flipsChecked++;
                }
            }
        }
        assertTrue(flipsChecked >= 10, "enough examples with a binding decision margin: " + flipsChecked);
    }

    @Test
    void certifiedAccuracyCountsEveryExampleInTheDenominator() {
        DenseNet net = net(new int[] {4, 6, 3}, Activation.relu(), 3);
        INDArray x = TestNets.uniform(5, 20, 4, -1, 1, DataType.DOUBLE);
        Certification c = new RegionCertifier(net).certify(x);
        int[] labels = new int[20];
        for (int i = 0; i < 20; i++) {
            labels[i] = i % 2 == 0 ? c.pred(i) : (c.pred(i) + 1) % 3; // half right, half wrong
        }
        assertEquals(0.5, c.certifiedAccuracy(Norm.L2, 0, labels), 1e-12);
        assertEquals(0.0, c.certifiedAccuracy(Norm.L2, Double.POSITIVE_INFINITY, labels), 1e-12);
        double median = c.certifiedRadius(Norm.L2, 0, labels[0]);
        int atLeast = 0;
        for (int i = 0; i < 20; i++) {
            atLeast += c.certifiedRadius(Norm.L2, i, labels[i]) >= median ? 1 : 0;
        }
        assertEquals(atLeast / 20.0, c.certifiedAccuracy(Norm.L2, median, labels), 1e-12);
    }

    /**
     * #CLR: copies of inputs moved inside their certified region share the input's Jacobian hash; inputs
     * in different regions have different ones, so distinct Jacobians equal distinct patterns here.
     */
    @Test
    void jacobianHashesIdentifyTheAffinePiece() {
        DenseNet net = net(new int[] {5, 12, 9, 3}, Activation.relu(), 8);
        int d = 5;
        int n = 15;
        double[] base = Host.pull(TestNets.uniform(4, n, d, -2, 2, DataType.DOUBLE));
        Certification c0 = new RegionCertifier(net).certify(Host.array(base, DataType.DOUBLE, n, d));
        double[] both = new double[2 * n * d];
        System.arraycopy(base, 0, both, 0, n * d);
        SplittableRandom rng = new SplittableRandom(3);
        for (int e = 0; e < n; e++) {
            double[] u = RegionCertifierDenseTest.gaussian(rng, d);
            double s = 0.5 * c0.margin(Norm.L2, e) / RegionReference.norm(u, Norm.L2);
            for (int k = 0; k < d; k++) {
                both[(n + e) * d + k] = base[e * d + k] + s * u[k];
            }
        }
        Certification c = new RegionCertifier(net, 4).certify(Host.array(both, DataType.DOUBLE, 2 * n, d));
        for (int e = 0; e < n; e++) {
            assertEquals(c.pattern(e), c.pattern(n + e), "moved inside its region");
            assertEquals(c.jacobianHash(e), c.jacobianHash(n + e));
        }
        assertEquals(c.distinctPatterns(), c.distinctJacobians());
        assertTrue(c.distinctPatterns() > 1 && c.distinctPatterns() <= n);
    }

    static int predict(DenseNet net, double[] x) {
        double[] f = Host.pull(net.logits(Host.array(x, DataType.DOUBLE, 1, x.length)));
        int best = 0;
        for (int i = 1; i < f.length; i++) {
            if (f[i] > f[best]) {
                best = i;
            }
        }
        return best;
    }
}
