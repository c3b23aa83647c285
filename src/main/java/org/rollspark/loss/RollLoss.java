package org.rollspark.loss;

import java.util.Arrays;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.reduce.floating.SquaredNorm;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.graph.GraphNet;
import org.rollspark.net.DenseNet;
import org.rollspark.net.Network;
import org.rollspark.net.ForwardPass;
import org.rollspark.region.JacobianChain;
import org.rollspark.util.Host;
import org.rollspark.util.Workspaces;

/**
 * The ROLL loss, exact (METHOD.md section 4): per example,
 * {@code CE(f(x), y) + lambda * aggregate_j t_j} with {@code t_j = ||grad_x z_j||_2^2 + C max(0, 1 - |z_j|)},
 * gradients taken with respect to the NORMALISED input; the batch loss is the mean over examples.
 * {@code lambda = 0} is the vanilla cross-entropy loss.
 *
 * <p>How it is computed. The squared gradient norms of the neurons of layer i are the row norms of
 * {@code J^i = W^i S^{i-1} ... W^2 S^1 W^1}. Since they depend on W^1 only through {@code W^1 W^1T},
 * the chain starts from {@code K^1 = W^1 Q}, where Q (D x r) is an orthonormal basis of W^1's row
 * space from a thin QR of {@code W^1T} (r = H_1 when H_1 < D): {@code K^i = J^i Q} has the same row
 * norms as {@code J^i} with r instead of D columns. The gradient with respect to W^1 is
 * {@code dL/dK^1 Q^T}, exact because any first-order change of W^1 W^1T is reproduced by K^1 with Q
 * held fixed ({@code W^1 Q Q^T = W^1}). Everything else is ordinary reverse-mode through the chain;
 * activation masks are constants, so the gradient flows through z (hinge) and the weights only.
 */
