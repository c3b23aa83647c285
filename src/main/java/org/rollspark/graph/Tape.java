package org.rollspark.graph;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The state of one pass of a {@link GraphNet} over a batch: what forward cached for the other
 * passes, the neuron groups met on the way, and where parameter gradients go.
 */
public final class Tape {
    private final INDArray params;
    private final INDArray grads;
    private final int batch;
    private final boolean training;
    private final int[] lengths;
    private int tangents;
    private Window window;
    private final Map<Object, Object> cache = new IdentityHashMap<>();
    private final Map<Layer.Param, INDArray> gradViews = new IdentityHashMap<>();
    private final List<Neurons> neurons = new ArrayList<>();
    private Map<BatchNorm, double[]> statistics;

    Tape(INDArray params, INDArray grads, int batch, boolean training, int[] lengths) {
        this.params = params;
        this.grads = grads;
        this.batch = batch;
        this.training = training;
        this.lengths = lengths;
    }

    public int batch() {
        return batch;
    }

    /** Tangent rows per example in the current tangent pass. */
    public int tangents() {
        return tangents;
    }

    void tangents(int k) {
        this.tangents = k;
    }

    /** The windows the current layers' tangents live in ({@link Window}), or null for whole maps. */
    Window window() {
        return window;
    }

    void window(Window w) {
        this.window = w;
    }

    /** True in training: batch norm uses batch statistics. */
    public boolean training() {
        return training;
    }

    /** Valid steps per example for sequences (null: all steps valid). */
    public int[] lengths() {
        return lengths;
    }

    public DataType dataType() {
        return params.dataType();
    }

    /** Live view of a parameter tensor. */
    public INDArray param(Layer.Param p) {
        return view(params, p);
    }

    /** Live view of a parameter's gradient (null when no gradient is wanted). */
    public INDArray grad(Layer.Param p) {
        if (grads == null) {
            return null;
        }
        return gradViews.computeIfAbsent(p, q -> view(grads, q));
    }

    public boolean wantsGradients() {
        return grads != null;
    }

    static INDArray view(INDArray flat, Layer.Param p) {
        return flat.get(NDArrayIndex.interval(p.offset, p.offset + p.size())).reshape('c', p.shape);
    }

    public void put(Object key, Object value) {
        cache.put(key, value);
    }

    @SuppressWarnings("unchecked")
    public <T> T get(Object key) {
        return (T) cache.get(key);
    }

    /**
     * Collect batch-norm statistics instead of updating the running ones: training-mode batch norm
     * adds per-channel sums of x and x^2 and the count to {@code sums}.
     */
    void collectStatistics(Map<BatchNorm, double[]> sums) {
        this.statistics = sums;
    }

    Map<BatchNorm, double[]> statistics() {
        return statistics;
    }

    /** Registers a neuron group met by forward; returns it so the layer can keep a handle. */
    public Neurons addNeurons(Layer owner, INDArray z, INDArray slope, INDArray valid) {
        Neurons g = new Neurons(owner, neurons.size(), z, slope, valid);
        neurons.add(g);
        return g;
    }

    /** The neuron groups in forward order. */
    public List<Neurons> neurons() {
        return neurons;
    }

    /**
     * One group of neurons (every pre-activation that enters a piecewise-linear activation): base
     * pre-activations and slopes, validity for padded sequence steps, tangent pre-activations of the
     * latest tangent pass, and the loss's extra gradients with respect to either.
     */
    public static final class Neurons implements org.rollspark.net.Neurons {
        private final Layer owner;
        private final int index;
        private final INDArray z;
        private final INDArray slope;
        private final INDArray valid;
        private INDArray tz;
        private Window window;
        private INDArray windowSlope;
        private INDArray embedded;
        INDArray dz;
        INDArray dtz;

        Neurons(Layer owner, int index, INDArray z, INDArray slope, INDArray valid) {
            this.owner = owner;
            this.index = index;
            this.z = z;
            this.slope = slope;
            this.valid = valid;
        }

        public Layer owner() {
            return owner;
        }

        /** Position among the network's neuron groups (the "layer" of a binding neuron). */
        public int index() {
            return index;
        }

        @Override
        public int size() {
            return (int) z.size(1);
        }

        /** Base pre-activations, (batch, size). */
        @Override
        public INDArray z() {
            return z;
        }

        /** Local slopes, (batch, size): 1 where active, alpha where not. */
        public INDArray slope() {
            return slope;
        }

        /** 1 for real neurons, 0 for padded sequence steps; null when all are real. */
        @Override
        public INDArray valid() {
            return valid;
        }

        /** Records the latest tangent pass's pre-activations: whole maps, or windows (the slopes cropped to them). */
        void setTangent(INDArray t, Window w) {
            this.tz = t;
            this.window = w;
            this.windowSlope = w == null ? null : w.crop(slope);
            this.embedded = null;
        }

        /** The slopes per tangent row: {@code t * slope} of the tangent pass (k tangent rows per example). */
        INDArray slopeTimes(INDArray t, int k) {
            return window == null ? Ops.perExample(t, slope, k) : t.mul(windowSlope);
        }

        /** Tangent pre-activations of the latest tangent pass, (batch * tangents, size). */
        public INDArray tangent() {
            if (window == null) {
                return tz;
            }
            if (embedded == null) {
                embedded = window.embed(tz);
            }
            return embedded;
        }

        /**
         * {@code tangent * m} in the tangent pass's own layout (windows or whole maps), m one row per
         * example ((batch, size)): the form {@link #setTangentGradient} takes.
         */
        public INDArray tangentTimes(INDArray m, int k) {
            return window == null ? Ops.perExample(tz, m, k) : tz.mul(window.crop(m));
        }

        /** Adds {@code scale * sum over each example's k tangents of tangent^2} into sq, (batch, size), in place. */
        public void addTangentSquares(INDArray sq, int k, double scale) {
            if (window == null) {
                INDArray t3 = tz.reshape('c', sq.size(0), k, size());
                sq.addi(t3.mul(t3).sum(1).muli(scale));
            } else {
                window.addSquares(sq, tz, scale);
            }
        }

        /** Sets the loss's gradient with respect to z, (batch, size), consumed by the base backward. */
        @Override
        public void setZGradient(INDArray g) {
            this.dz = g;
        }

        /**
         * Sets the loss's gradient with respect to the tangent pre-activations, in the layout of
         * {@link #tangentTimes}; consumed by the tangent backward.
         */
        public void setTangentGradient(INDArray g) {
            this.dtz = g;
        }
    }
}
