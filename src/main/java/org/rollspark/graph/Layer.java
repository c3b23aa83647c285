package org.rollspark.graph;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One piece of a piecewise-linear network. Activations travel as (rows, size) matrices in c order;
 * a layer reshapes its rows to its {@link #inShape()} (C, H, W for images, T, F for sequences).
 *
 * <p>Four passes, all exact:
 * <ul>
 *   <li>{@link #forward}: the base point, caching what the other passes need in the {@link Tape};
 *   <li>{@link #tangent}: the linearised map at the base point (activation masks frozen, biases
 *       dropped) applied to {@code k} tangent rows per example, laid out example-major: row
 *       {@code n * k + i} is tangent i of example n;
 *   <li>{@link #backward} and {@link #backwardTangent}: reverse mode through the two, accumulating
 *       parameter gradients into the gradient views and returning the gradient with respect to the
 *       layer's input (or null when {@code needInput} is false).
 * </ul>
 * The tangent backward runs before the base backward: layers whose linearisation depends on the
 * base point through batch statistics (batch norm in training) pass that dependence on through the
 * {@link Tape}.
 */
public abstract class Layer {
    protected final int[] in;
    protected int[] out;
    private long offset;

    protected Layer(int[] in) {
        this.in = in.clone();
    }

    public final int[] inShape() {
        return in.clone();
    }

    public final int[] outShape() {
        return out.clone();
    }

    public final int inSize() {
        return size(in);
    }

    public final int outSize() {
        return size(out);
    }

    public static int size(int[] shape) {
        int s = 1;
        for (int d : shape) {
            s = Math.multiplyExact(s, d);
        }
        return s;
    }

    /** The layer's parameter tensors in storage order (empty for parameter-free layers). */
    public List<Param> params() {
        return List.of();
    }

    /** Child layers, for traversal (empty for leaves). */
    public List<Layer> children() {
        return List.of();
    }

    public final long numParams() {
        long n = 0;
        for (Param p : params()) {
            n += p.size();
        }
        for (Layer c : children()) {
            n += c.numParams();
        }
        return n;
    }

    /** Assigns this layer (and its children) a slice of the flat parameter vector starting at {@code offset}. */
    final long place(long start) {
        this.offset = start;
        long off = start;
        for (Param p : params()) {
            p.offset = off;
            off += p.size();
        }
        for (Layer c : children()) {
            off = c.place(off);
        }
        return off;
    }

    public final long offset() {
        return offset;
    }

    /** Neurons this layer owns directly (activations and recurrent units), per example. */
    public int ownNeurons() {
        return 0;
    }

    /** Neurons in this layer and its children, per example. */
    public final int neurons() {
        int n = ownNeurons();
        for (Layer c : children()) {
            n += c.neurons();
        }
        return n;
    }

    /**
     * How far (in pixels) this layer spreads a tangent that is non-zero at one spatial position, when
     * it keeps the spatial grid (stride-1 "same" convolutions, batch norm, activations, residual blocks
     * of them); -1 when it changes the grid or is not spatial. See {@link Window}.
     */
    int windowRadius() {
        return -1;
    }

    public abstract INDArray forward(INDArray x, Tape p);

    public abstract INDArray tangent(INDArray t, Tape p);

    public abstract INDArray backward(INDArray dy, Tape p, boolean needInput);

    public abstract INDArray backwardTangent(INDArray dt, Tape p, boolean needInput);

    /** The layer's JSON description (type and hyper-parameters; the input shape is implied by its position). */
    public abstract ObjectNode spec();

    /** Short description for summaries, e.g. {@code conv2d 1->8 k3 s1 p1 (8x28x28)}. */
    public abstract String describe();

    protected static String shape(int[] s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length; i++) {
            b.append(i == 0 ? "" : "x").append(s[i]);
        }
        return b.toString();
    }

    protected static IllegalArgumentException bad(String what, int[] shape, String why) {
        return new IllegalArgumentException(what + " on input " + Arrays.toString(shape) + ": " + why);
    }

    /** All layers of a tree in forward order (pre-order). */
    public static List<Layer> flatten(Layer root) {
        List<Layer> all = new ArrayList<>();
        all.add(root);
        for (Layer c : root.children()) {
            all.addAll(flatten(c));
        }
        return all;
    }

    /** What a parameter is, which decides its initialisation and whether it trains. */
    public enum Role {
        WEIGHT, BIAS, ONES, ZEROS, RUNNING_MEAN, RUNNING_VAR, IDENTITY;

        public boolean trainable() {
            return this != RUNNING_MEAN && this != RUNNING_VAR;
        }
    }

    /** A named parameter tensor of a layer; its values live in the network's flat vector. */
    public static final class Param {
        final String name;
        final long[] shape;
        final Role role;
        final int fanIn;
        long offset;

        public Param(String name, Role role, int fanIn, long... shape) {
            this.name = name;
            this.shape = shape.clone();
            this.role = role;
            this.fanIn = fanIn;
        }

        public String name() {
            return name;
        }

        public long[] shape() {
            return shape.clone();
        }

        public Role role() {
            return role;
        }

        public int fanIn() {
            return fanIn;
        }

        public long offset() {
            return offset;
        }

        public long size() {
            long s = 1;
            for (long d : shape) {
                s *= d;
            }
            return s;
        }
    }
}
