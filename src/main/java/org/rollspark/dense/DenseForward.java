package org.rollspark.dense;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.reduce.floating.SquaredNorm;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.graph.GraphNet;
import org.rollspark.net.Activation;
import org.rollspark.net.Coordinates;
import org.rollspark.net.Forward;
import org.rollspark.net.Gradient;
import org.rollspark.net.Network.NeuronValues;
import org.rollspark.net.Neurons;
import org.rollspark.util.Blas;
import org.rollspark.util.Gather;
import org.rollspark.util.Host;

/**
 * A forward pass of a {@link DenseNet}, with the dense fast path of the exact ROLL term.
 *
 * <p>How the exact term is computed fast. The squared gradient norms of the neurons of layer i are
 * the row norms of {@code J^i = W^i S^{i-1} ... W^2 S^1 W^1}. Since they depend on W^1 only through
 * {@code W^1 W^1T}, the chain starts from {@code K^1 = W^1 Q}, where Q (D x r) is an orthonormal basis
 * of W^1's row space from a thin QR of {@code W^1T} (r = H_1 when H_1 < D): {@code K^i = J^i Q} has the
 * same row norms as {@code J^i} with r instead of D columns. The gradient with respect to W^1 is
 * {@code dL/dK^1 Q^T}, exact because any first-order change of W^1 W^1T is reproduced by K^1 with Q
 * held fixed ({@code W^1 Q Q^T = W^1}). Everything else is ordinary reverse mode through the chain
 * ({@link JacobianChain}); activation masks are constants.
 *
 * <p>Sampled coordinates run on the same network viewed as a {@link GraphNet} (same parameters).
 */
final class DenseForward implements Forward {
    private final DenseNet net;
    private final INDArray raw;
    private final DenseActivations fp;
    /** The gradient's per-layer views, or null. */
    private final DenseNet grad;
    private final List<Group> groups = new ArrayList<>();
    private Chain chain;
    /** The hidden weights' gradients hold the ROLL term's part: the base backward adds to them. */
    private boolean tangentWritten;
    private Forward sampled;

    DenseForward(DenseNet net, INDArray raw, DenseActivations fp, DenseNet grad) {
        this.net = net;
        this.raw = raw;
        this.fp = fp;
        this.grad = grad;
        for (int i = 0; i < net.numHidden(); i++) {
            groups.add(new Group(i));
        }
    }

    @Override
    public INDArray logits() {
        return fp.logits();
    }

    @Override
    public List<Group> neurons() {
        return groups;
    }

    @Override
    public NeuronValues values() {
        return fp.values();
    }

    /** A hidden layer's neurons; z materialised on request from the host pre-activations. */
    final class Group implements Neurons {
        private final int layer;
        private INDArray z;
        private INDArray dz;

        Group(int layer) {
            this.layer = layer;
        }

        @Override
        public int size() {
            return net.hiddenSize(layer);
        }

        @Override
        public INDArray z() {
            if (z == null) {
                z = Host.array(fp.preactHost()[layer], net.dataType(), fp.batchSize(), size());
            }
            return z;
        }

        @Override
        public INDArray valid() {
            return null;
        }

        @Override
        public void setZGradient(INDArray g) {
            this.dz = g;
        }
    }

    @Override
    public void squaredGradients(Coordinates draw, INDArray[] sq, INDArray[] weight) {
        if (weight != null && grad == null) {
            throw new IllegalStateException("back-propagation through a forward pass made without a gradient holder");
        }
        if (!draw.isAll()) {
            if (sampled == null) {
                sampled = GraphNet.dense(net.sizes(), net.activation(), net.normalization(), net.params())
                        .forward(raw, false, null, grad == null ? null : Gradient.of(grad.params()));
            }
            sampled.squaredGradients(draw, sq, weight);
            tangentWritten |= weight != null;
            return;
        }
        if (chain == null) {
            chain = forwardChain(grad != null);
        }
        int batch = fp.batchSize();
        if (sq != null) {
            for (int i = 0; i < chain.sq().length; i++) {
                int h = net.hiddenSize(i);
                if (i == 0) {
                    sq[0].addiRowVector(Host.array(chain.sq()[0], net.dataType(), 1, h));
                } else {
                    sq[i].addi(Host.array(chain.sq()[i], net.dataType(), batch, h));
                }
            }
        }
        if (weight != null) {
            double[][] u = new double[weight.length][];
            for (int i = 0; i < u.length; i++) {
                u[i] = Host.pull(weight[i]);
            }
            jacobianBackward(chain, u);
            tangentWritten = true;
        }
    }

