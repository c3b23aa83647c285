package org.rollspark.graph;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.net.Activation;
import org.rollspark.net.Gradient;
import org.rollspark.net.Init;
import org.rollspark.net.Linearizer;
import org.rollspark.net.Normalization;
import org.rollspark.util.Host;

/**
 * A piecewise-linear network built from {@link Layer}s: convolutions, pooling, batch norm, residual
 * blocks, recurrent layers, dense layers and ReLU/LeakyReLU activations, described by a JSON layer
 * list (README, "Architectures"). All parameters live in one flat vector, layer after layer in
 * forward order, each tensor row-major in PyTorch's layout.
 *
 * <p>The layers run in two parts: the body, through the last layer that holds neurons, and the head
 * (pooling and dense layers after it). Tangent passes, which give the neuron input-gradients, only
 * need the body; the logit Jacobian runs them through the head too.
 */
public final class GraphNet implements org.rollspark.net.Network {
    private final int[] inputShape;
    private final Normalization normalization;
    private final ArrayNode layerSpecs;
    private final Sequence body;
    private final Sequence head;
    private final INDArray params;
    private final List<Layer.Param> allParams;
    /** Leading body layers whose coordinate tangents run in {@link Window}s, and the windows' radius. */
    private final int windowed;
    private final int windowRadius;
    private boolean windows = true;

