package org.rollspark.graph;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.net.Activation;
import org.rollspark.util.Blas;

/**
 * A recurrent layer {@code h_t = act(W x_t + U h_{t-1} + b)}, {@code h_0 = 0}, over (T, F) inputs;
 * output: the last valid hidden state. Sequences shorter than T are padded: with
 * {@link Tape#lengths()} example n has {@code lengths[n]} valid steps, later steps carry the state
 * unchanged ({@code h_t = h_{t-1}}) and their units are not neurons. The neurons are every unit at
 * every valid step, laid out step-major: neuron {@code t * H + j}.
 */
public final class Recurrent extends Layer {
    private final int steps;
    private final int features;
    private final int hidden;
    private final Activation activation;
    private final boolean identityInit;
    private final Param w;
    private final Param u;
    private final Param b;
    private final Object tangentKey = new Object();

    public Recurrent(int[] in, int hidden, Activation activation, boolean identityInit) {
        super(in);
        if (in.length != 2) {
            throw bad("rnn", in, "needs a (steps, features) input");
        }
        if (hidden < 1) {
            throw bad("rnn", in, "hidden must be >= 1, got " + hidden);
        }
        this.steps = in[0];
        this.features = in[1];
        this.hidden = hidden;
        this.activation = activation;
        this.identityInit = identityInit;
        this.out = new int[] {hidden};
        this.w = new Param("weight_ih", Role.WEIGHT, hidden, hidden, features);
        this.u = new Param("weight_hh", identityInit ? Role.IDENTITY : Role.WEIGHT, hidden, hidden, hidden);
        this.b = new Param("bias", identityInit ? Role.ZEROS : Role.BIAS, hidden, hidden);
    }

    @Override
    public List<Param> params() {
        return List.of(w, u, b);
    }

    @Override
    public int ownNeurons() {
        return steps * hidden;
    }

    /**
     * Validity of step t for {@code k} rows per example: a (n * k, 1) column of 1 (valid) and 0
     * (padding), or null when every step of every example is valid.
     */
    private INDArray validity(int[] lengths, int t, int k, org.nd4j.linalg.api.buffer.DataType type) {
        if (lengths == null) {
            return null;
        }
        double[] col = new double[lengths.length * k];
        for (int i = 0; i < col.length; i++) {
            col[i] = t < lengths[i / k] ? 1 : 0;
        }
        return Nd4j.createFromArray(col).castTo(type).reshape(col.length, 1);
    }

    private int[] lengths(Tape p) {
        int[] len = p.lengths();
        if (len == null) {
            return null;
        }
        if (len.length != p.batch()) {
            throw new IllegalArgumentException(len.length + " sequence lengths for a batch of " + p.batch());
        }
        boolean full = true;
        for (int i = 0; i < len.length; i++) {
            if (len[i] < 1 || len[i] > steps) {
                throw new IllegalArgumentException("sequence length " + len[i] + " of example " + i
                        + " is outside [1, " + steps + "]");
            }
            full &= len[i] == steps;
        }
        return full ? null : len;
    }

    /** What forward keeps: inputs, per-step states (h_0 .. h_T), validity and the neuron group. */
    private record State(INDArray x, INDArray[] h, int[] lengths, Tape.Neurons neurons) {}

    private static INDArray step(INDArray all, int t, int width) {
        return all.get(NDArrayIndex.all(), NDArrayIndex.interval((long) t * width, (long) (t + 1) * width));
    }

    /** Blends the new state into the old where the step is valid: {@code v * fresh + (1 - v) * old}. */
    private static INDArray carry(INDArray fresh, INDArray old, INDArray v) {
        if (v == null) {
            return fresh;
        }
        return fresh.mulColumnVector(v).addi(old.mulColumnVector(v.rsub(1)));
    }

