package org.rollspark.graph;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.net.Activation;
import org.rollspark.net.Init;
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
        List<Layer> layers = build(layerSpecs, inputShape, "layers");
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
     * Whether coordinate tangents ({@link Forward#tangentBasis}) run through the leading
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
     * The same dense network as a graph (dense and activation layers), over the SAME parameter vector:
     * the flat layouts agree, so updates to either are seen by both.
     */
    public static GraphNet fromDense(org.rollspark.net.DenseNet net) {
        ArrayNode layers = JsonNodeFactory.instance.arrayNode();
        int[] sizes = net.sizes();
        for (int l = 1; l < sizes.length; l++) {
            layers.addObject().put("type", "dense").put("units", sizes[l]);
            if (l < sizes.length - 1) {
                layers.addObject().put("type", "act").put("activation", net.activation().spec());
            }
        }
        return new GraphNet(new int[] {sizes[0]}, layers, net.normalization(), net.params());
    }

    /** Number of parameters of an architecture. */
    public static long numParams(int[] inputShape, ArrayNode layers) {
        long n = 0;
        for (Layer l : build(layers, inputShape, "layers")) {
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

    // ---------------------------------------------------------------- architecture

    private static final Set<String> COMMON = Set.of("type");

    private static List<Layer> build(JsonNode specs, int[] in, String where) {
        if (specs == null || !specs.isArray()) {
            throw new IllegalArgumentException("architecture: '" + where + "' must be a list of layers");
        }
        List<Layer> layers = new ArrayList<>();
        int[] shape = in;
        int i = 0;
        for (JsonNode spec : specs) {
            Layer l = layer(spec, shape, where + "[" + i++ + "]");
            layers.add(l);
            shape = l.outShape();
        }
        return layers;
    }

    private static Layer layer(JsonNode spec, int[] in, String where) {
        if (!spec.isObject() || !spec.hasNonNull("type")) {
            throw new IllegalArgumentException("architecture: " + where + " must be an object with a 'type'");
        }
        String type = spec.get("type").asText().toLowerCase(java.util.Locale.ROOT);
        try {
            return switch (type) {
                case "dense", "linear" -> {
                    keys(spec, "units", "bias");
                    yield new Dense(in, need(spec, "units"), spec.path("bias").asBoolean(true));
                }
                case "conv2d", "conv" -> {
                    keys(spec, "filters", "kernel", "stride", "padding", "bias");
                    yield new Conv2d(in, need(spec, "filters"), spec.path("kernel").asInt(3), spec.path("stride").asInt(1),
                            spec.path("padding").asInt(0), spec.path("bias").asBoolean(true));
                }
                case "avgpool", "avg_pool", "avgpool2d" -> {
                    keys(spec, "kernel");
                    yield AvgPool.window(in, need(spec, "kernel"));
                }
                case "global_avgpool", "global_avg_pool" -> {
                    keys(spec);
                    yield AvgPool.global(in);
                }
                case "batchnorm", "batch_norm", "bn" -> {
                    keys(spec, "eps", "momentum");
                    yield new BatchNorm(in, spec.path("eps").asDouble(BatchNorm.DEFAULT_EPS),
                            spec.path("momentum").asDouble(BatchNorm.DEFAULT_MOMENTUM));
                }
                case "act", "activation" -> {
                    keys(spec, "activation");
                    yield new Act(in, Activation.parse(spec.path("activation").asText("relu")));
                }
                case "relu", "leaky_relu" -> {
                    keys(spec, "alpha");
                    yield new Act(in, type.equals("relu") ? Activation.relu()
                            : Activation.leakyRelu(spec.path("alpha").asDouble(0.01)));
                }
                case "residual" -> {
                    keys(spec, "main", "shortcut", "activation");
                    List<Layer> main = build(spec.get("main"), in, where + ".main");
                    if (main.isEmpty()) {
                        throw new IllegalArgumentException("the main branch is empty");
                    }
                    List<Layer> shortcut = spec.has("shortcut") ? build(spec.get("shortcut"), in, where + ".shortcut")
                            : List.of();
                    yield new Residual(in, new Sequence(in, main), new Sequence(in, shortcut),
                            Activation.parse(spec.path("activation").asText("relu")));
                }
                case "rnn", "recurrent" -> {
                    keys(spec, "hidden", "activation", "recurrent_init");
                    String ri = spec.path("recurrent_init").asText("uniform");
                    if (!ri.equals("uniform") && !ri.equals("identity")) {
                        throw new IllegalArgumentException("recurrent_init '" + ri + "': use uniform or identity");
                    }
                    yield new Recurrent(in, need(spec, "hidden"), Activation.parse(spec.path("activation").asText("relu")),
                            ri.equals("identity"));
                }
                case "maxpool", "max_pool", "maxpool2d" -> throw new IllegalArgumentException(
                        "max pooling is not supported: it is piecewise linear but adds one constraint per (winner, loser)"
                                + " pair to every region; use avgpool, as the paper does for its ResNet");
                case "lstm", "gru", "sigmoid", "tanh", "softplus", "elu", "gelu" -> throw new IllegalArgumentException(
                        "'" + type + "' is not piecewise linear, so it has no linear regions to certify;"
                                + " use relu or leaky_relu units");
                default -> throw new IllegalArgumentException("unknown layer type '" + type + "' (known: dense, conv2d,"
                        + " avgpool, global_avgpool, batchnorm, act, relu, leaky_relu, residual, rnn)");
            };
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("architecture: " + where + " (" + type + "): " + e.getMessage(), e);
        }
    }

    private static int need(JsonNode spec, String key) {
        if (!spec.hasNonNull(key) || !spec.get(key).canConvertToInt()) {
            throw new IllegalArgumentException("needs an integer '" + key + "'");
        }
        return spec.get(key).asInt();
    }

    private static void keys(JsonNode spec, String... allowed) {
        Set<String> ok = new java.util.HashSet<>(COMMON);
        ok.addAll(Arrays.asList(allowed));
        for (Iterator<String> it = spec.fieldNames(); it.hasNext();) {
            String k = it.next();
            if (!ok.contains(k)) {
                throw new IllegalArgumentException("unknown key '" + k + "' (allowed: " + String.join(", ", allowed) + ")");
            }
        }
    }

    // ---------------------------------------------------------------- accessors

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

    /** The parameter tensors in storage order, with their offsets in {@link #params()}. */
    public List<Layer.Param> parameterTensors() {
        return List.copyOf(allParams);
    }

    /**
     * The parameter tensors by name, in storage order: {@code <layer index>.<tensor>} for top-level
     * layers (e.g. {@code 0.weight}), {@code <index>.main.<i>.<tensor>} and
     * {@code <index>.shortcut.<i>.<tensor>} inside residual blocks.
     */
    public java.util.LinkedHashMap<String, Layer.Param> namedTensors() {
        java.util.LinkedHashMap<String, Layer.Param> out = new java.util.LinkedHashMap<>();
        int i = 0;
        for (Layer l : body.layers()) {
            name(l, (i++) + ".", out);
        }
        for (Layer l : head.layers()) {
            name(l, (i++) + ".", out);
        }
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
        return Pass.view(params, p);
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

    /** The input shape of a model.json graph architecture. */
    public static int[] inputShapeOf(JsonNode arch) {
        JsonNode n = arch.path("input_shape");
        if (!n.isArray() || n.isEmpty() || n.size() > 3) {
            throw new IllegalArgumentException("architecture.input_shape must be [features], [steps, features] or"
                    + " [channels, height, width]");
        }
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).canConvertToInt() || n.get(i).asInt() < 1) {
                throw new IllegalArgumentException("architecture.input_shape[" + i + "] = " + n.get(i)
                        + " is not a positive integer");
            }
            out[i] = n.get(i).asInt();
        }
        return out;
    }

    @Override
    public NeuronValues neuronValues(INDArray raw) {
        return forward(raw, false, null, null).values();
    }

    @Override
    public NeuronValues neuronValues(INDArray raw, int[] lengths) {
        return forward(raw, false, lengths, null).values();
    }

    @Override
    public INDArray inputGradient(INDArray raw, INDArray dLogits) {
        INDArray g = forward(raw, false, null, null).inputGradient(dLogits.castTo(dataType()));
        double[] std = new double[inputSize()];
        for (int k = 0; k < std.length; k++) {
            std[k] = normalization.std(k);
        }
        return g.diviRowVector(Host.array(std, dataType(), std.length));
    }

    /** The architecture as stored in model.json: input shape and layer list. */
    @Override
    public ObjectNode architecture() {
        ObjectNode o = JsonNodeFactory.instance.objectNode().put("type", "graph");
        ArrayNode shape = o.putArray("input_shape");
        for (int d : inputShape) {
            shape.add(d);
        }
        o.set("layers", layers());
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

    /**
     * Forward pass of a raw batch.
     *
     * @param training batch statistics in batch norm (and running statistics updated)
     * @param lengths  valid steps per example for recurrent layers, or null
     * @param grads    flat gradient vector that later backward passes accumulate into, or null
     */
    public Forward forward(INDArray raw, boolean training, int[] lengths, INDArray grads) {
        if (grads != null && (grads.length() != params.length() || grads.dataType() != params.dataType())) {
            throw new IllegalArgumentException("gradient vector of " + grads.length() + " " + grads.dataType() + " for "
                    + params.length() + " " + params.dataType() + " parameters");
        }
        Pass p = new Pass(params, grads, (int) raw.size(0), training, lengths);
        INDArray x = normalize(raw);
        INDArray h = body.forward(x, p);
        return new Forward(p, h, head.forward(h, p));
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

    public boolean hasBatchNorm() {
        return !batchNorms().isEmpty();
    }

    /**
     * Per-channel sums of every batch-norm layer's input (x, x^2, count; layer after layer) over a
     * training-mode pass of one batch, without touching the running statistics. Sums of several
     * batches (and of several workers) add up; {@link #setBatchNormStatistics} turns them into
     * population statistics.
     */
    public double[] batchNormSums(INDArray raw, int[] lengths) {
        Pass p = new Pass(params, null, (int) raw.size(0), true, lengths);
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
    public void setBatchNormStatistics(double[] sums) {
        Pass p = new Pass(params, null, 0, false, null);
        int off = 0;
        for (BatchNorm b : batchNorms()) {
            int len = 2 * b.inShape()[0] + 1;
            b.setStatistics(java.util.Arrays.copyOfRange(sums, off, off + len), p);
            off += len;
        }
    }

    /** Logits of a raw batch in inference mode. */
    @Override
    public INDArray logits(INDArray raw) {
        return forward(raw, false, null, null).logits();
    }

    /** The base pass over a batch: its {@link Pass}, the body output and the logits. */
    public final class Forward {
        private final Pass pass;
        private final INDArray bodyOut;
        private final INDArray logits;
        private Window window; // of the latest tangent pass, when it ran in windows

        Forward(Pass pass, INDArray bodyOut, INDArray logits) {
            this.pass = pass;
            this.bodyOut = bodyOut;
            this.logits = logits;
        }

        public Pass pass() {
            return pass;
        }

        public INDArray logits() {
            return logits;
        }

        public List<Pass.Neurons> neurons() {
            return pass.neurons();
        }

        /** Host copies of every neuron group's pre-activations and validity, the group sizes and the logits. */
        public NeuronValues values() {
            List<Pass.Neurons> gs = pass.neurons();
            double[][] z = new double[gs.size()][];
            double[][] valid = new double[gs.size()][];
            int[] sizes = new int[gs.size()];
            for (int i = 0; i < z.length; i++) {
                z[i] = Host.pull(gs.get(i).z());
                valid[i] = gs.get(i).valid() == null ? null : Host.pull(gs.get(i).valid());
                sizes[i] = gs.get(i).size();
            }
            return new NeuronValues(z, valid, sizes, Host.pull(logits));
        }

        /**
         * Pushes {@code k} tangent rows per example (normalised input space, example-major) through the
         * linearised body; afterwards every neuron group holds its tangent pre-activations. Returns the
         * body output's tangents.
         */
        public INDArray tangent(INDArray seeds, int k) {
            if (seeds.size(0) != (long) pass.batch() * k || seeds.size(1) != inputSize()) {
                throw new IllegalArgumentException("tangent seeds of shape " + Arrays.toString(seeds.shape()) + " for "
                        + pass.batch() + " examples x " + k + " tangents of size " + inputSize());
            }
            pass.tangents(k);
            window = null;
            return body.tangent(seeds, pass);
        }

        /**
         * {@link #tangent} for scaled basis vectors: row q of the seeds is {@code values[q]} (1 when
         * values is null) at input coordinate {@code coords[q]}, k rows per example. Through the
         * leading full-resolution layers of a conv net the tangents run as local {@link Window}s
         * (same result, a fraction of the work); neuron groups there hold windows, which
         * {@link Pass.Neurons#tangent} expands on request.
         */
        public INDArray tangentBasis(int[] coords, double[] values, int k) {
            if (coords.length != pass.batch() * k) {
                throw new IllegalArgumentException(coords.length + " tangent coordinates for " + pass.batch()
                        + " examples x " + k + " tangents");
            }
            if (!windows || windowed == 0) {
                INDArray seeds = Nd4j.zeros(dataType(), coords.length, inputSize());
                for (int q = 0; q < coords.length; q++) {
                    seeds.putScalar(q, coords[q], values == null ? 1.0 : values[q]);
                }
                return tangent(seeds, k);
            }
            pass.tangents(k);
            window = Window.around(coords, inputShape[1], inputShape[2], windowRadius);
            INDArray t = window.seeds(coords, values, inputShape[0], dataType());
            List<Layer> layers = body.layers();
            pass.window(window);
            for (int i = 0; i < windowed; i++) {
                t = layers.get(i).tangent(t, pass);
            }
            pass.window(null);
            t = window.embed(t);
            for (int i = windowed; i < layers.size(); i++) {
                t = layers.get(i).tangent(t, pass);
            }
            return t;
        }

        /** The logit tangents of the latest {@link #tangent} call's body output. */
        public INDArray logitTangent(INDArray bodyTangent) {
            return head.tangent(bodyTangent, pass);
        }

        /**
         * Reverse mode through the latest tangent pass, from the neuron groups' tangent gradients
         * ({@link Pass.Neurons#setTangentGradient}); accumulates parameter gradients.
         */
        public void backwardTangent() {
            INDArray dt = Nd4j.zeros(dataType(), (long) pass.batch() * pass.tangents(), body.outSize());
            if (window == null) {
                body.backwardTangent(dt, pass, false);
                return;
            }
            List<Layer> layers = body.layers();
            for (int i = layers.size() - 1; i >= windowed; i--) {
                dt = layers.get(i).backwardTangent(dt, pass, true);
            }
            dt = window.crop(dt);
            pass.window(window);
            for (int i = windowed - 1; i >= 0; i--) {
                dt = layers.get(i).backwardTangent(dt, pass, i > 0);
            }
            pass.window(null);
        }

        /**
         * Reverse mode through the base pass from d loss / d logits plus the neuron groups' z
         * gradients; accumulates parameter gradients. Call after every {@link #backwardTangent}.
         */
        public void backward(INDArray dLogits) {
            body.backward(head.backward(dLogits, pass, true), pass, false);
        }

        /** Gradient of {@code sum(dLogits * logits)} with respect to the normalised input (no parameter gradients kept). */
        public INDArray inputGradient(INDArray dLogits) {
            return body.backward(head.backward(dLogits, pass, true), pass, true);
        }
    }
}
