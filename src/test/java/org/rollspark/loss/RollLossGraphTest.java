package org.rollspark.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.util.Host;

/**
 * The ROLL loss of graph networks (convolutional, residual, recurrent) against finite differences in
 * float64, the dense implementation, and (sampled) its own exact value.
 */
class RollLossGraphTest {

    record Case(String json, int[] shape, int[] lengths) {}

    static final Case RESNET = new Case(TestNets.RESNET, new int[] {1, 6, 6}, null);
    static final Case CONV = new Case(TestNets.CONVNET, new int[] {1, 5, 5}, null);
    static final Case RNN = new Case(TestNets.RNN, new int[] {5, 3}, new int[] {5, 3, 4, 1});
    static final Case RNN_FULL = new Case(TestNets.RNN, new int[] {5, 3}, null);

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("resnet, training batch norm, mean", RESNET, true, Aggregation.mean()),
                Arguments.of("resnet, inference batch norm, top 30", RESNET, false, Aggregation.top(30)),
                Arguments.of("resnet, inference batch norm, mean", RESNET, false, Aggregation.mean()),
                Arguments.of("resnet, training batch norm, top 30", RESNET, true, Aggregation.top(30)),
                Arguments.of("resnet, training batch norm, max", RESNET, true, Aggregation.maximum()),
                Arguments.of("conv + global pool, mean", CONV, true, Aggregation.mean()),
                Arguments.of("conv + global pool, top 25", CONV, true, Aggregation.top(25)),
                Arguments.of("rnn, padded sequences, mean", RNN, true, Aggregation.mean()),
                Arguments.of("rnn, padded sequences, max", RNN, true, Aggregation.maximum()),
                Arguments.of("rnn, full sequences, top 40", RNN_FULL, true, Aggregation.top(40)));
    }

    static INDArray inputs(long seed, int n, Case c) {
        int d = 1;
        for (int s : c.shape()) {
            d *= s;
        }
        return TestNets.uniform(seed, n, d, -0.5, 1.5, DataType.DOUBLE);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesFiniteDifferences(String name, Case c, boolean training, Aggregation agg) {
        GraphNet net = TestNets.graph(17, c.json(), c.shape(), DataType.DOUBLE);
        int n = c.lengths() == null ? 5 : c.lengths().length;
        INDArray x = inputs(3, n, c);
        int[] y = TestNets.labels(5, n, 3);
        RollLoss loss = new RollLoss(0.6, 0.7, agg);
        if (!training) {
            net.forward(inputs(11, 6, c), true, null, null); // non-trivial running statistics
        }
        assertGradientMatches(loss, net, x, y, c.lengths(), training, 0);
    }

    @Test
    void vanillaGradientMatchesFiniteDifferences() {
        GraphNet net = TestNets.graph(4, TestNets.RESNET, RESNET.shape(), DataType.DOUBLE);
        INDArray x = inputs(8, 4, RESNET);
        assertGradientMatches(RollLoss.vanilla(), net, x, TestNets.labels(1, 4, 3), null, true, 0);
    }

    @Test
    void sampledGradientMatchesFiniteDifferencesOfTheSameSample() {
        GraphNet net = TestNets.graph(6, TestNets.RESNET, RESNET.shape(), DataType.DOUBLE);
        INDArray x = inputs(9, 4, RESNET);
        RollLoss loss = RollLoss.roll(0.8, 0.5).withSampling(new Sampling(5, false));
        assertGradientMatches(loss, net, x, TestNets.labels(2, 4, 3), null, true, 1234);
    }

    /** The graph form of a dense net gives the dense implementation's loss and gradient. */
    @Test
    void denseGraphAgreesWithTheDenseImplementation() {
        for (Aggregation agg : new Aggregation[] {Aggregation.mean(), Aggregation.top(30), Aggregation.maximum()}) {
            DenseNet dense = TestNets.net(21, Activation.leakyRelu(0.1), 9, 6, 5, 4, 3);
            GraphNet graph = GraphNet.dense(dense.sizes(), dense.activation(), dense.normalization(), dense.params());
            INDArray x = TestNets.uniform(2, 6, 9, -1, 1, DataType.DOUBLE);
            int[] y = TestNets.labels(3, 6, 3);
            RollLoss loss = new RollLoss(0.9, 0.6, agg);
            INDArray gd = Nd4j.create(DataType.DOUBLE, dense.params().length());
            INDArray gg = Nd4j.create(DataType.DOUBLE, dense.params().length());
            LossValue vd = loss.valueAndGradient(dense, x, y, gd);
            LossValue vg = loss.compute(graph, x, y, null, TestNets.gradient(gg), 0, true);
            assertEquals(vd.total(), vg.total(), 1e-12 * Math.abs(vd.total()), agg.spec());
            assertEquals(vd.rollTerm(), vg.rollTerm(), 1e-12 * Math.abs(vd.rollTerm()), agg.spec());
            double diff = gd.sub(gg).norm2Number().doubleValue();
            assertTrue(diff <= 1e-10 * gd.norm2Number().doubleValue(), agg.spec() + ": gradient differs by " + diff);
        }
    }

    /**
     * Sampled coordinates on a dense net run on its graph view (DenseForward delegates the tangent
     * passes, then its own base backward adds to them): the same loss and gradient as the graph view
     * with the same draw, and the dense gradient holder overwritten, not accumulated.
     */
    @Test
    void sampledLossOnADenseNetMatchesItsGraphView() {
        DenseNet dense = TestNets.net(22, Activation.leakyRelu(0.2), 9, 6, 5, 3);
        GraphNet graph = GraphNet.dense(dense.sizes(), dense.activation(), dense.normalization(), dense.params());
        INDArray x = TestNets.uniform(4, 5, 9, -1, 1, DataType.DOUBLE);
        int[] y = TestNets.labels(5, 5, 3);
        RollLoss loss = RollLoss.roll(0.7, 0.4).withSampling(new Sampling(3, false));
        org.rollspark.net.Gradient gd = dense.newGradient();
        gd.flat().assign(123);
        INDArray gg = Nd4j.create(DataType.DOUBLE, dense.params().length());
        LossValue vd = loss.valueAndGradient(dense, x, y, gd, 99);
        LossValue vg = loss.compute(graph, x, y, null, TestNets.gradient(gg), 99, true);
        assertEquals(vg.total(), vd.total(), 1e-12 * Math.abs(vg.total()));
        assertEquals(vg.rollTerm(), vd.rollTerm(), 1e-12 * Math.abs(vg.rollTerm()));
        double diff = gd.flat().sub(gg).norm2Number().doubleValue();
        assertTrue(diff <= 1e-10 * gg.norm2Number().doubleValue(), "gradient differs by " + diff);
        assertEquals(loss.value(graph, x, y).total(), loss.value(dense, x, y).total(), 1e-12);
    }

    /**
     * Coordinate tangents pushed through the full-resolution layers as local windows (stem and the
     * first residual block on 12 x 12 inputs: 7 x 7 windows, shifted at the borders) give the loss,
     * its gradient and the certificates of whole-map tangents; the whole-map path is the one checked
     * against finite differences and back-propagation.
     */
    @Test
    void windowedTangentsMatchWholeMaps() {
        int[] shape = {2, 12, 12};
        Case wide = new Case(TestNets.RESNET, shape, null);
        GraphNet net = TestNets.graph(31, TestNets.RESNET, shape, DataType.DOUBLE);
        net.forward(inputs(12, 6, wide), true, null, null); // non-trivial running statistics
        INDArray x = inputs(13, 4, wide);
        int[] y = TestNets.labels(14, 4, 3);
        RollLoss[] losses = {new RollLoss(0.7, 0.4, Aggregation.mean()), new RollLoss(0.7, 0.4, Aggregation.top(20)),
            RollLoss.roll(0.5, 0.3).withSampling(new Sampling(6, true))};
        for (RollLoss loss : losses) {
            for (boolean training : new boolean[] {true, false}) {
                String what = loss.aggregation().spec() + (loss.sampling().isExact() ? "" : " sampled")
                        + (training ? ", training" : ", inference");
                INDArray[] grads = new INDArray[2];
                LossValue[] values = new LossValue[2];
                for (int w = 0; w < 2; w++) {
                    net.useWindows(w == 0);
                    grads[w] = Nd4j.create(DataType.DOUBLE, net.params().length());
                    values[w] = loss.compute(net, x, y, null, TestNets.gradient(grads[w]), 77, training);
                }
                assertEquals(values[1].rollTerm(), values[0].rollTerm(), 1e-12 * values[1].rollTerm(), what);
                double diff = grads[0].sub(grads[1]).norm2Number().doubleValue();
                assertTrue(diff <= 1e-11 * grads[1].norm2Number().doubleValue(), what + ": gradient differs by " + diff);
            }
        }
        org.rollspark.region.Certification[] certs = new org.rollspark.region.Certification[2];
        for (int w = 0; w < 2; w++) {
            net.useWindows(w == 0);
            certs[w] = new org.rollspark.region.RegionCertifier(net, 64).withCoordinateBlock(50).certify(x);
        }
        net.useWindows(true);
        for (org.rollspark.region.Norm p : org.rollspark.region.Norm.values()) {
            for (int i = 0; i < x.size(0); i++) {
                assertEquals(certs[1].margin(p, i), certs[0].margin(p, i), 1e-12 * certs[1].margin(p, i), p + " margin");
                assertEquals(certs[1].decisionMargin(p, i), certs[0].decisionMargin(p, i),
                        1e-12 * Math.abs(certs[1].decisionMargin(p, i)), p + " decision margin");
            }
        }
        for (int i = 0; i < x.size(0); i++) {
            assertEquals(certs[1].jacobianHash(i), certs[0].jacobianHash(i));
        }
    }

    /**
     * The sampled ROLL term is unbiased: the mean of many independent sampled estimates (value and
     * gradient) matches the exact one within a few standard errors.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("sampledCases")
    void sampledEstimateIsUnbiased(String name, Case c, Sampling sampling) {
        GraphNet net = TestNets.graph(12, c.json(), c.shape(), DataType.DOUBLE);
        int n = 3;
        INDArray x = inputs(4, n, c);
        int[] y = TestNets.labels(6, n, 3);
        RollLoss exact = RollLoss.roll(1.0, 0.5);
        RollLoss sampled = exact.withSampling(sampling);
        int[] lengths = c.lengths() == null ? null : java.util.Arrays.copyOf(c.lengths(), n);
        long p = net.params().length();
        INDArray gExact = Nd4j.create(DataType.DOUBLE, p);
        double vExact = exact.compute(net, x, y, lengths, TestNets.gradient(gExact), 0, false).rollTerm();
        int[] coords = new SplittableRandom(3).ints(4, 0, (int) p).toArray();
        int draws = 600;
        double[][] samples = new double[1 + coords.length][draws];
        INDArray g = Nd4j.create(DataType.DOUBLE, p);
        for (int i = 0; i < draws; i++) {
            samples[0][i] = sampled.compute(net, x, y, lengths, TestNets.gradient(g), 1000 + i, false).rollTerm();
            for (int j = 0; j < coords.length; j++) {
                samples[1 + j][i] = g.getDouble(coords[j]);
            }
        }
        double[] expected = new double[1 + coords.length];
        expected[0] = vExact;
        INDArray gVan = Nd4j.create(DataType.DOUBLE, p);
        RollLoss.vanilla().compute(net, x, y, lengths, TestNets.gradient(gVan), 0, false);
        for (int j = 0; j < coords.length; j++) {
            expected[1 + j] = gExact.getDouble(coords[j]);
        }
        for (int j = 0; j < expected.length; j++) {
            double mean = 0;
            for (double v : samples[j]) {
                mean += v;
            }
            mean /= draws;
            double var = 0;
            for (double v : samples[j]) {
                var += (v - mean) * (v - mean);
            }
            double se = Math.sqrt(var / (draws - 1) / draws);
            String what = j == 0 ? "roll term" : "gradient[" + coords[j - 1] + "]";
            assertTrue(se > 0 || Math.abs(mean - expected[j]) < 1e-12, what + ": no spread and off the exact value");
            assertTrue(Math.abs(mean - expected[j]) <= 4 * se + 1e-12,
                    what + ": sampled mean " + mean + " vs exact " + expected[j] + " (standard error " + se + ")");
        }
    }

    static Stream<Arguments> sampledCases() {
        return Stream.of(
                Arguments.of("resnet, 4 coordinates", RESNET, new Sampling(4, false)),
                Arguments.of("conv, 3 coordinates per channel", CONV, new Sampling(3, true)),
                Arguments.of("rnn, padded, 2 coordinates", RNN, new Sampling(2, false)));
    }

    static void assertGradientMatches(RollLoss loss, GraphNet net, INDArray x, int[] y, int[] lengths, boolean training,
            long seed) {
        double[] p0 = Host.pull(net.params());
        INDArray grad = Nd4j.create(DataType.DOUBLE, p0.length);
        loss.compute(net, x, y, lengths, TestNets.gradient(grad), seed, training);
        double[] g = Host.pull(grad);
        boolean[] frozen = new boolean[p0.length];
        for (org.rollspark.graph.Layer.Param t : net.parameterTensors()) {
            if (!t.role().trainable()) {
                for (long i = t.offset(); i < t.offset() + t.size(); i++) {
                    frozen[(int) i] = true;
                    assertEquals(0.0, g[(int) i], "running statistics get no gradient");
                }
            }
        }
        double h = 1e-6;
        double maxErr = 0;
        double scale = 0;
        // every parameter of small nets; a seeded sample of 150 (all tensors represented) of larger ones
        SplittableRandom pick = new SplittableRandom(p0.length);
        for (int i = 0; i < p0.length; i++) {
            if (frozen[i]) {
                continue; // running statistics: not trained (in inference mode the loss depends on them)
            }
            if (p0.length > 200 && pick.nextInt(p0.length) >= 150) {
                continue;
            }
            double[] fd = new double[2];
            for (int s = 0; s < 2; s++) {
                double[] q = p0.clone();
                q[i] += s == 0 ? h : -h;
                Host.push(q, net.params());
                fd[s] = loss.compute(net, x, y, lengths, null, seed, training).total();
            }
            double num = (fd[0] - fd[1]) / (2 * h);
            maxErr = Math.max(maxErr, Math.abs(num - g[i]));
            scale = Math.max(scale, Math.abs(num));
        }
        Host.push(p0, net.params());
        assertTrue(scale > 0, "all-zero gradient");
        assertTrue(maxErr <= 1e-6 * Math.max(1, scale), "max |fd - analytic| = " + maxErr + " (scale " + scale + ")");
    }
}
