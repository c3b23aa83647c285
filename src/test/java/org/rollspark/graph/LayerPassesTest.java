package org.rollspark.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.TestNets;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.util.Host;

/**
 * The four passes of every layer type, each layer alone over its own parameter vector, in float64 and
 * inference mode: the tangent pass is the directional derivative of forward (central differences),
 * backward is the adjoint of the tangent map and its parameter gradient the derivative of
 * {@code <dy, forward>} (central differences along a random direction), and the tangent backward is the
 * adjoint of the tangent map with the parameter gradient of {@code <dt, tangent>} (completed, as in the
 * loss, by the base backward that follows it). Windowed tangents
 * (local receptive fields through full-resolution layers) are checked against whole maps.
 */
class LayerPassesTest {
    private static final double H = 1e-6;
    private static final int BATCH = 3;

    @Test
    void dense() {
        checkPasses("{\"type\": \"dense\", \"units\": 4}", new int[] {5}, null);
        checkPasses("{\"type\": \"dense\", \"units\": 3, \"bias\": false}", new int[] {2, 3, 2}, null);
    }

    @Test
    void convolution() {
        checkPasses("{\"type\": \"conv2d\", \"filters\": 3, \"kernel\": 3, \"padding\": 1}", new int[] {2, 5, 5}, null);
        checkPasses("{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 2, \"stride\": 2}", new int[] {3, 6, 4}, null);
        checkPasses("{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 1, \"bias\": false}", new int[] {2, 3, 3}, null);
    }

    @Test
    void pooling() {
        checkPasses("{\"type\": \"avgpool\", \"kernel\": 2}", new int[] {2, 4, 6}, null);
        checkPasses("{\"type\": \"global_avgpool\"}", new int[] {3, 3, 3}, null);
    }

    @Test
    void batchNormInInference() {
        checkPasses("{\"type\": \"batchnorm\"}", new int[] {2, 3, 3}, null);
        checkPasses("{\"type\": \"batchnorm\", \"eps\": 0.001}", new int[] {4}, null);
    }

    @Test
    void activations() {
        checkPasses("{\"type\": \"relu\"}", new int[] {2, 3, 3}, null);
        checkPasses("{\"type\": \"leaky_relu\", \"alpha\": 0.2}", new int[] {7}, null);
    }

    @Test
    void residualBlocks() {
        checkPasses("{\"type\": \"residual\", \"main\": [{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 3, \"padding\": 1},"
                + " {\"type\": \"relu\"}, {\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 3, \"padding\": 1}],"
                + " \"activation\": \"leaky_relu:0.1\"}", new int[] {2, 4, 4}, null);
        checkPasses("{\"type\": \"residual\", \"main\": [{\"type\": \"conv2d\", \"filters\": 3, \"kernel\": 3, \"stride\": 2,"
                + " \"padding\": 1}, {\"type\": \"batchnorm\"}, {\"type\": \"relu\"}],"
                + " \"shortcut\": [{\"type\": \"conv2d\", \"filters\": 3, \"kernel\": 1, \"stride\": 2}]}", new int[] {2, 4, 4},
                null);
    }

    @Test
    void recurrent() {
        checkPasses("{\"type\": \"rnn\", \"hidden\": 3, \"activation\": \"leaky_relu:0.1\"}", new int[] {4, 2}, null);
        checkPasses("{\"type\": \"rnn\", \"hidden\": 3, \"recurrent_init\": \"identity\"}", new int[] {4, 2},
                new int[] {4, 2, 3});
    }

