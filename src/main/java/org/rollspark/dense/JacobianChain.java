package org.rollspark.dense;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.util.Blas;
import org.rollspark.util.Gather;
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
    /** ReLU: per hidden layer and example, the active units (slope 1; the others' slope is 0); null otherwise. */
    private final int[][][] active;
    private int layer;
    private INDArray state;
    private Gathered gathered;

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
        this.active = net.activation().alpha() == 0 ? active(slopes) : null;
    }

    /** The units with a non-zero slope, per hidden layer and example. */
    private static int[][][] active(INDArray[] slopes) {
        int[][][] out = new int[slopes.length][][];
        for (int i = 0; i < slopes.length; i++) {
            int b = (int) slopes[i].size(0);
            int h = (int) slopes[i].size(1);
            double[] s = Host.pull(slopes[i]);
            out[i] = new int[b][];
            int[] idx = new int[h];
            for (int e = 0; e < b; e++) {
                int a = 0;
                for (int j = 0; j < h; j++) {
                    if (s[e * h + j] != 0) {
                        idx[a++] = j;
                    }
                }
                out[i][e] = java.util.Arrays.copyOf(idx, a);
            }
        }
        return out;
    }

    /** ReLU: per example, the active units of hidden layer {@code hidden}; null for other activations. */
    public int[][] active(int hidden) {
        return active == null ? null : active[hidden];
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
        if (active != null) {
            state = throughActive(state, layer, net.weight(layer + 1));
            layer++;
            return;
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
        if (active != null) {
            return throughActive(state, layer, net.weight(net.numLayers() - 1));
        }
        INDArray m = masked();
        INDArray rowsOfM = m.reshape('c', (long) batch * rows, m.size(2));
        return Blas.product(rowsOfM, false, net.weight(net.numLayers() - 1), true);
    }

    /**
     * The gathered operands of one ReLU step, per example b (null where no unit is
     * active): {@code states[b] = T_b[:, A_b]}, (r, a_b), and {@code weights[b] = W[:, A_b]^T}, (a_b, H'), for the
     * active units A_b; what the step multiplied, kept for the backward pass ({@code DenseForward}).
     */
    public record Gathered(INDArray[] states, INDArray[] weights) {}

    /** The operands of the last ReLU step ({@link #advance()}); null for other activations or before a step. */
    public Gathered gathered() {
        return gathered;
    }

    /**
     * ReLU: {@code (T * slopes) W^T} from the active units alone, one GEMM per example: the inactive units'
     * columns of the masked state are zero, so example b's rows are {@code T_b[:, A_b] (W[:, A_b])^T}, with
     * A_b the active units of hidden layer {@code hidden}: about half the work at half the units active.
     * {@code st} is (r, H) shared or (B*r, H); returns (B*r, H'). The gathered operands live in two arrays
     * for the batch, kept as {@link #gathered()}.
     */
    private INDArray throughActive(INDArray st, int hidden, INDArray w) {
        INDArray wt = w.transpose().dup('c'); // (H, H'): W's columns as contiguous rows
        int out = (int) w.size(0);
        boolean sharedState = st.size(0) == rows;
        long total = 0;
        for (int[] a : active[hidden]) {
            total += a.length;
        }
        DataType type = st.dataType();
        INDArray next = Nd4j.createUninitialized(type, (long) batch * rows, out);
        INDArray statesAll = Nd4j.createUninitialized(type, Math.max(1, total * rows));
        INDArray weightsAll = Nd4j.createUninitialized(type, Math.max(1, total * out));
        INDArray[] states = new INDArray[batch];
        INDArray[] weights = new INDArray[batch];
        long at = 0;
        for (int b = 0; b < batch; b++) {
            int[] a = active[hidden][b];
            INDArray rowsOfB = next.get(NDArrayIndex.interval((long) b * rows, (long) (b + 1) * rows), NDArrayIndex.all());
            if (a.length == 0) {
                rowsOfB.assign(0);
                continue;
            }
            INDArray src = sharedState ? st
                    : st.get(NDArrayIndex.interval((long) b * rows, (long) (b + 1) * rows), NDArrayIndex.all());
            states[b] = statesAll.get(NDArrayIndex.interval(at * rows, (at + a.length) * rows)).reshape('c', rows, a.length);
            Gather.columns(src, a, states[b]);
            weights[b] = weightsAll.get(NDArrayIndex.interval(at * out, (at + a.length) * out)).reshape('c', a.length, out);
            Gather.rows(wt, a, weights[b]);
            Blas.gemm(states[b], false, weights[b], false, rowsOfB, 1.0, 0.0);
            at += a.length;
        }
        gathered = new Gathered(states, weights);
        return next;
    }
}
