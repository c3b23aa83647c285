package org.rollspark.region;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

class GradientStabilityTest {
    static DenseNet net() {
        return DenseNet.init(new int[] {6, 10, 8, 3}, Activation.leakyRelu(0.05), Normalization.scalar(0.4, 0.3),
                Init.UNIFORM_FAN_IN, 12, DataType.DOUBLE);
    }

    @Test
    void logitGradientsMatchBackPropagation() {
        DenseNet net = net();
        INDArray x = TestNets.uniform(3, 5, 6, 0, 1, DataType.DOUBLE);
        DenseActivations fp = net.activations(x);
        GradientStability gs = new GradientStability(net, 0.1, 0, 1);
        for (int cls = 0; cls < 3; cls++) {
            double[] g = gs.logitGradients(Host.pull(x), 5, cls);
            for (int e = 0; e < 5; e++) {
                double[] ref = RegionReference.logitGradient(net, fp, e, cls);
                for (int r = 0; r < 6; r++) {
                    assertEquals(ref[r], g[e * 6 + r], 1e-12);
                }
            }
        }
    }

    /** Inside the linear region the gradient cannot change: a ball within the l_inf margin has no distortion. */
    @Test
    void noDistortionInsideTheLinearRegionSomeOutside() {
        DenseNet net = net();
        INDArray xs = TestNets.uniform(8, 4, 6, 0.3, 0.7, DataType.DOUBLE);
        Certification c = new RegionCertifier(net).certify(xs);
        double[] all = Host.pull(xs);
        for (int e = 0; e < 4; e++) {
            double[] x = java.util.Arrays.copyOfRange(all, e * 6, (e + 1) * 6);
            double inside = 0.99 * c.margin(Norm.LINF, e);
            GradientStability.Result r = new GradientStability(net, inside, 0, 1).evaluate(x, c.pred(e), 200, 40, 5, 1);
            assertEquals(0.0, r.expected(), 1e-9);
            assertEquals(0.0, r.maximum(), 1e-9);
            GradientStability.Result big = new GradientStability(net, 0.3, 0, 1).evaluate(x, c.pred(e), 200, 40, 5, 1);
            assertTrue(big.maximum() >= big.expected() && big.maximum() > 0, big.toString());
            assertEquals(200 + 40 + 5 * 30, big.evaluations());
            GradientStability.Result sampledOnly = new GradientStability(net, 0.3, 0, 1).evaluate(x, c.pred(e), 200, 0, 0, 1);
            assertTrue(big.maximum() >= sampledOnly.maximum(), "the search keeps the best sample");
        }
    }
}
