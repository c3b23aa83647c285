package org.rollspark.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.TestNets;
import org.rollspark.net.Activation;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.util.Host;

/** Layer forward passes against naive loops, and architecture errors. */
class LayerTest {

    @Test
    void convolutionMatchesTheDefinition() {
        for (int[] cfg : new int[][] {{3, 1, 1}, {3, 2, 1}, {1, 2, 0}, {2, 2, 0}, {3, 1, 0}}) {
            int k = cfg[0];
            int s = cfg[1];
            int pad = cfg[2];
            int c = 2;
            int h = 7;
            int w = 6;
            int o = 3;
            String json = "[{\"type\": \"conv2d\", \"filters\": " + o + ", \"kernel\": " + k + ", \"stride\": " + s
                    + ", \"padding\": " + pad + "}, {\"type\": \"relu\"}, {\"type\": \"dense\", \"units\": 2}]";
            GraphNet net = GraphNet.init(new int[] {c, h, w}, TestNets.layers(json), Normalization.identity(),
                    Init.UNIFORM_FAN_IN, 3, DataType.DOUBLE);
            INDArray x = TestNets.uniform(1, 2, c * h * w, -1, 1, DataType.DOUBLE);
            double[] z = Host.pull(net.forward(x, false, null, null).neurons().get(0).z());
            Layer.Param wp = net.parameterTensors().get(0);
            double[] wt = Host.pull(net.tensor(wp));
            double[] b = Host.pull(net.tensor(net.parameterTensors().get(1)));
            double[] xs = Host.pull(x);
            int oh = (h + 2 * pad - k) / s + 1;
            int ow = (w + 2 * pad - k) / s + 1;
            assertEquals(2 * o * oh * ow, z.length);
            for (int n = 0; n < 2; n++) {
                for (int f = 0; f < o; f++) {
                    for (int i = 0; i < oh; i++) {
                        for (int j = 0; j < ow; j++) {
                            double sum = b[f];
                            for (int ch = 0; ch < c; ch++) {
                                for (int u = 0; u < k; u++) {
                                    for (int v = 0; v < k; v++) {
                                        int r = i * s + u - pad;
                                        int q = j * s + v - pad;
                                        if (r >= 0 && r < h && q >= 0 && q < w) {
                                            sum += wt[((f * c + ch) * k + u) * k + v] * xs[((n * c + ch) * h + r) * w + q];
                                        }
                                    }
                                }
                            }
                            assertEquals(sum, z[((n * o + f) * oh + i) * ow + j], 1e-12, "k" + k + " s" + s + " p" + pad);
                        }
                    }
                }
            }
        }
    }

    @Test
    void averagePoolingAndBatchNormMatchTheDefinition() {
        String json = "[{\"type\": \"avgpool\", \"kernel\": 2}, {\"type\": \"batchnorm\"}, {\"type\": \"relu\"},"
                + " {\"type\": \"dense\", \"units\": 2}]";
        GraphNet net = GraphNet.init(new int[] {2, 4, 4}, TestNets.layers(json), Normalization.identity(),
                Init.UNIFORM_FAN_IN, 3, DataType.DOUBLE);
        INDArray x = TestNets.uniform(2, 5, 32, -1, 1, DataType.DOUBLE);
        double[] xs = Host.pull(x);
        // training mode: batch statistics per channel over examples and positions
        double[] z = Host.pull(net.forward(x, true, null, null).neurons().get(0).z());
        double[] pooled = new double[5 * 2 * 4];
        for (int n = 0; n < 5; n++) {
            for (int ch = 0; ch < 2; ch++) {
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < 2; j++) {
                        double sum = 0;
                        for (int u = 0; u < 2; u++) {
                            for (int v = 0; v < 2; v++) {
                                sum += xs[((n * 2 + ch) * 4 + 2 * i + u) * 4 + 2 * j + v];
                            }
                        }
                        pooled[((n * 2 + ch) * 2 + i) * 2 + j] = sum / 4;
                    }
                }
            }
        }
        for (int ch = 0; ch < 2; ch++) {
            double mean = 0;
            double sq = 0;
            for (int n = 0; n < 5; n++) {
                for (int p = 0; p < 4; p++) {
                    mean += pooled[(n * 2 + ch) * 4 + p] / 20;
                }
            }
            for (int n = 0; n < 5; n++) {
                for (int p = 0; p < 4; p++) {
                    double d = pooled[(n * 2 + ch) * 4 + p] - mean;
                    sq += d * d / 20;
                }
            }
            for (int n = 0; n < 5; n++) {
                for (int p = 0; p < 4; p++) {
                    int at = (n * 2 + ch) * 4 + p;
                    assertEquals((pooled[at] - mean) / Math.sqrt(sq + (double) 1e-5f), z[at], 1e-12); // eps is a float32
                }
            }
        }
    }

    @Test
    void refusesWhatIsNotPiecewiseLinearOrSupported() {
        int[] img = {1, 8, 8};
        for (String[] bad : new String[][] {
                {"[{\"type\": \"maxpool\", \"kernel\": 2}, {\"type\": \"relu\"}, {\"type\": \"dense\", \"units\": 2}]", "max pooling"},
                {"[{\"type\": \"dense\", \"units\": 4}, {\"type\": \"tanh\"}, {\"type\": \"dense\", \"units\": 2}]", "not piecewise linear"},
                {"[{\"type\": \"lstm\", \"hidden\": 4}, {\"type\": \"dense\", \"units\": 2}]", "not piecewise linear"},
                {"[{\"type\": \"conv2d\", \"filters\": 2, \"kernal\": 3}, {\"type\": \"relu\"}, {\"type\": \"dense\", \"units\": 2}]", "unknown key 'kernal'"},
                {"[{\"type\": \"dense\", \"units\": 2}]", "no activation"},
                {"[{\"type\": \"avgpool\", \"kernel\": 3}, {\"type\": \"relu\"}, {\"type\": \"dense\", \"units\": 2}]", "tile"},
                {"[{\"type\": \"residual\", \"main\": [{\"type\": \"conv2d\", \"filters\": 3, \"kernel\": 3, \"padding\": 1}]},"
                        + " {\"type\": \"dense\", \"units\": 2}]", "projection shortcut"},
                {"[{\"type\": \"rnn\", \"hidden\": 4}, {\"type\": \"dense\", \"units\": 2}]", "(steps, features)"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GraphNet.init(img, TestNets.layers(bad[0]), Normalization.identity(), Init.UNIFORM_FAN_IN, 1,
                            DataType.FLOAT));
            assertTrue(e.getMessage().contains(bad[1]), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new Act(img, Activation.parse("sigmoid")));
    }
}
