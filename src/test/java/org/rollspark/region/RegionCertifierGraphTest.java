package org.rollspark.region;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.TestNets;
import org.rollspark.graph.GraphNet;
import org.rollspark.graph.Tape;
import org.rollspark.util.Host;

/**
 * Region inference of graph networks against slow references: per-neuron back-propagation for
 * Jacobians, brute-force margins, float64 sampling inside the certified balls, bisection for
 * directional certificates, per-class back-propagation for decision margins.
 */
class RegionCertifierGraphTest {

    record Case(String name, String json, int[] shape, int[] lengths) {
        int d() {
            int d = 1;
            for (int s : shape) {
                d *= s;
            }
            return d;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static final Case RESNET = new Case("resnet", TestNets.RESNET, new int[] {1, 6, 6}, null);
    static final Case CONV = new Case("conv", TestNets.CONVNET, new int[] {1, 5, 5}, null);
    static final Case RNN = new Case("rnn, padded", TestNets.RNN, new int[] {5, 3}, new int[] {5, 2, 4, 3, 5, 1});

    static Stream<Arguments> cases() {
        return Stream.of(Arguments.of(RESNET), Arguments.of(CONV), Arguments.of(RNN));
    }

    static GraphNet net(Case c, long seed) {
        GraphNet net = TestNets.graph(seed, c.json(), c.shape(), DataType.DOUBLE);
        // non-trivial batch-norm running statistics, so that inference mode differs from the identity
        net.forward(TestNets.uniform(seed + 1, 8, c.d(), -0.5, 1.5, DataType.DOUBLE), true, null, null);
        return net;
    }

    static INDArray inputs(Case c, long seed) {
        int n = c.lengths() == null ? 6 : c.lengths().length;
        return TestNets.uniform(seed, n, c.d(), -0.5, 1.5, DataType.DOUBLE);
    }

    /** grad_x z_j in raw units by back-propagating a unit gradient from neuron j alone. */
    static double[] neuronGradient(GraphNet net, INDArray row, int[] len, int group, int unit) {
        org.rollspark.graph.GraphForward fw = net.forward(row, false, len, null);
        Tape.Neurons g = fw.neurons().get(group);
        double[] dz = new double[g.size()];
        dz[unit] = 1;
        g.setZGradient(Host.array(dz, DataType.DOUBLE, 1, g.size()));
        double[] gx = Host.pull(fw.inputGradient(Nd4j.zeros(DataType.DOUBLE, 1, net.outputSize())));
        for (int k = 0; k < gx.length; k++) {
            gx[k] /= net.normalization().std(k);
        }
        return gx;
    }

    static INDArray row(INDArray x, int e) {
        return x.getRow(e).reshape(1, x.size(1)).dup();
    }

    static int[] len(int[] lengths, int e) {
        return lengths == null ? null : new int[] {lengths[e]};
    }

    static ActivationPattern[] patterns(GraphNet net, INDArray x, int[] lengths) {
        org.rollspark.net.Network.NeuronValues v = net.forward(x, false, lengths, null).values();
        return ActivationPattern.of(v.z(), v.valid(), v.sizes(), (int) x.size(0));
    }

    /** l2 alone on a graph net (no basis smaller than the input): the l2 certificates of the all-norm run, others NaN. */
    @ParameterizedTest
    @MethodSource("cases")
    void l2AloneGivesTheSameL2Certificates(Case c) {
        GraphNet net = net(c, 5);
        INDArray x = inputs(c, 6);
        assertEquals(null, net.linearizer().gradientBasis());
        Certification all = new RegionCertifier(net, 4).certify(x, c.lengths());
        Certification l2 = new RegionCertifier(net, 4).withNorms(java.util.EnumSet.of(Norm.L2)).certify(x, c.lengths());
        for (int e = 0; e < all.size(); e++) {
            assertEquals(all.margin(Norm.L2, e), l2.margin(Norm.L2, e), 0.0);
            assertEquals(all.decisionMargin(Norm.L2, e), l2.decisionMargin(Norm.L2, e), 0.0);
            assertEquals(all.jacobianHash(e), l2.jacobianHash(e));
            assertTrue(Double.isNaN(l2.margin(Norm.L1, e)) && Double.isNaN(l2.margin(Norm.LINF, e)));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void jacobiansMatchPerNeuronBackpropagationAndMarginsTheBruteForce(Case c) {
        GraphNet net = net(c, 3);
        INDArray x = inputs(c, 5);
        INDArray[] jac = new RegionCertifier(net, 4).jacobians(x);
        org.rollspark.graph.GraphForward fw = net.forward(x, false, c.lengths(), null);
        Certification cert = new RegionCertifier(net, 4).withCoordinateBlock(7).certify(x, c.lengths());
        SplittableRandom rng = new SplittableRandom(1);
        for (int e = 0; e < x.size(0); e++) {
            double[] best = {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};
            for (int i = 0; i < jac.length; i++) {
                Tape.Neurons grp = fw.neurons().get(i);
                int h = grp.size();
                double[] z = Host.pull(grp.z());
                double[] valid = grp.valid() == null ? null : Host.pull(grp.valid());
                double[] j = Host.pull(jac[i]);
                for (int u = 0; u < h; u++) {
                    if (valid != null && valid[e * h + u] == 0) {
                        continue;
                    }
                    double[] g = java.util.Arrays.copyOfRange(j, (e * h + u) * c.d(), (e * h + u + 1) * c.d());
                    if (rng.nextInt(4) == 0) {
                        // note: jacobians() pushes lengths = null, so compare on full-length examples only
                        if (c.lengths() == null || c.lengths()[e] == c.shape()[0]) {
                            double[] ref = neuronGradient(net, row(x, e), len(c.lengths(), e), i, u);
                            for (int k = 0; k < c.d(); k++) {
                                assertEquals(ref[k], g[k], 1e-11, c + ": group " + i + " unit " + u + " input " + k);
                            }
                        }
                    }
                    if (c.lengths() != null) {
                        g = neuronGradient(net, row(x, e), len(c.lengths(), e), i, u);
                    }
                    for (Norm p : Norm.values()) {
                        double gn = RegionReference.norm(g, p.dual());
                        if (gn > 0) {
                            best[p.ordinal()] = Math.min(best[p.ordinal()], Math.abs(z[e * h + u]) / gn);
                        }
                    }
                }
            }
            for (Norm p : Norm.values()) {
                assertEquals(best[p.ordinal()], cert.margin(p, e), 1e-9 * best[p.ordinal()], c + " example " + e + " " + p);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void patternsHoldInsideTheCertifiedBallsAndTheBindingNeuronFlipsJustBeyond(Case c) {
        GraphNet net = net(c, 7);
        INDArray x = inputs(c, 9);
        Certification cert = new RegionCertifier(net, 4).certify(x, c.lengths());
        SplittableRandom rng = new SplittableRandom(2);
        int d = c.d();
        double[] xs = Host.pull(x);
        for (int e = 0; e < x.size(0); e++) {
            int[] le = len(c.lengths(), e);
            ActivationPattern base = patterns(net, row(x, e), le)[0];
            assertEquals(base, cert.pattern(e));
            for (Norm p : Norm.values()) {
                double eps = cert.margin(p, e) * (1 - 1e-9);
                int pts = p == Norm.L1 ? 2 * d : 60;
                double[] batch = new double[pts * d];
                for (int q = 0; q < pts; q++) {
                    double[] dir = switch (p) {
                        case L1 -> vertex(d, q); // every vertex of the l1 ball
                        case L2 -> sphere(d, rng);
                        case LINF -> corner(d, rng);
                    };
                    for (int k = 0; k < d; k++) {
                        batch[q * d + k] = xs[e * d + k] + eps * dir[k];
                    }
                }
                int[] lens = le == null ? null : java.util.Collections.nCopies(pts, le[0]).stream().mapToInt(i -> i).toArray();
                ActivationPattern[] got = patterns(net, Host.array(batch, DataType.DOUBLE, pts, d), lens);
                for (int q = 0; q < pts; q++) {
                    assertEquals(base, got[q], c + " example " + e + " " + p + " point " + q);
                }
            }
            // just beyond the l2 margin along the binding neuron's gradient, that neuron flips
            int layer = cert.bindingLayer(Norm.L2, e);
            int unit = cert.bindingUnit(Norm.L2, e);
            double[] g = neuronGradient(net, row(x, e), le, layer, unit);
            org.rollspark.graph.GraphForward fw = net.forward(row(x, e), false, le, null);
            double z = fw.neurons().get(layer).z().getDouble(0, unit);
            double gn = RegionReference.norm(g, Norm.L2);
            double step = cert.margin(Norm.L2, e) * (1 + 1e-6);
            double[] beyond = new double[d];
            for (int k = 0; k < d; k++) {
                beyond[k] = xs[e * d + k] - Math.signum(z) * step * g[k] / gn;
            }
            double z2 = net.forward(Host.array(beyond, DataType.DOUBLE, 1, d), false, le, null).neurons().get(layer).z()
                    .getDouble(0, unit);
            assertTrue(Math.signum(z2) != Math.signum(z) || z2 == 0, c + " example " + e + ": z " + z + " -> " + z2);
        }
    }

    static double[] vertex(int d, int q) {
        double[] v = new double[d];
        v[q / 2] = q % 2 == 0 ? 1 : -1;
        return v;
    }

    static double[] sphere(int d, SplittableRandom rng) {
        double[] v = new double[d];
        double s = 0;
        for (int k = 0; k < d; k++) {
            v[k] = rng.nextGaussian();
            s += v[k] * v[k];
        }
        s = Math.sqrt(s);
        for (int k = 0; k < d; k++) {
            v[k] /= s;
        }
        return v;
    }

    static double[] corner(int d, SplittableRandom rng) {
        double[] v = new double[d];
        for (int k = 0; k < d; k++) {
            v[k] = rng.nextBoolean() ? 1 : -1;
        }
        return v;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void directionalCertificatesMatchBisectionAndCoordinateBounds(Case c) {
        GraphNet net = net(c, 11);
        INDArray x = inputs(c, 13).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 3),
                org.nd4j.linalg.indexing.NDArrayIndex.all()).dup();
        int d = c.d();
        SplittableRandom rng = new SplittableRandom(4);
        double[] dirs = new double[3 * d];
        for (int i = 0; i < dirs.length; i++) {
            dirs[i] = rng.nextGaussian();
        }
        RegionCertifier cert = new RegionCertifier(net, 2);
        double[][] steps = cert.directional(x, Host.array(dirs, DataType.DOUBLE, 3, d));
        double[] xs = Host.pull(x);
        for (int e = 0; e < 3; e++) {
            ActivationPattern base = patterns(net, row(x, e), null)[0];
            for (int q = 0; q < 3; q++) {
                double t = steps[e][q];
                assertTrue(Double.isFinite(t) && t > 0);
                double[] in = new double[d];
                double[] out = new double[d];
                for (int k = 0; k < d; k++) {
                    in[k] = xs[e * d + k] + t * (1 - 1e-7) * dirs[q * d + k];
                    out[k] = xs[e * d + k] + t * (1 + 1e-7) * dirs[q * d + k];
                }
                assertEquals(base, patterns(net, Host.array(in, DataType.DOUBLE, 1, d), null)[0]);
                assertNotEquals(base, patterns(net, Host.array(out, DataType.DOUBLE, 1, d), null)[0]);
            }
        }
        // per-coordinate bounds are the directional certificates along +-e_k
        double[] eye = new double[2 * d * d];
        for (int k = 0; k < d; k++) {
            eye[k * d + k] = 1;
            eye[(d + k) * d + k] = -1;
        }
        double[][] along = cert.directional(x, Host.array(eye, DataType.DOUBLE, 2 * d, d));
        Certification full = new RegionCertifier(net, 2).withCoordinateBounds(true).withCoordinateBlock(5).certify(x);
        for (int e = 0; e < 3; e++) {
            double[] b = full.coordinateBounds(e);
            for (int q = 0; q < 2 * d; q++) {
                assertEquals(along[e][q], b[q], 1e-9 * Math.min(1e9, along[e][q]), "coordinate bound " + q);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decisionMarginsMatchPerClassBackpropagation(Case c) {
        GraphNet net = net(c, 19);
        INDArray x = inputs(c, 21);
        Certification cert = new RegionCertifier(net, 4).certify(x, c.lengths());
        int k = net.outputSize();
        for (int e = 0; e < x.size(0); e++) {
            int[] le = len(c.lengths(), e);
            double[] f = Host.pull(net.forward(row(x, e), false, le, null).logits());
            int pred = cert.pred(e);
            double[][] grads = new double[k][];
            for (int cls = 0; cls < k; cls++) {
                org.rollspark.graph.GraphForward fw = net.forward(row(x, e), false, le, null);
                double[] onehot = new double[k];
                onehot[cls] = 1;
                grads[cls] = Host.pull(fw.inputGradient(Host.array(onehot, DataType.DOUBLE, 1, k)));
                for (int q = 0; q < grads[cls].length; q++) {
                    grads[cls][q] /= net.normalization().std(q);
                }
            }
            for (Norm p : Norm.values()) {
                double best = Double.POSITIVE_INFINITY;
                for (int o = 0; o < k; o++) {
                    if (o == pred) {
                        continue;
                    }
                    double[] diff = new double[grads[o].length];
                    for (int q = 0; q < diff.length; q++) {
                        diff[q] = grads[pred][q] - grads[o][q];
                    }
                    best = Math.min(best, (f[pred] - f[o]) / RegionReference.norm(diff, p.dual()));
                }
                assertEquals(best, cert.decisionMargin(p, e), 1e-9 * best, c + " example " + e + " " + p);
            }
        }
    }

    @Test
    void float32MarginsNeverExceedFloat64Ones() {
        GraphNet net = net(RESNET, 23);
        INDArray x = inputs(RESNET, 25);
        Certification c64 = new RegionCertifier(net, 4).certify(x);
        Certification c32 = new RegionCertifier(net.castTo(DataType.FLOAT), 4).certify(x.castTo(DataType.FLOAT));
        for (int e = 0; e < x.size(0); e++) {
            assertEquals(c64.pattern(e), c32.pattern(e));
            for (Norm p : Norm.values()) {
                assertTrue(c32.margin(p, e) <= c64.margin(p, e), p + " example " + e);
                assertEquals(c64.margin(p, e), c32.margin(p, e), 2e-3 * c64.margin(p, e));
            }
        }
    }
}