    @Override
    public void backward(INDArray dLogits) {
        if (grad == null) {
            throw new IllegalStateException("back-propagation through a forward pass made without a gradient holder");
        }
        double[][] hinge = null;
        for (int i = 0; i < groups.size(); i++) {
            if (groups.get(i).dz != null) {
                if (hinge == null) {
                    hinge = new double[groups.size()][];
                }
                hinge[i] = Host.pull(groups.get(i).dz);
            }
        }
        backprop(Host.pull(dLogits), hinge, tangentWritten);
    }

    /** The Jacobian chain of the batch: per hidden layer its state, masked state and squared norms. */
    private record Chain(int rows, INDArray q, INDArray[] slopes, INDArray[] state, INDArray[] masked, double[][] sq,
            JacobianChain.Gathered[] gathered, int[][][] active) {}

    private Chain forwardChain(boolean keep) {
        int hidden = net.numHidden();
        int batch = fp.batchSize();
        INDArray w1 = net.weight(0);
        INDArray seed;
        INDArray q = null;
        if (net.hiddenSize(0) < net.inputSize()) {
            INDArray a = w1.transpose().dup('f');
            INDArray r = Nd4j.create(net.dataType(), net.hiddenSize(0), net.hiddenSize(0));
            Nd4j.getBlasWrapper().lapack().geqrf(a, r);
            q = a;
            seed = r.dup('c');
        } else {
            seed = w1.transpose().dup('c');
        }
        int rows = (int) seed.size(0);
        INDArray[] slopes = JacobianChain.slopes(net, fp);
        JacobianChain jc = new JacobianChain(net, slopes, seed);
        INDArray[] state = new INDArray[hidden];
        INDArray[] masked = new INDArray[hidden];
        double[][] sq = new double[hidden][];
        state[0] = seed;
        sq[0] = Host.pull(Nd4j.getExecutioner().exec(new SquaredNorm(seed, false, 0)));
        boolean sparse = jc.active(0) != null; // ReLU: the steps multiply the active units alone
        JacobianChain.Gathered[] gathered = sparse ? new JacobianChain.Gathered[hidden] : null;
        int[][][] active = sparse ? new int[hidden][][] : null;
        for (int i = 0; sparse && i < hidden; i++) {
            active[i] = jc.active(i);
        }
        for (int i = 1; i < hidden; i++) {
            if (sparse) {
                jc.advance();
                gathered[i - 1] = keep ? jc.gathered() : null;
            } else if (keep && i > 1) {
                // the first layer's masked state is never materialised (see jacobianBackward)
                masked[i - 1] = jc.masked();
                jc.advance(masked[i - 1]);
            } else {
                jc.advance();
            }
            if (keep) {
                state[i] = jc.state();
            }
            sq[i] = squaredColumnNorms(jc.state(), batch, rows);
        }
        return new Chain(rows, q, slopes, state, masked, sq, gathered, active);
    }