    @Test
    void windowedTangentsMatchWholeMapsLayerByLayer() {
        for (String spec : new String[] {
            "{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 3, \"padding\": 1}",
            "{\"type\": \"batchnorm\"}",
            "{\"type\": \"leaky_relu\", \"alpha\": 0.3}",
            "{\"type\": \"residual\", \"main\": [{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 3, \"padding\": 1},"
                    + " {\"type\": \"relu\"}, {\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 3, \"padding\": 1}]}"}) {
            GraphNet net = GraphNet.init(new int[] {2, 9, 9}, TestNets.layers("[" + spec + ", {\"type\": \"relu\"},"
                    + " {\"type\": \"dense\", \"units\": 3}]"), Normalization.scalar(0.1, 0.8), Init.UNIFORM_FAN_IN, 5,
                    DataType.DOUBLE);
            assertTrue(net.windowedLayers() > 0, spec + " runs its tangents in windows");
            INDArray x = TestNets.uniform(6, 2, net.inputSize(), -1, 1, DataType.DOUBLE);
            int d = net.inputSize();
            int[] coords = new int[2 * d];
            for (int q = 0; q < coords.length; q++) {
                coords[q] = q % d;
            }
            INDArray[][] tangents = new INDArray[2][];
            INDArray[] logits = new INDArray[2];
            for (int w = 0; w < 2; w++) {
                net.useWindows(w == 0);
                GraphForward fw = net.forward(x, false, null, null);
                INDArray body = fw.tangentBasis(coords, null, d);
                logits[w] = fw.logitTangent(body).dup();
                tangents[w] = new INDArray[fw.neurons().size()];
                for (int i = 0; i < tangents[w].length; i++) {
                    tangents[w][i] = fw.neurons().get(i).tangent().dup();
                }
            }
            net.useWindows(true);
            for (int i = 0; i < tangents[0].length; i++) {
                assertClose(tangents[1][i], tangents[0][i], 1e-12, spec + ": tangents of neuron group " + i);
            }
            assertClose(logits[1], logits[0], 1e-12, spec + ": logit tangents");
        }
    }

    // ------------------------------------------------------------------------------------ the harness

    /** One layer (and its children) over its own seeded float64 parameter vector. */
    private static final class Rig {
        final Layer layer;
        final INDArray params;
        final long numParams;
        final int[] lengths;

        Rig(String spec, int[] in, int[] lengths) {
            this.layer = LayerSpecs.build(TestNets.layers("[" + spec + "]"), in, "layers").get(0);
            this.numParams = layer.place(0);
            this.lengths = lengths;
            SplittableRandom rng = new SplittableRandom(spec.hashCode());
            double[] p = new double[(int) Math.max(1, numParams)];
            for (int i = 0; i < p.length; i++) {
                p[i] = rng.nextDouble(-0.8, 0.8);
            }
            for (Layer l : Layer.flatten(layer)) {
                for (Layer.Param q : l.params()) {
                    if (q.role() == Layer.Role.RUNNING_VAR) {
                        for (long i = q.offset(); i < q.offset() + q.size(); i++) {
                            p[(int) i] = rng.nextDouble(0.5, 1.5);
                        }
                    }
                }
            }
            this.params = Host.array(p, DataType.DOUBLE, p.length);
        }

        Tape tape(INDArray grads) {
            return new Tape(params, grads, BATCH, false, lengths);
        }

        /** A random direction over the trainable parameters (running statistics have no gradient). */
        INDArray direction(long seed) {
            double[] u = Host.pull(TestNets.uniform(seed, 1, (int) params.length(), -1, 1,
                    DataType.DOUBLE));
            for (Layer l : Layer.flatten(layer)) {
                for (Layer.Param q : l.params()) {
                    if (!q.role().trainable()) {
                        java.util.Arrays.fill(u, (int) q.offset(), (int) (q.offset() + q.size()), 0);
                    }
                }
            }
            return Host.array(u, DataType.DOUBLE, u.length);
        }

        /** {@code f(params + s u)} evaluated, then the parameters restored. */
        double shifted(INDArray u, double s, java.util.function.DoubleSupplier f) {
            INDArray keep = params.dup();
            params.addi(u.mul(s));
            try {
                return f.getAsDouble();
            } finally {
                params.assign(keep);
            }
        }
    }