    private GraphNet(int[] inputShape, ArrayNode layerSpecs, Normalization normalization, INDArray params) {
        this.inputShape = inputShape.clone();
        this.normalization = normalization;
        this.layerSpecs = layerSpecs.deepCopy();
        List<Layer> layers = LayerSpecs.build(layerSpecs, inputShape, "layers");
        int last = -1;
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i).neurons() > 0) {
                last = i;
            }
        }
        if (last < 0) {
            throw new IllegalArgumentException("architecture: no activation or recurrent layer, so no neurons to certify");
        }
        this.body = new Sequence(inputShape, layers.subList(0, last + 1));
        this.head = new Sequence(body.outShape(), layers.subList(last + 1, layers.size()));
        if (head.outShape().length != 1 || head.outSize() < 2) {
            throw new IllegalArgumentException("architecture: the last layer gives " + Arrays.toString(head.outShape())
                    + "; end with a dense layer of one unit per class (at least 2)");
        }
        normalization.checkInputSize(inputSize());
        long n = body.place(0);
        n = head.place(n);
        if (params.rank() != 1 || params.length() != n) {
            throw new IllegalArgumentException("parameter vector of shape " + Arrays.toString(params.shape())
                    + ": this architecture has " + n + " parameters");
        }
        if (params.dataType() != DataType.FLOAT && params.dataType() != DataType.DOUBLE) {
            throw new IllegalArgumentException("parameters must be float32 or float64, got " + params.dataType());
        }
        this.params = params;
        this.allParams = new ArrayList<>();
        for (Layer l : Layer.flatten(body)) {
            allParams.addAll(l.params());
        }
        for (Layer l : Layer.flatten(head)) {
            allParams.addAll(l.params());
        }
        int[] plan = windowPlan(inputShape, body.layers());
        this.windowed = plan[0];
        this.windowRadius = plan[1];
    }

    /**
     * The longest run of leading layers that keep the spatial grid and whose windows stay small
     * enough to pay (at most half the map), as {layers, radius}; {0, 0} when none.
     */
    private static int[] windowPlan(int[] shape, List<Layer> layers) {
        if (shape.length != 3) {
            return new int[] {0, 0};
        }
        int count = 0;
        int radius = 0;
        int r = 0;
        for (int i = 0; i < layers.size(); i++) {
            int q = layers.get(i).windowRadius();
            if (q < 0) {
                break;
            }
            r += q;
            int side = 2 * r + 1;
            if (side > shape[1] || side > shape[2] || 2L * side * side > (long) shape[1] * shape[2]) {
                break;
            }
            count = i + 1;
            radius = r;
        }
        return new int[] {count, radius};
    }

    /**
     * Whether coordinate tangents ({@link GraphForward#tangentBasis}) run through the leading
     * full-resolution layers in windows (the default; exact either way). For tests and benchmarks.
     */
    public void useWindows(boolean on) {
        this.windows = on;
    }

    /** A network over the given flat parameter vector (used as is). */
    public static GraphNet of(int[] inputShape, ArrayNode layers, Normalization normalization, INDArray params) {
        return new GraphNet(inputShape, layers, normalization, params);
    }

    /**
     * A dense network (dense layers, each hidden one followed by {@code activation}) as a graph over
     * the SAME parameter vector, laid out like the dense fast path's: updates to either are seen by both.
     */
    public static GraphNet dense(int[] sizes, Activation activation, Normalization normalization, INDArray params) {
        ArrayNode layers = JsonNodeFactory.instance.arrayNode();
        for (int l = 1; l < sizes.length; l++) {
            layers.addObject().put("type", "dense").put("units", sizes[l]);
            if (l < sizes.length - 1) {
                layers.addObject().put("type", "act").put("activation", activation.spec());
            }
        }
        return new GraphNet(new int[] {sizes[0]}, layers, normalization, params);
    }

    /** Number of parameters of an architecture. */
    public static long numParams(int[] inputShape, ArrayNode layers) {
        long n = 0;
        for (Layer l : LayerSpecs.build(layers, inputShape, "layers")) {
            n += l.numParams();
        }
        return n;
    }

    /**
     * A freshly initialised network: weights and biases by {@code init} with each tensor's fan-in
     * (for a recurrent layer, the hidden size, as PyTorch does), batch-norm scales 1 and shifts 0,
     * running statistics 0 and 1, identity recurrent weights where asked for.
     */
    public static GraphNet init(int[] inputShape, ArrayNode layers, Normalization normalization, Init init, long seed,
            DataType type) {
        GraphNet shape = new GraphNet(inputShape, layers, normalization,
                Nd4j.zeros(DataType.DOUBLE, numParams(inputShape, layers)));
        SplittableRandom rng = new SplittableRandom(seed);
        double[] flat = new double[Math.toIntExact(shape.params.length())];
        for (Layer.Param p : shape.allParams) {
            int off = Math.toIntExact(p.offset());
            int size = Math.toIntExact(p.size());
            switch (p.role()) {
                case WEIGHT, BIAS -> {
                    for (int i = 0; i < size; i++) {
                        flat[off + i] = init.sample(p.role() == Layer.Role.BIAS, p.fanIn(), rng);
                    }
                }
                case ONES, RUNNING_VAR -> Arrays.fill(flat, off, off + size, 1.0);
                case ZEROS, RUNNING_MEAN -> Arrays.fill(flat, off, off + size, 0.0);
                case IDENTITY -> {
                    int h = (int) p.shape()[0];
                    for (int i = 0; i < h; i++) {
                        flat[off + i * h + i] = 1.0;
                    }
                }
                default -> throw new AssertionError(p.role());
            }
        }
        return new GraphNet(inputShape, layers, normalization, Host.array(flat, type, flat.length));
    }

    // ---------------------------------------------------------------- accessors

    @Override
    public int[] inputShape() {
        return inputShape.clone();
    }

    @Override
    public int inputSize() {
        return Layer.size(inputShape);
    }

    @Override
    public int outputSize() {
        return head.outSize();
    }

    /** Neurons per example (padded sequence steps included; they are masked, see {@link Recurrent}). */
    @Override
    public int numNeurons() {
        return body.neurons();
    }

    @Override
    public Normalization normalization() {
        return normalization;
    }

    @Override
    public DataType dataType() {
        return params.dataType();
    }

    @Override
    public INDArray params() {
        return params;
    }

    /** The JSON layer list this network was built from. */
    public ArrayNode layers() {
        return layerSpecs.deepCopy();
    }

    /**
     * The layers as they were built, each in its canonical spec ({@link Layer#spec()}): one type name per kind of
     * layer and every option explicit, so a reader of the list (the ONNX export) needs neither the aliases nor the
     * defaults that {@link LayerSpecs} accepts.
     */
    public ArrayNode builtLayers() {
        ArrayNode a = body.specs();
        a.addAll(head.specs());
        return a;
    }

    /** The parameter tensors in storage order, with their offsets in {@link #params()}. */
    public List<Layer.Param> parameterTensors() {
        return List.copyOf(allParams);
    }

    /**
     * The parameter tensors by name, in storage order: {@code <layer index>.<tensor>} for top-level
     * layers (e.g. {@code 0.weight}), {@code <index>.main.<i>.<tensor>} and
     * {@code <index>.shortcut.<i>.<tensor>} inside residual blocks.
     */
    @Override
    public List<Tensor> tensors() {
        java.util.LinkedHashMap<String, Layer.Param> named = new java.util.LinkedHashMap<>();
        int i = 0;
        for (Layer l : body.layers()) {
            name(l, (i++) + ".", named);
        }
        for (Layer l : head.layers()) {
            name(l, (i++) + ".", named);
        }
        List<Tensor> out = new ArrayList<>();
        named.forEach((n, p) -> out.add(new Tensor(n, p.offset(), p.shape())));
        return out;
    }

    private static void name(Layer l, String prefix, java.util.Map<String, Layer.Param> out) {
        for (Layer.Param p : l.params()) {
            out.put(prefix + p.name(), p);
        }
        if (l instanceof Residual r) {
            List<Layer> c = r.children();
            name(c.get(0), prefix + "main.", out);
            name(c.get(1), prefix + "shortcut.", out);
        } else if (l instanceof Sequence seq) {
            int j = 0;
            for (Layer c : seq.layers()) {
                name(c, prefix + (j++) + ".", out);
            }
        }
    }

    /** Live view of one parameter tensor. */
    public INDArray tensor(Layer.Param p) {
        return Tape.view(params, p);
    }

    @Override
    public GraphNet withParams(INDArray flat) {
        return new GraphNet(inputShape, layerSpecs, normalization, flat);
    }

    @Override
    public GraphNet copy() {
        return withParams(params.dup());
    }

    @Override
    public GraphNet castTo(DataType type) {
        return withParams(params.castTo(type).dup());
    }

    /** One line per top-level layer. */
    @Override
    public String describe() {
        StringBuilder b = new StringBuilder("input " + Layer.shape(inputShape));
        for (Layer l : body.layers()) {
            b.append("\n  ").append(l.describe());
        }
        for (Layer l : head.layers()) {
            b.append("\n  ").append(l.describe());
        }
        return b.toString();
    }

    @Override
    public INDArray inputGradient(INDArray raw, INDArray dLogits) {
        INDArray g = forwardAccumulating(raw, false, null, null).inputGradient(dLogits.castTo(dataType()));
        double[] std = new double[inputSize()];
        for (int k = 0; k < std.length; k++) {
            std[k] = normalization.std(k);
        }
        return g.diviRowVector(Host.array(std, dataType(), std.length));
    }

    /** The architecture as stored in model.json: input shape and layer list. */
    @Override
    public ObjectNode architecture() {
        return architecture(inputShape, layerSpecs);
    }

    /** The model.json architecture of a graph net: {@code {"type": "graph", "input_shape": [...], "layers": [...]}}. */
    public static ObjectNode architecture(int[] inputShape, ArrayNode layers) {
        ObjectNode o = JsonNodeFactory.instance.objectNode().put("type", "graph");
        ArrayNode shape = o.putArray("input_shape");
        for (int d : inputShape) {
            shape.add(d);
        }
        o.set("layers", layers.deepCopy());
        return o;
    }

    // ---------------------------------------------------------------- passes

    /** Normalised copy of a raw (B, D) batch in this network's data type. */
    public INDArray normalize(INDArray raw) {
        if (raw.rank() != 2 || raw.size(1) != inputSize()) {
            throw new IllegalArgumentException("input of shape " + Arrays.toString(raw.shape()) + ": the network takes (batch, "
                    + inputSize() + ") rows, each a flattened " + Layer.shape(inputShape) + " input");
        }
        return normalization.apply(raw, dataType());
    }

    @Override
    public GraphForward forward(INDArray raw, boolean training, int[] lengths, Gradient grad) {
        INDArray flat = grad == null ? null : grad.flat();
        if (flat != null) {
            if (flat.length() != params.length() || flat.dataType() != params.dataType()) {
                throw new IllegalArgumentException("gradient vector of " + flat.length() + " " + flat.dataType() + " for "
                        + params.length() + " " + params.dataType() + " parameters");
            }
            flat.assign(0); // the passes accumulate
        }
        return forwardAccumulating(raw, training, lengths, flat);
    }

    /** {@link #forward(INDArray, boolean, int[], Gradient)} accumulating into a flat gradient vector (or null). */
    GraphForward forwardAccumulating(INDArray raw, boolean training, int[] lengths, INDArray grads) {
        Tape p = new Tape(params, grads, (int) raw.size(0), training, lengths);
        INDArray x = normalize(raw);
        INDArray h = body.forward(x, p);
        return new GraphForward(this, p, head.forward(h, p));
    }

    @Override
    public Gradient newGradient() {
        return Gradient.of(Nd4j.zeros(dataType(), params.length()));
    }

    @Override
    public Linearizer linearizer() {
        return new GraphLinearizer(this);
    }

    /** The layers through the last one that holds neurons: what tangent passes run through. */
    Sequence body() {
        return body;
    }

    /** The layers after the body (pooling, dense): only the logit Jacobian runs through them. */
    Sequence head() {
        return head;
    }

    /** Leading body layers whose coordinate tangents run in {@link Window}s (0: none, or windows off). */
    int windowedLayers() {
        return windows ? windowed : 0;
    }

    int windowRadius() {
        return windowRadius;
    }

    /** The batch-norm layers in forward order (none: empty). */
    private List<BatchNorm> batchNorms() {
        List<BatchNorm> out = new ArrayList<>();
        for (Layer l : Layer.flatten(body)) {
            if (l instanceof BatchNorm b) {
                out.add(b);
            }
        }
        for (Layer l : Layer.flatten(head)) {
            if (l instanceof BatchNorm b) {
                out.add(b);
            }
        }
        return out;
    }

    @Override
    public boolean hasBatchNorm() {
        return !batchNorms().isEmpty();
    }

    /**
     * Per-channel sums of every batch-norm layer's input (x, x^2, count; layer after layer) over a
     * training-mode pass of one batch, without touching the running statistics. Sums of several
     * batches (and of several workers) add up; {@link #setBatchNormStatistics} turns them into
     * population statistics.
     */
    @Override
    public double[] batchNormSums(INDArray raw, int[] lengths) {
        if (!hasBatchNorm()) {
            return null;
        }
        Tape p = new Tape(params, null, (int) raw.size(0), true, lengths);
        java.util.Map<BatchNorm, double[]> sums = new java.util.IdentityHashMap<>();
        p.collectStatistics(sums);
        INDArray h = body.forward(normalize(raw), p);
        head.forward(h, p);
        List<BatchNorm> bns = batchNorms();
        int total = 0;
        for (BatchNorm b : bns) {
            total += 2 * b.inShape()[0] + 1;
        }
        double[] out = new double[total];
        int off = 0;
        for (BatchNorm b : bns) {
            double[] acc = sums.get(b);
            System.arraycopy(acc, 0, out, off, acc.length);
            off += acc.length;
        }
        return out;
    }

    /** Sets every batch-norm layer's running statistics from summed {@link #batchNormSums}. */
    @Override
    public void setBatchNormStatistics(double[] sums) {
        Tape p = new Tape(params, null, 0, false, null);
        int off = 0;
        for (BatchNorm b : batchNorms()) {
            int len = 2 * b.inShape()[0] + 1;
            b.setStatistics(java.util.Arrays.copyOfRange(sums, off, off + len), p);
            off += len;
        }
    }
}
