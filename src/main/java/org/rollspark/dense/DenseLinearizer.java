package org.rollspark.dense;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.net.Linearization;
import org.rollspark.net.Linearizer;
import org.rollspark.net.Network.NeuronValues;
import org.rollspark.util.Blas;
import org.rollspark.util.Host;

/**
 * Region inference for a {@link DenseNet}: the raw-unit Jacobian of the first hidden layer is
 * {@code W_1 diag(1/std)}, the same for every example (a shared tangent block), and the deeper ones
 * come from a {@link JacobianChain}, one large GEMM per layer for the whole batch.
 */
final class DenseLinearizer implements Linearizer {
    private final DenseNet net;
    /** float64 copy for pre-activations and logits (cancellation in small |z| is where float32 errs). */
    private final DenseNet exact;
    /** {@code diag(1/std) W_1^T}, (D, H_1): the first layer's raw-unit Jacobian, transposed. */
    private final INDArray rawSeed;
    /** {@link #gradientBasis()} and its first-layer state, made on first use; null until then. */
    private Basis basis;

    /**
     * An orthonormal basis of the first layer's raw-unit row space, {@code rows} = Q^T from the thin QR
     * {@code diag(1/std) W_1^T = Q R} (float64), and the state it gives the first hidden layer:
     * {@code Q^T diag(1/std) W_1^T = R}, in the network's data type.
     */
    private record Basis(INDArray rows, INDArray seed) {}

    DenseLinearizer(DenseNet net) {
        this.net = net;
        this.exact = net.dataType() == DataType.DOUBLE ? net : net.castTo(DataType.DOUBLE);
        this.rawSeed = rawSeed(net);
    }

    /** {@code diag(1/std) W_1^T} of a network, in its data type. */
    private static INDArray rawSeed(DenseNet net) {
        INDArray t = net.weight(0).transpose().dup('c');
        if (net.normalization().isScalar()) {
            return t.divi(net.normalization().std(0));
        }
        int d = net.inputSize();
        double[] std = new double[d];
        for (int k = 0; k < d; k++) {
            std[k] = net.normalization().std(k);
        }
        return t.diviColumnVector(Host.array(std, net.dataType(), d, 1));
    }

    /** The row space of W_1 (raw units) when H_1 < D: every neuron's input gradient is a combination of W_1's rows. */
    @Override
    public INDArray gradientBasis() {
        return basis() == null ? null : basis.rows();
    }

    private Basis basis() {
        if (basis == null && net.hiddenSize(0) < net.inputSize()) {
            try (org.nd4j.linalg.api.memory.MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                basis = makeBasis(); // kept across chunks: outside the workspace the first chunk's request came from
            }
        }
        return basis;
    }

    /** In float64 from the stored weights: the basis is orthonormal to float64 precision, R rounded once to the net's type. */
    private Basis makeBasis() {
        INDArray a = rawSeed(exact).dup('f');
        int h = net.hiddenSize(0);
        INDArray r = Nd4j.create(DataType.DOUBLE, h, h);
        Nd4j.getBlasWrapper().lapack().geqrf(a, r); // a becomes Q
        return new Basis(a.transpose().dup('c'), r.castTo(net.dataType()).dup('c'));
    }

    /** All coordinates unless a chunk's state would pass 16M values (64 MB in float32). */
    @Override
    public int coordinateBlock(int batch) {
        int widest = 1;
        for (int i = 0; i < net.numHidden(); i++) {
            widest = Math.max(widest, net.hiddenSize(i));
        }
        long budget = 16L << 20;
        return (int) Math.max(1, Math.min(net.inputSize(), budget / ((long) batch * widest)));
    }

    @Override
    public Linearization linearize(INDArray raw, int[] lengths) {
        if (lengths != null) {
            throw new IllegalArgumentException("sequence lengths need a graph network with a recurrent layer");
        }
        // z, patterns and logits in float64 whatever the network's type; the Jacobians in its own type
        DenseActivations fp = exact.activations(raw);
        INDArray[] slopes = JacobianChain.slopes(net, fp);
        NeuronValues values = fp.values();
        return new Linearization() {
            @Override
            public NeuronValues values() {
                return values;
            }

            @Override
            public INDArray pushCoordinates(int k0, int rows, TangentSink sink) {
                INDArray seed = rows == net.inputSize() ? rawSeed
                        : rawSeed.get(NDArrayIndex.interval(k0, k0 + rows), NDArrayIndex.all()).dup();
                JacobianChain chain = push(slopes, seed, sink);
                return chain.logitJacobian();
            }

            @Override
            public INDArray pushGradientBasis(TangentSink sink) {
                if (basis() == null) {
                    return Linearization.super.pushGradientBasis(sink);
                }
                return push(slopes, basis.seed(), sink).logitJacobian();
            }

            @Override
            public void pushDirections(INDArray directions, TangentSink sink) {
                push(slopes, scaledFirstLayer(directions.castTo(net.dataType())), sink);
            }
        };
    }

    private JacobianChain push(INDArray[] slopes, INDArray seed, Linearization.TangentSink sink) {
        JacobianChain chain = new JacobianChain(net, slopes, seed);
        sink.accept(0, seed, true);
        for (int i = 1; i < net.numHidden(); i++) {
            chain.advance();
            sink.accept(i, chain.state(), false);
        }
        return chain;
    }

    /** The first hidden layer's response to raw-unit input directions: {@code (d diag(1/std)) W_1^T}, (nDir, H_1). */
    private INDArray scaledFirstLayer(INDArray dirs) {
        int d = net.inputSize();
        double[] host = Host.pull(dirs);
        int n = (int) dirs.size(0);
        for (int r = 0; r < n; r++) {
            for (int k = 0; k < d; k++) {
                host[r * d + k] /= net.normalization().std(k);
            }
        }
        return Blas.product(Host.array(host, net.dataType(), n, d), false, net.weight(0), true);
    }
}