    private static void checkPasses(String spec, int[] in, int[] lengths) {
        Rig r = new Rig(spec, in, lengths);
        Layer l = r.layer;
        int inSize = l.inSize();
        int outSize = l.outSize();
        INDArray x = TestNets.uniform(11, BATCH, inSize, -1, 1, DataType.DOUBLE);
        INDArray t = TestNets.uniform(12, BATCH, inSize, -1, 1, DataType.DOUBLE);
        INDArray dy = TestNets.uniform(13, BATCH, outSize, -1, 1, DataType.DOUBLE);

        // tangent = directional derivative of forward
        INDArray tangent = tangent(r, x, t);
        INDArray fd = l.forward(x.add(t.mul(H)), r.tape(null)).sub(l.forward(x.sub(t.mul(H)), r.tape(null))).divi(2 * H);
        assertClose(fd, tangent, 1e-6, spec + ": tangent against central differences of forward");

        // backward: the adjoint of the tangent map, and d<dy, forward>/d params
        INDArray grads = Nd4j.zeros(DataType.DOUBLE, r.params.length());
        Tape pb = r.tape(grads);
        l.forward(x, pb);
        INDArray dx = l.backward(dy, pb, true);
        assertEquals(dot(dy, tangent), dot(dx, t), 1e-10 * (1 + Math.abs(dot(dy, tangent))), spec + ": backward is the adjoint");
        if (r.numParams > 0) {
            INDArray u = r.direction(14);
            double up = r.shifted(u, H, () -> dot(dy, l.forward(x, r.tape(null))));
            double down = r.shifted(u, -H, () -> dot(dy, l.forward(x, r.tape(null))));
            assertEquals((up - down) / (2 * H), dot(grads, u), 1e-6 * (1 + Math.abs(dot(grads, u))),
                    spec + ": parameter gradient of backward");
        }

        // tangent backward: the adjoint of the tangent map, and d<dt, tangent>/d params (masks held)
        INDArray dt = TestNets.uniform(15, BATCH, outSize, -1, 1, DataType.DOUBLE);
        INDArray gradsT = Nd4j.zeros(DataType.DOUBLE, r.params.length());
        Tape pt = r.tape(gradsT);
        l.forward(x, pt);
        pt.tangents(1);
        l.tangent(t, pt);
        INDArray dtIn = l.backwardTangent(dt, pt, true);
        // the base backward runs after the tangent backward and completes what the latter deferred (batch norm's scale)
        l.backward(Nd4j.zeros(DataType.DOUBLE, BATCH, outSize), pt, false);
        INDArray t2 = TestNets.uniform(16, BATCH, inSize, -1, 1, DataType.DOUBLE);
        assertEquals(dot(dt, tangent(r, x, t2)), dot(dtIn, t2), 1e-10 * (1 + Math.abs(dot(dtIn, t2))),
                spec + ": tangent backward is the adjoint of the tangent map");
        if (r.numParams > 0) {
            INDArray u = r.direction(17);
            double up = r.shifted(u, H, () -> dot(dt, tangent(r, x, t)));
            double down = r.shifted(u, -H, () -> dot(dt, tangent(r, x, t)));
            assertEquals((up - down) / (2 * H), dot(gradsT, u), 1e-6 * (1 + Math.abs(dot(gradsT, u))),
                    spec + ": parameter gradient of the tangent backward");
        }
    }

    /** The tangent pass at base point x applied to one tangent row per example. */
    private static INDArray tangent(Rig r, INDArray x, INDArray t) {
        Tape p = r.tape(null);
        r.layer.forward(x, p);
        p.tangents(1);
        return r.layer.tangent(t, p);
    }

    private static double dot(INDArray a, INDArray b) {
        double[] x = Host.pull(a);
        double[] y = Host.pull(b);
        assertEquals(x.length, y.length);
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += x[i] * y[i];
        }
        return s;
    }

    private static void assertClose(INDArray expected, INDArray actual, double tol, String what) {
        double[] e = Host.pull(expected);
        double[] a = Host.pull(actual);
        assertEquals(e.length, a.length, what + ": size");
        double scale = 0;
        double err = 0;
        for (int i = 0; i < e.length; i++) {
            scale = Math.max(scale, Math.abs(e[i]));
            err = Math.max(err, Math.abs(e[i] - a[i]));
        }
        assertTrue(err <= tol * Math.max(1, scale), what + ": max error " + err + " (scale " + scale + ")");
    }
}
