package org.rollspark.dense;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.util.Blas;
import org.rollspark.util.Host;

/**
 * Pushes a first-layer seed through the network linearised at each example's activation pattern
 * (docs/METHOD.md section 2: masks frozen, every activation becomes "multiply by its slope").
 *
 * <p>Layout: the state at hidden layer i is {@code T^i}, of shape (B*r, H_i), rows grouped by
 * example: rows {@code b*r .. b*r+r-1} hold {@code (K^i_b)^T}, where {@code K^i_b = W^i S_b^{i-1} K^{i-1}_b}
 * and {@code S_b} is the diagonal of slopes (1 or alpha). At the first hidden layer the state is the
 * seed itself, shape (r, H_1), shared by the batch. Each step is one large GEMM over the whole batch.
 *
 * <p>Seeds in use: {@code W_1^T} scaled by 1/std (r = D: full raw-unit Jacobians, for l1 and l_inf
 * norms); {@code Q^T W_1^T} for an orthonormal basis Q of W_1's row space (r = min(D, H_1): the same
 * row norms as the Jacobian, used by the loss); {@code d W_1^T} for directional derivatives along the
 * rows of d.
 */
public final class JacobianChain {
    private final DenseNet net;
    private final INDArray[] slopes;
    private final int batch;
    private final int rows;
    private int layer;
    private INDArray state;

    /**
     * @param slopes per hidden layer, (B, H_i) slopes of the frozen activations, see {@link #slopes}
     * @param seed (r, H_1) state of the first hidden layer, shared by every example
     */
    public JacobianChain(DenseNet net, INDArray[] slopes, INDArray seed) {
        this.net = net;
        this.slopes = slopes;
        this.batch = (int) slopes[0].size(0);
        this.rows = (int) seed.size(0);
        if (seed.rank() != 2 || seed.size(1) != net.hiddenSize(0)) {
            throw new IllegalArgumentException("seed must be (r, " + net.hiddenSize(0) + ")");
        }
        this.state = seed;
    }

    /** Slopes of the activations at a forward pass, (B, H_i) per hidden layer: 1 if z > 0 else alpha. */
    public static INDArray[] slopes(DenseNet net, DenseActivations fp) {
        INDArray[] s = new INDArray[net.numHidden()];
        org.rollspark.net.Activation act = net.activation();
        for (int i = 0; i < s.length; i++) {
            double[] z = fp.preactHost()[i];
            double[] m = new double[z.length];
            for (int k = 0; k < z.length; k++) {
                m[k] = act.slope(z[k]);
            }
            s[i] = Host.array(m, net.dataType(), fp.batchSize(), net.hiddenSize(i));
        }
        return s;
    }

    /** Hidden layer (0-based) whose state {@link #state()} holds. */
    public int layer() {
        return layer;
    }

    /** Rows per example (r). */
    public int rows() {
        return rows;
    }

    public int batch() {
        return batch;
    }

    /** True while the state is the shared seed (first hidden layer). */
    public boolean shared() {
        return layer == 0;
    }

    /** The state: (r, H_1) at the first hidden layer, (B*r, H_i) after. */
    public INDArray state() {
        return state;
    }

    public boolean hasNext() {
        return layer + 1 < net.numHidden();
    }

    /** The state multiplied by the slopes of its layer, (B, r, H_i): the input of the next GEMM. */
    public INDArray masked() {
        return mask(state, layer);
    }

    /**
     * Multiplies a (r, H) shared or (B*r, H) per-example state by the slopes of hidden layer
     * {@code hidden}, returning a new (B, r, H) array.
     */
    public INDArray mask(INDArray st, int hidden) {
        long h = st.size(1);
        INDArray out = Nd4j.createUninitialized(st.dataType(), batch, rows, h);
        if (st.size(0) == rows) {
            for (int b = 0; b < batch; b++) {
                out.slice(b).assign(st); // far cheaper than Nd4j.tile
            }
            Nd4j.getExecutioner().exec(new BroadcastMulOp(out, slopes[hidden], out, 0, 2));
        } else {
            Nd4j.getExecutioner().exec(new BroadcastMulOp(st.reshape('c', batch, rows, h), slopes[hidden], out, 0, 2));
        }
        return out;
    }

    /**
     * Advances to the next hidden layer: {@code T^{i+1} = (T^i * slopes^i) W^{i+1 T}}. From the shared
     * first-layer state this is one GEMM per example against the column-scaled weight
     * {@code W^2 diag(slopes_b)}, which avoids materialising the state for every example.
     */
    public void advance() {
        if (!hasNext()) {
            throw new IllegalStateException("already at the last hidden layer");
        }
        if (layer > 0) {
            advance(masked());
            return;
        }
        INDArray w = net.weight(1);
        INDArray next = Nd4j.createUninitialized(state.dataType(), (long) batch * rows, w.size(0));
        for (int b = 0; b < batch; b++) {
            INDArray scaled = w.mulRowVector(slopes[0].getRow(b));
            INDArray rowsOfB = next.get(NDArrayIndex.interval((long) b * rows, (long) (b + 1) * rows), NDArrayIndex.all());
            Blas.gemm(state, false, scaled, true, rowsOfB, 1.0, 0.0);
        }
        state = next;
        layer++;
    }

    /** Advances using the masked state of the current layer, as returned by {@link #masked()}. */
    public void advance(INDArray masked) {
        if (!hasNext()) {
            throw new IllegalStateException("already at the last hidden layer");
        }
        INDArray w = net.weight(layer + 1);
        state = Blas.product(masked.reshape('c', (long) batch * rows, masked.size(2)), false, w, true);
        layer++;
    }

    /**
     * The Jacobian of the logits on this linear region, from the last hidden layer's state:
     * {@code (T^{L-1} * slopes) W^{L T}}, shape (B*r, K); rows {@code b*r .. b*r+r-1} hold example b's
     * {@code (d logits / d seed-direction)}. Call at the last hidden layer.
     */
    public INDArray logitJacobian() {
        if (hasNext()) {
            throw new IllegalStateException("logit Jacobian needs the last hidden layer, at layer " + layer);
        }
        INDArray m = masked();
        INDArray rowsOfM = m.reshape('c', (long) batch * rows, m.size(2));
        return Blas.product(rowsOfM, false, net.weight(net.numLayers() - 1), true);
    }
}
