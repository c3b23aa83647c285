package org.rollspark.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.TestNets;
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.util.Host;

/** Finite-difference checks (float64) of the full ROLL loss gradient. */
class RollLossGradientTest {

    static Stream<Arguments> cases() {
        Activation relu = Activation.relu();
        Activation leaky = Activation.leakyRelu(0.1);
        return Stream.of(
                // H_1 < D: the chain starts from the QR basis of W_1's row space
                Arguments.of("relu qr mean", relu, new int[] {9, 5, 6, 4, 3}, Aggregation.mean()),
                Arguments.of("leaky qr mean", leaky, new int[] {9, 5, 6, 4, 3}, Aggregation.mean()),
                // H_1 >= D: the chain starts from W_1^T itself
                Arguments.of("relu wide mean", relu, new int[] {3, 8, 6, 2}, Aggregation.mean()),
                Arguments.of("leaky wide top", leaky, new int[] {3, 8, 6, 2}, Aggregation.top(30)),
                Arguments.of("relu top gamma", relu, new int[] {7, 5, 6, 5, 3}, Aggregation.top(25)),
                Arguments.of("leaky max", leaky, new int[] {7, 5, 6, 5, 3}, Aggregation.maximum()),
                Arguments.of("relu max", relu, new int[] {6, 4, 5, 3}, Aggregation.maximum()),
                Arguments.of("one hidden layer", leaky, new int[] {6, 4, 3}, Aggregation.mean()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesFiniteDifferences(String name, Activation act, int[] sizes, Aggregation agg) {
        DenseNet net = TestNets.net(sizes.length * 31L + sizes[0], act, sizes);
        INDArray x = TestNets.uniform(7, 5, sizes[0], -1, 1.5, DataType.DOUBLE);
        int[] y = TestNets.labels(3, 5, sizes[sizes.length - 1]);
        RollLoss loss = new RollLoss(0.7, 0.5, agg);
        assertGradientMatches(loss, net, x, y);
    }

    @Test
    void vanillaGradientMatchesFiniteDifferences() {
        DenseNet net = TestNets.net(11, Activation.relu(), 8, 6, 5, 3);
        INDArray x = TestNets.uniform(1, 6, 8, -1, 1, DataType.DOUBLE);
        assertGradientMatches(RollLoss.vanilla(), net, x, TestNets.labels(2, 6, 3));
    }

    /**
     * Fan-out: every hidden weight feeds both the forward pass (cross-entropy, hinge) and the
     * Jacobian chain; z feeds both cross-entropy and the hinge. The ROLL gradient must differ from
     * the vanilla one by exactly lambda times the gradient of the ROLL term, which is checked here
     * against finite differences of the ROLL term alone (STACK.md's SameDiff fan-out trap).
     */
    @Test
    void fanOutPathsAddUp() {
        DenseNet net = TestNets.net(5, Activation.leakyRelu(0.2), 9, 6, 5, 4);
        INDArray x = TestNets.uniform(9, 4, 9, -1, 1, DataType.DOUBLE);
        int[] y = TestNets.labels(4, 4, 4);
        double lambda = 1.3;
        RollLoss roll = new RollLoss(lambda, 0.8, Aggregation.mean());
        INDArray gRoll = Nd4j.create(DataType.DOUBLE, net.params().length());
        INDArray gVan = Nd4j.create(DataType.DOUBLE, net.params().length());
        roll.valueAndGradient(net, x, y, gRoll);
        RollLoss.vanilla().valueAndGradient(net, x, y, gVan);
        double[] termGrad = Host.pull(gRoll.sub(gVan).divi(lambda));
        double[] p = Host.pull(net.params());
        double h = 1e-6;
        double maxErr = 0;
        double scale = 0;
        for (int i = 0; i < p.length; i++) {
            double[] fd = new double[2];
            for (int s = 0; s < 2; s++) {
                double[] q = p.clone();
                q[i] += s == 0 ? h : -h;
                net.params().assign(Nd4j.createFromArray(q));
                fd[s] = roll.value(net, x, y).rollTerm();
            }
            net.params().assign(Nd4j.createFromArray(p));
            double num = (fd[0] - fd[1]) / (2 * h);
            maxErr = Math.max(maxErr, Math.abs(num - termGrad[i]));
            scale = Math.max(scale, Math.abs(num));
        }
        assertTrue(scale > 1e-3, "the ROLL term must depend on the weights");
        assertTrue(maxErr <= 1e-6 * Math.max(1, scale), "max error " + maxErr + " scale " + scale);
    }

    /**
     * The float32 step (the training path: BLAS products and in-place passes on the arrays' own
     * memory) against the float64 one, which the finite-difference checks above prove: the same
     * loss and gradient to float32 accuracy, vanilla and ROLL, ReLU and LeakyReLU, over a batch of
     * 32 through a net wide enough for real products.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("precisions")
    void float32StepMatchesFloat64(String name, Activation act, RollLoss loss) {
        DenseNet net64 = TestNets.net(21, act, 60, 40, 30, 30, 10);
        DenseNet net32 = net64.castTo(DataType.FLOAT);
        INDArray x = TestNets.uniform(8, 32, 60, 0, 1, DataType.FLOAT);
        int[] y = TestNets.labels(6, 32, 10);
        INDArray g64 = Nd4j.create(DataType.DOUBLE, net64.params().length());
        INDArray g32 = Nd4j.create(DataType.FLOAT, net32.params().length()).assign(Float.NaN); // overwritten
        LossValue v64 = loss.valueAndGradient(net64, x.castTo(DataType.DOUBLE), y, g64);
        LossValue v32 = loss.valueAndGradient(net32, x, y, g32);
        assertEquals(v64.total(), v32.total(), 1e-5 * Math.max(1, v64.total()));
        double err = g32.castTo(DataType.DOUBLE).sub(g64).norm2Number().doubleValue();
        double norm = g64.norm2Number().doubleValue();
        assertTrue(norm > 1e-2, "gradient is trivially small");
        assertTrue(err <= 1e-5 * norm, "||g32 - g64|| = " + err + " against ||g64|| = " + norm);
    }

    static Stream<Arguments> precisions() {
        return Stream.of(Arguments.of("vanilla relu", Activation.relu(), RollLoss.vanilla()),
                Arguments.of("vanilla leaky", Activation.leakyRelu(0.1), RollLoss.vanilla()),
                Arguments.of("roll relu", Activation.relu(), RollLoss.roll(2, 0.25)),
                Arguments.of("roll leaky top", Activation.leakyRelu(0.1), new RollLoss(1, 0.5, Aggregation.top(40))));
    }

    static void assertGradientMatches(RollLoss loss, DenseNet net, INDArray x, int[] y) {
        INDArray grad = Nd4j.create(DataType.DOUBLE, net.params().length());
        grad.assign(123); // must be overwritten, not accumulated
        LossValue v = loss.valueAndGradient(net, x, y, grad);
        assertEquals(loss.value(net, x, y).total(), v.total(), 1e-12);
        double[] g = Host.pull(grad);
        double[] p = Host.pull(net.params());
        double h = 1e-6;
        double maxErr = 0;
        double scale = 0;
        int worst = -1;
        for (int i = 0; i < p.length; i++) {
            double[] q = p.clone();
            q[i] = p[i] + h;
            net.params().assign(Nd4j.createFromArray(q));
            double up = loss.value(net, x, y).total();
            q[i] = p[i] - h;
            net.params().assign(Nd4j.createFromArray(q));
            double down = loss.value(net, x, y).total();
            double num = (up - down) / (2 * h);
            double err = Math.abs(num - g[i]);
            if (err > maxErr) {
                maxErr = err;
                worst = i;
            }
            scale = Math.max(scale, Math.abs(num));
        }
        net.params().assign(Nd4j.createFromArray(p));
        assertTrue(scale > 1e-3, "gradient is trivially small");
        assertTrue(maxErr <= 2e-6 * Math.max(1, scale),
                "max |analytic - numeric| = " + maxErr + " at parameter " + worst + " (scale " + scale + ")");
    }
}