public final class RollLoss implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final double lambda;
    private final double c;
    private final Aggregation aggregation;
    private final Sampling sampling;

    public RollLoss(double lambda, double c, Aggregation aggregation) {
        this(lambda, c, aggregation, Sampling.exact());
    }

    public RollLoss(double lambda, double c, Aggregation aggregation, Sampling sampling) {
        if (!(lambda >= 0) || !Double.isFinite(lambda)) {
            throw new IllegalArgumentException("roll lambda must be finite and >= 0, got " + lambda);
        }
        if (!(c >= 0) || !Double.isFinite(c)) {
            throw new IllegalArgumentException("roll C must be finite and >= 0, got " + c);
        }
        this.lambda = lambda;
        this.c = c;
        this.aggregation = aggregation;
        this.sampling = sampling;
        if (!sampling.isExact() && !aggregation.isMean()) {
            throw new IllegalArgumentException("sampled ROLL (roll.samples = " + sampling.coordinates()
                    + ") is unbiased only for the mean over neurons (gamma = 100), not " + aggregation.spec());
        }
    }

    /** The same loss with the gradient term sampled over input coordinates (or exact again). */
    public RollLoss withSampling(Sampling s) {
        return new RollLoss(lambda, c, aggregation, s);
    }

    public Sampling sampling() {
        return sampling;
    }

    public static RollLoss vanilla() {
        return new RollLoss(0, 0, Aggregation.mean());
    }

    public static RollLoss roll(double lambda, double c) {
        return new RollLoss(lambda, c, Aggregation.mean());
    }

    public double lambda() {
        return lambda;
    }

    public double c() {
        return c;
    }

    public Aggregation aggregation() {
        return aggregation;
    }

    public boolean isVanilla() {
        return lambda == 0;
    }

    /** A reusable gradient holder for one network: the flat vector and, for dense nets, its layer views. */
    public static final class Gradient {
        private final INDArray flat;
        private final DenseNet dense;

        private Gradient(INDArray flat, DenseNet dense) {
            this.flat = flat;
            this.dense = dense;
        }

        /** The flat gradient, laid out like the network's parameters. */
        public INDArray flat() {
            return flat;
        }
    }

    public Gradient gradientFor(Network net) {
        if (net instanceof DenseNet d) {
            DenseNet g = d.gradientBuffer();
            return new Gradient(g.params(), g);
        }
        return new Gradient(Nd4j.zeros(net.dataType(), net.params().length()), null);
    }

    /**
     * Loss and gradient of a training step (batch norm on batch statistics) for any network. Dense
     * networks with the exact loss take the fast dense path; everything else goes through
     * {@link GraphLoss}. {@code seed} draws the sampled coordinates of a sampled loss.
     */
    public LossValue valueAndGradient(Network net, INDArray raw, int[] labels, Gradient g, long seed) {
        return valueAndGradient(net, raw, labels, null, g, seed);
    }

    /** {@link #valueAndGradient(Network, INDArray, int[], Gradient, long)} of padded sequences with lengths (or null). */
    public LossValue valueAndGradient(Network net, INDArray raw, int[] labels, int[] lengths, Gradient g, long seed) {
        if (lengths == null && net instanceof DenseNet d && sampling.isExact() && g.dense != null) {
            return compute(d, raw, labels, g.dense);
        }
        return GraphLoss.compute(this, graphFor(net, lengths), raw, labels, lengths, g.flat, seed, true);
    }

    /**
     * The loss of a batch in inference mode, without gradients (validation). A sampled loss is
     * estimated with a fixed seed, so that epochs are compared on the same draw.
     */
    public LossValue value(Network net, INDArray raw, int[] labels) {
        return value(net, raw, labels, null);
    }

    /** {@link #value(Network, INDArray, int[])} of padded sequences with lengths (or null). */
    public LossValue value(Network net, INDArray raw, int[] labels, int[] lengths) {
        if (lengths == null && net instanceof DenseNet d && sampling.isExact()) {
            return value(d, raw, labels);
        }
        return GraphLoss.compute(this, graphFor(net, lengths), raw, labels, lengths, null, VALIDATION_SEED, false);
    }

    private static GraphNet graphFor(Network net, int[] lengths) {
        if (lengths != null && !(net instanceof GraphNet)) {
            throw new IllegalArgumentException("sequence lengths need a graph network with a recurrent layer");
        }
        return asGraph(net);
    }

    private static final long VALIDATION_SEED = 0x5EEDL;

    private static GraphNet asGraph(Network net) {
        return net instanceof GraphNet g ? g : GraphNet.fromDense((DenseNet) net);
    }

    /** The loss of a raw (B, D) batch with integer labels, without gradients. */
    public LossValue value(DenseNet net, INDArray raw, int[] labels) {
        return compute(net, raw, labels, null);
    }

    /**
     * The loss and its gradient with respect to every parameter, written into {@code grad}, a flat
     * vector laid out like {@link DenseNet#params()} (overwritten, not accumulated).
     */
    public LossValue valueAndGradient(DenseNet net, INDArray raw, int[] labels, INDArray grad) {
        return valueAndGradient(net, raw, labels, DenseNet.of(net.sizes(), net.activation(), net.normalization(), grad));
    }

    /**
     * The loss and its gradient, written into the parameters of {@code grad} (from
     * {@link DenseNet#gradientBuffer()}; reuse it across steps, building its views costs ~0.1 ms).
     */
    public LossValue valueAndGradient(DenseNet net, INDArray raw, int[] labels, DenseNet grad) {
        if (!java.util.Arrays.equals(grad.sizes(), net.sizes()) || grad.dataType() != net.dataType()) {
            throw new IllegalArgumentException("gradient buffer of sizes " + java.util.Arrays.toString(grad.sizes()) + " "
                    + grad.dataType() + " for a " + java.util.Arrays.toString(net.sizes()) + " " + net.dataType() + " network");
        }
        return compute(net, raw, labels, grad);
    }

    private LossValue compute(DenseNet net, INDArray raw, int[] labels, DenseNet grad) {
        try (MemoryWorkspace ws = Workspaces.open(grad == null ? "roll-loss-value" : "roll-loss-gradient")) {
            return computeInScope(net, raw, labels, grad);
        }
    }

    private LossValue computeInScope(DenseNet net, INDArray raw, int[] labels, DenseNet grad) {
        ForwardPass fp = net.forward(raw);
        int batch = fp.batchSize();
        int k = net.outputSize();
        if (labels.length != batch) {
            throw new IllegalArgumentException(labels.length + " labels for a batch of " + batch);
        }
        double[] dLogits = new double[batch * k];
        CrossEntropy xe = CrossEntropy.of(Host.pull(fp.logits()), labels, k, dLogits);
        double ce = xe.mean();
        int correct = xe.correct();
        if (lambda == 0) {
            if (grad != null) {
                backprop(net, fp, dLogits, null, grad, false);
            }
            return new LossValue(ce, ce, 0, correct, batch);
        }
        Chain chain = forwardChain(net, fp, grad != null);
        NeuronWeights nw = aggregate(net, fp, chain.sq, batch);
        if (grad != null) {
            jacobianBackward(net, chain, nw.u, grad);
            backprop(net, fp, dLogits, nw.hinge, grad, true);
        }
        return new LossValue(ce + lambda * nw.rollTerm, ce, nw.rollTerm, correct, batch);
    }

    /** The Jacobian chain of one batch: per hidden layer its state, masked state and squared norms. */
    private record Chain(int rows, INDArray q, INDArray[] slopes, INDArray[] state, INDArray[] masked,
            double[][] sq) {}

    private Chain forwardChain(DenseNet net, ForwardPass fp, boolean keep) {
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
        for (int i = 1; i < hidden; i++) {
            if (keep && i > 1) {
                // the first layer's masked state is never materialised (see jacobianBackward)
                masked[i - 1] = jc.masked();
                jc.advance(masked[i - 1]);
            } else {
                jc.advance();
            }
            if (keep) {
                state[i] = jc.state();
            }
            INDArray st = jc.state().reshape('c', batch, rows, net.hiddenSize(i));
            sq[i] = Host.pull(Nd4j.getExecutioner().exec(new SquaredNorm(st, false, 1)));
        }
        return new Chain(rows, q, slopes, state, masked, sq);
    }

    /** Per-neuron weights of the aggregated term: u = dLoss/dt_j, and the hinge part of dLoss/dz_j. */
    private record NeuronWeights(double rollTerm, double[][] u, double[][] hinge) {}

    private NeuronWeights aggregate(DenseNet net, ForwardPass fp, double[][] sq, int batch) {
        int hidden = net.numHidden();
        int n = net.numNeurons();
        double[] t = new double[n];
        double[] w = new double[n];
        double[][] u = new double[hidden][];
        double[][] hinge = new double[hidden][];
        for (int i = 0; i < hidden; i++) {
            u[i] = new double[batch * net.hiddenSize(i)];
            hinge[i] = new double[batch * net.hiddenSize(i)];
        }
        double total = 0;
        for (int b = 0; b < batch; b++) {
            int pos = 0;
            for (int i = 0; i < hidden; i++) {
                int h = net.hiddenSize(i);
                double[] z = fp.preactHost()[i];
                int sqOff = i == 0 ? 0 : b * h;
                for (int j = 0; j < h; j++) {
                    t[pos++] = sq[i][sqOff + j] + c * Math.max(0, 1 - Math.abs(z[b * h + j]));
                }
            }
            total += aggregation.weights(t, t.length, w);
            pos = 0;
            for (int i = 0; i < hidden; i++) {
                int h = net.hiddenSize(i);
                double[] z = fp.preactHost()[i];
                for (int j = 0; j < h; j++, pos++) {
                    double uj = lambda * w[pos] / batch;
                    double zj = z[b * h + j];
                    u[i][b * h + j] = uj;
                    hinge[i][b * h + j] = Math.abs(zj) < 1 ? -uj * c * Math.signum(zj) : 0;
                }
            }
        }
        return new NeuronWeights(total / batch, u, hinge);
    }

    /**
     * Reverse mode through the Jacobian chain: with S^i = dLoss/dT^i (B*r, H_i),
     * {@code dW^i = S^iT (T^{i-1} * slopes)}, {@code S^{i-1} = (S^i W^i) * slopes + 2 T^{i-1} * u^{i-1}},
     * and at the first layer {@code dW^1 = (sum_b S^1_b)^T Q^T}. Writes (does not accumulate) the
     * weight gradients of every hidden layer.
     */
    private static void jacobianBackward(DenseNet net, Chain ch, double[][] u, DenseNet g) {
        int hidden = net.numHidden();
        int rows = ch.rows();
        int batch = (int) ch.slopes()[0].size(0);
        INDArray s = null;
        for (int i = hidden - 1; i >= 1; i--) {
            int h = net.hiddenSize(i);
            INDArray direct = scale(ch.state()[i], batch, rows, Host.array(twice(u[i]), net.dataType(), batch, h), null);
            s = s == null ? direct : s.addi(direct);
            if (i == 1) {
                // dW^2 = sum_b S_b^T (seed * slopes_b): per-example GEMMs against the scaled shared seed
                INDArray gw = g.weight(1);
                for (int b = 0; b < batch; b++) {
                    INDArray sb = s.get(NDArrayIndex.interval((long) b * rows, (long) (b + 1) * rows), NDArrayIndex.all());
                    INDArray seedB = ch.state()[0].mulRowVector(ch.slopes()[0].getRow(b));
                    Nd4j.gemm(sb, seedB, gw, true, false, 1.0, b == 0 ? 0.0 : 1.0);
                }
            } else {
                INDArray prevMasked = ch.masked()[i - 1];
                Nd4j.gemm(s, prevMasked.reshape('c', (long) batch * rows, prevMasked.size(2)), g.weight(i), true, false,
                        1.0, 0.0);
            }
            INDArray p = Nd4j.gemm(s, net.weight(i), false, false);
            s = scale(p, batch, rows, ch.slopes()[i - 1], p);
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
            seedGrad.addi(s.reshape('c', batch, rows, h1).sum(0));
        }
        if (ch.q() != null) {
            Nd4j.gemm(seedGrad, ch.q(), g.weight(0), true, true, 1.0, 0.0);
        } else {
            g.weight(0).assign(seedGrad.transpose());
        }
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
     * Ordinary back-propagation of {@code dLogits} (plus the hinge part of dLoss/dz) into every weight
     * and bias. With {@code accumulate}, hidden weight gradients are added to what is there.
     */
    private static void backprop(DenseNet net, ForwardPass fp, double[] dLogits, double[][] hinge, DenseNet g,
            boolean accumulate) {
        int batch = fp.batchSize();
        double alpha = net.activation().alpha();
        double[] delta = dLogits;
        for (int l = net.numLayers() - 1; l >= 0; l--) {
            int out = net.sizes()[l + 1];
            INDArray d = Host.array(delta, net.dataType(), batch, out);
            boolean hiddenWeight = l < net.numHidden();
            Nd4j.gemm(d, fp.layerInput(l), g.weight(l), true, false, 1.0, accumulate && hiddenWeight ? 1.0 : 0.0);
            double[] db = new double[out];
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < out; j++) {
                    db[j] += delta[b * out + j];
                }
            }
            Host.push(db, g.bias(l));
            if (l > 0) {
                double[] dh = Host.pull(Nd4j.gemm(d, net.weight(l), false, false));
                double[] z = fp.preactHost()[l - 1];
                for (int k = 0; k < dh.length; k++) {
                    dh[k] *= z[k] > 0 ? 1.0 : alpha;
                    if (hinge != null) {
                        dh[k] += hinge[l - 1][k];
                    }
                }
                delta = dh;
            }
        }
    }
}
