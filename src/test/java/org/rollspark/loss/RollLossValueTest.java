package org.rollspark.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.TestNets;
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.dense.DenseActivations;
import org.rollspark.region.Norm;
import org.rollspark.region.RegionReference;
import org.rollspark.util.Host;

/** The loss value against a brute-force computation from per-neuron back-propagated gradients. */
class RollLossValueTest {

    @Test
    void valueMatchesBruteForceForEveryAggregation() {
        for (int[] sizes : new int[][] {{10, 6, 5, 4, 3}, {3, 7, 6, 2}}) {
            DenseNet net = TestNets.net(3, Activation.leakyRelu(0.1), sizes);
            INDArray x = TestNets.uniform(8, 5, sizes[0], -1, 2, DataType.DOUBLE);
            int[] y = TestNets.labels(1, 5, sizes[sizes.length - 1]);
            for (Aggregation agg : new Aggregation[] {Aggregation.mean(), Aggregation.top(20), Aggregation.maximum()}) {
                double lambda = 0.9;
                double c = 0.4;
                LossValue v = new RollLoss(lambda, c, agg).value(net, x, y);
                DenseActivations fp = net.activations(x);
                double term = 0;
                for (int e = 0; e < 5; e++) {
                    double[] t = new double[net.numNeurons()];
                    int pos = 0;
                    for (int i = 0; i < net.numHidden(); i++) {
                        for (int u = 0; u < net.hiddenSize(i); u++) {
                            // gradient w.r.t. the normalised input = raw gradient * std
                            double g = RegionReference.norm(RegionReference.neuronGradient(net, fp, e, i, u), Norm.L2)
                                    * net.normalization().std(0);
                            double z = fp.preactHost()[i][e * net.hiddenSize(i) + u];
                            t[pos++] = g * g + c * Math.max(0, 1 - Math.abs(z));
                        }
                    }
                    Arrays.sort(t);
                    int k = agg.count(t.length);
                    double s = 0;
                    for (int j = t.length - k; j < t.length; j++) {
                        s += t[j];
                    }
                    term += s / k;
                }
                term /= 5;
                assertEquals(term, v.rollTerm(), 1e-10 * term, agg.spec());
                assertEquals(v.crossEntropy() + lambda * term, v.total(), 1e-10);
                assertEquals(v.crossEntropy(), RollLoss.vanilla().value(net, x, y).total(), 1e-12);
            }
        }
    }

    @Test
    void crossEntropyOfKnownLogits() {
        DenseNet net = TestNets.net(1, Activation.relu(), 2, 3, 2);
        net.params().assign(0); // all logits 0: CE = log K
        INDArray x = TestNets.uniform(1, 4, 2, 0, 1, DataType.DOUBLE);
        assertEquals(Math.log(2), RollLoss.vanilla().value(net, x, new int[] {0, 1, 1, 0}).crossEntropy(), 1e-12);
    }

    @Test
    void badLabelsAndSettingsAreRejected() {
        DenseNet net = TestNets.net(1, Activation.relu(), 2, 3, 2);
        INDArray x = TestNets.uniform(1, 2, 2, 0, 1, DataType.DOUBLE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RollLoss.vanilla().value(net, x, new int[] {0, 5}));
        assertEquals("label 5 of example 1 is outside [0, 2)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RollLoss.vanilla().value(net, x, new int[] {0}));
        assertThrows(IllegalArgumentException.class, () -> new RollLoss(-1, 1, Aggregation.mean()));
        assertThrows(IllegalArgumentException.class, () -> Aggregation.parse("150"));
        assertThrows(IllegalArgumentException.class, () -> RollLoss.vanilla().valueAndGradient(net, x,
                new int[] {0, 1}, Host.array(new double[3], DataType.DOUBLE, 3)));
    }
}