    /**
     * Reverse mode through the Jacobian chain, from {@code u} = dLoss / d(squared norm) per neuron:
     * with S^i = dLoss/dT^i (B*r, H_i), {@code dW^i = S^iT (T^{i-1} * slopes)},
     * {@code S^{i-1} = (S^i W^i) * slopes + 2 T^{i-1} * u^{i-1}}, and at the first layer
     * {@code dW^1 = (sum_b S^1_b)^T Q^T}. Writes (does not accumulate) the hidden weights' gradients.
     */
    private void jacobianBackward(Chain ch, double[][] u) {
        DenseNet g = grad;
        int hidden = net.numHidden();
        int rows = ch.rows();
        int batch = (int) ch.slopes()[0].size(0);
        INDArray s = null;
        if (ch.gathered() != null) {
            // ReLU: the active units alone, on the operands the forward steps gathered
            if (hidden > 1) {
                s = direct(ch, hidden - 1, u, batch, rows);
                for (int i = hidden - 1; i >= 1; i--) {
                    // the propagated part lands on the direct term of layer i - 1 (on the shared seed's sum at the first)
                    INDArray into = i > 1 ? direct(ch, i - 1, u, batch, rows) : null;
                    s = activeBackward(s, ch.gathered()[i - 1], ch.active()[i - 1], rows, g.weight(i), into);
                }
            }
        } else {
            for (int i = hidden - 1; i >= 1; i--) {
                INDArray direct = direct(ch, i, u, batch, rows);
                s = s == null ? direct : s.addi(direct);
                if (i == 1) {
                    // dW^2 = sum_b S_b^T (seed * slopes_b): per-example GEMMs against the scaled shared seed
                    INDArray gw = g.weight(1);
                    for (int b = 0; b < batch; b++) {
                        INDArray sb = s.get(NDArrayIndex.interval((long) b * rows, (long) (b + 1) * rows), NDArrayIndex.all());
                        INDArray seedB = ch.state()[0].mulRowVector(ch.slopes()[0].getRow(b));
                        Blas.gemm(sb, true, seedB, false, gw, 1.0, b == 0 ? 0.0 : 1.0);
                    }
                } else {
                    INDArray prevMasked = ch.masked()[i - 1];
                    INDArray prev = prevMasked.reshape('c', (long) batch * rows, prevMasked.size(2));
                    Blas.gemm(s, true, prev, false, g.weight(i), 1.0, 0.0);
                }
                INDArray p = Blas.product(s, false, net.weight(i), false);
                s = scale(p, batch, rows, ch.slopes()[i - 1], p);
            }
        }
        int h1 = net.hiddenSize(0);
        double[] uSum = new double[h1];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < h1; j++) {
                uSum[j] += 2 * u[0][b * h1 + j];
            }
        }
        INDArray seedGrad = ch.state()[0].mulRowVector(Host.array(uSum, net.dataType(), h1));
        if (s != null) {
            seedGrad.addi(ch.gathered() != null ? s : s.reshape('c', batch, rows, h1).sum(0)); // summed already, or not
        }
        if (ch.q() != null) {
            Blas.gemm(seedGrad, true, ch.q(), true, g.weight(0), 1.0, 0.0);
        } else {
            g.weight(0).assign(seedGrad.transpose());
        }
    }

    /**
     * Squared norms of each example's columns of a (B*r, H) state, (B*H): one pass over memory, float
     * accumulators for float32 states (the loop vectorises; ND4J's reduction along the middle axis of (B, r, H) took
     * three times as long).
     */
    static double[] squaredColumnNorms(INDArray t, int batch, int rows) {
        INDArray c = Host.isDense(t) ? t : t.dup('c');
        int h = (int) c.size(1);
        double[] out = new double[batch * h];
        int off = Math.toIntExact(c.offset());
        if (c.dataType() == DataType.FLOAT) {
            java.nio.FloatBuffer fb = c.data().asNioFloat();
            float[] row = new float[h];
            float[] acc = new float[h];
            for (int b = 0; b < batch; b++) {
                java.util.Arrays.fill(acc, 0);
                for (int k = 0; k < rows; k++) {
                    fb.get(off + (b * rows + k) * h, row, 0, h);
                    for (int j = 0; j < h; j++) {
                        acc[j] += row[j] * row[j];
                    }
                }
                for (int j = 0; j < h; j++) {
                    out[b * h + j] = acc[j];
                }
            }
        } else {
            double[] all = Host.pull(c);
            for (int b = 0; b < batch; b++) {
                for (int k = 0; k < rows; k++) {
                    for (int j = 0; j < h; j++) {
                        double v = all[(b * rows + k) * h + j];
                        out[b * h + j] += v * v;
                    }
                }
            }
        }
        java.lang.ref.Reference.reachabilityFence(c); // the NIO view keeps no array alive (see Host)
        java.lang.ref.Reference.reachabilityFence(t);
        return out;
    }

    /** dLoss/dT^i through the squared norms alone: {@code 2 T^i * u^i}, (B*r, H_i), a new array. */
    private INDArray direct(Chain ch, int i, double[][] u, int batch, int rows) {
        return scale(ch.state()[i], batch, rows, Host.array(twice(u[i]), net.dataType(), batch, net.hiddenSize(i)), null);
    }

    /**
     * One layer of the reverse chain on the active units alone (ReLU), from {@code s} = dLoss/dT^i, (B*r, H_i),
     * and the operands the forward step from layer i-1 gathered ({@code A_b} the active units of layer i-1, the
     * others' slope 0): writes {@code dW^i}, whose columns A_b get {@code S_b^T T_b[:, A_b]} from example b, and
     * adds dLoss/dT^{i-1} through the masks, {@code (S_b W^i)[:, A_b]} in columns A_b, to {@code into},
     * (B*r, H_{i-1}), which it returns; with {@code into} null (the first layer, whose seed is shared) to a new
     * (r, H_1) array, summed over the examples.
     */
    private INDArray activeBackward(INDArray s, JacobianChain.Gathered fw, int[][] active, int rows, INDArray dw,
            INDArray into) {
        int batch = active.length;
        int h = (int) dw.size(0);
        int prev = (int) dw.size(1);
        DataType type = s.dataType();
        INDArray dwt = Nd4j.zeros(type, prev, h); // dW^T: example b's part lands in its rows A_b
        INDArray out = into != null ? into : Nd4j.zeros(type, rows, prev);
        INDArray rowsScratch = Nd4j.createUninitialized(type, prev, h);
        INDArray colsScratch = Nd4j.createUninitialized(type, rows, prev);
        for (int b = 0; b < batch; b++) {
            int[] a = active[b];
            if (a.length == 0) {
                continue;
            }
            INDArray sb = s.get(NDArrayIndex.interval((long) b * rows, (long) (b + 1) * rows), NDArrayIndex.all());
            INDArray part = rowsScratch.get(NDArrayIndex.interval(0, a.length), NDArrayIndex.all()); // (a, H_i)
            Blas.gemm(fw.states()[b], true, sb, false, part, 1.0, 0.0);
            Gather.addRows(part, a, dwt);
            INDArray back = colsScratch.get(NDArrayIndex.all(), NDArrayIndex.interval(0, a.length)); // (r, a)
            Blas.gemm(sb, false, fw.weights()[b], true, back, 1.0, 0.0);
            Gather.addColumns(back, a, into == null ? out
                    : out.get(NDArrayIndex.interval((long) b * rows, (long) (b + 1) * rows), NDArrayIndex.all()));
        }
        dw.assign(dwt.transpose());
        return out;
    }

    private static double[] twice(double[] v) {
        double[] o = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            o[i] = 2 * v[i];
        }
        return o;
    }

    /** {@code t * perExample} with t viewed as (B, r, H) and perExample (B, H); into {@code out} or new. */
    private static INDArray scale(INDArray t, int batch, int rows, INDArray perExample, INDArray out) {
        long h = t.size(1);
        INDArray t3 = t.reshape('c', batch, rows, h);
        INDArray o = out == null ? Nd4j.createUninitialized(t.dataType(), batch, rows, h) : out.reshape('c', batch, rows, h);
        Nd4j.getExecutioner().exec(new BroadcastMulOp(t3, perExample, o, 0, 2));
        return o.reshape('c', (long) batch * rows, h);
    }

    /**
     * Ordinary back-propagation of {@code dLogits} (plus the loss's extra gradients with respect to the
     * hidden pre-activations, per layer or null) into every weight and bias. With {@code accumulate},
     * hidden weight gradients are added to what is there; everything else is overwritten.
     */
    private void backprop(double[] dLogits, double[][] dz, boolean accumulate) {
        DenseNet g = grad;
        int batch = fp.batchSize();
        Activation act = net.activation();
        double[] delta = dLogits;
        for (int l = net.numLayers() - 1; l >= 0; l--) {
            int out = net.sizes()[l + 1];
            INDArray d = Host.array(delta, net.dataType(), batch, out);
            boolean hiddenWeight = l < net.numHidden();
            Blas.gemm(d, true, fp.layerInput(l), false, g.weight(l), 1.0, accumulate && hiddenWeight ? 1.0 : 0.0);
            double[] db = new double[out];
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < out; j++) {
                    db[j] += delta[b * out + j];
                }
            }
            Host.push(db, g.bias(l));
            if (l > 0) {
                double[] dh = Host.pull(Blas.product(d, false, net.weight(l), false));
                double[] z = fp.preactHost()[l - 1];
                double[] extra = dz == null ? null : dz[l - 1];
                for (int k = 0; k < dh.length; k++) {
                    dh[k] *= act.slope(z[k]);
                    if (extra != null) {
                        dh[k] += extra[k];
                    }
                }
                delta = dh;
            }
        }
    }
}