    @Override
    public INDArray forward(INDArray x, Tape p) {
        int n = (int) x.size(0);
        INDArray xw = Blas.product(x.reshape('c', (long) n * steps, features), false, p.param(w), true)
                .reshape('c', n, (long) steps * hidden);
        int[] lengths = lengths(p);
        INDArray[] h = new INDArray[steps + 1];
        h[0] = Nd4j.zeros(x.dataType(), n, hidden);
        INDArray z = Nd4j.createUninitialized(x.dataType(), n, (long) steps * hidden);
        INDArray bias = p.param(b);
        for (int t = 0; t < steps; t++) {
            INDArray zt = step(xw, t, hidden).dup('c').addiRowVector(bias);
            zt.addi(Blas.product(h[t], false, p.param(u), true));
            step(z, t, hidden).assign(zt);
            INDArray ht = zt.mul(Act.slopes(zt, activation.alpha()));
            h[t + 1] = carry(ht, h[t], validity(lengths, t, 1, x.dataType()));
        }
        INDArray slope = Act.slopes(z, activation.alpha());
        INDArray validMask = null;
        if (lengths != null) {
            double[] m = new double[n * steps * hidden];
            for (int i = 0; i < n; i++) {
                java.util.Arrays.fill(m, i * steps * hidden, (i * steps + lengths[i]) * hidden, 1.0);
            }
            validMask = Nd4j.createFromArray(m).castTo(x.dataType()).reshape('c', n, (long) steps * hidden);
        }
        Tape.Neurons g = p.addNeurons(this, z, slope, validMask);
        p.put(this, new State(x, h, lengths, g));
        return h[steps];
    }

    @Override
    public INDArray tangent(INDArray t, Tape p) {
        State st = p.get(this);
        int k = p.tangents();
        long rows = t.size(0);
        INDArray tw = Blas.product(t.reshape('c', rows * steps, features), false, p.param(w), true)
                .reshape('c', rows, (long) steps * hidden);
        INDArray[] th = new INDArray[steps + 1];
        th[0] = Nd4j.zeros(t.dataType(), rows, hidden);
        INDArray tz = Nd4j.createUninitialized(t.dataType(), rows, (long) steps * hidden);
        for (int s = 0; s < steps; s++) {
            INDArray tzs = step(tw, s, hidden).dup('c');
            tzs.addi(Blas.product(th[s], false, p.param(u), true));
            step(tz, s, hidden).assign(tzs);
            INDArray fresh = Ops.perExample(tzs, step(st.neurons().slope(), s, hidden).dup('c'), k);
            th[s + 1] = carry(fresh, th[s], validity(st.lengths(), s, k, t.dataType()));
        }
        st.neurons().setTangent(tz, null);
        p.put(tangentKey, new State(t, th, st.lengths(), st.neurons()));
        return th[steps];
    }

    private INDArray reverse(INDArray dy, State st, Tape p, int k, INDArray extra, boolean base, boolean needInput) {
        long rows = dy.size(0);
        INDArray slope = st.neurons().slope();
        INDArray dzAll = Nd4j.createUninitialized(dy.dataType(), rows, (long) steps * hidden);
        INDArray dh = dy.dup('c');
        INDArray dU = p.wantsGradients() ? p.grad(u) : null;
        for (int t = steps - 1; t >= 0; t--) {
            INDArray v = validity(st.lengths(), t, k, dy.dataType());
            INDArray s = step(slope, t, hidden).dup('c');
            INDArray dz = Ops.perExample(carry(dh, dh.mul(0), v), s, k);
            if (extra != null) {
                dz.addi(step(extra, t, hidden));
            }
            step(dzAll, t, hidden).assign(dz);
            if (dU != null) {
                Blas.gemm(dz, true, st.h()[t], false, dU, 1.0, 1.0);
            }
            INDArray back = Blas.product(dz, false, p.param(u), false);
            dh = v == null ? back : back.addi(carry(dh.mul(0), dh, v));
        }
        if (p.wantsGradients()) {
            Blas.gemm(dzAll.reshape('c', rows * steps, hidden), true, st.x().reshape('c', rows * steps, features), false,
                    p.grad(w), 1.0, 1.0);
            if (base) {
                p.grad(b).addi(dzAll.reshape('c', rows * steps, hidden).sum(0));
            }
        }
        if (!needInput) {
            return null;
        }
        return Blas.product(dzAll.reshape('c', rows * steps, hidden), false, p.param(w), false)
                .reshape('c', rows, (long) steps * features);
    }

    @Override
    public INDArray backward(INDArray dy, Tape p, boolean needInput) {
        State st = p.get(this);
        return reverse(dy, st, p, 1, st.neurons().dz, true, needInput);
    }

    @Override
    public INDArray backwardTangent(INDArray dt, Tape p, boolean needInput) {
        State st = p.get(tangentKey);
        return reverse(dt, st, p, p.tangents(), st.neurons().dtz, false, needInput);
    }

    @Override
    public ObjectNode spec() {
        return JsonNodeFactory.instance.objectNode().put("type", "rnn").put("hidden", hidden)
                .put("activation", activation.spec()).put("recurrent_init", identityInit ? "identity" : "uniform");
    }

    @Override
    public String describe() {
        return "rnn " + features + "->" + hidden + " x " + steps + " steps, " + activation.spec()
                + " (" + steps * hidden + " neurons)";
    }
}
