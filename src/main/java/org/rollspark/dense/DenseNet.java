package org.rollspark.dense;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.net.Activation;
import org.rollspark.net.Forward;
import org.rollspark.net.Gradient;
import org.rollspark.net.Init;
import org.rollspark.net.Linearizer;
import org.rollspark.net.Network;
import org.rollspark.net.Normalization;
import org.rollspark.util.Blas;
import org.rollspark.util.Host;

/**
 * A dense piecewise-linear network: {@code z^i = W^i h^{i-1} + b^i}, {@code h^i = act(z^i)},
 * logits {@code f = W^L h^{L-1} + b^L}, with {@code h^0} the normalised input.
 *
 * <p>Weights follow PyTorch's nn.Linear layout: {@code W^i} has shape (out, in). All parameters live
 * in one flat buffer (per layer: weight row-major, then bias), so optimisers and parameter averaging
 * work on a single vector; {@link #weight} and {@link #bias} are live views into it.
 *
 * <p>Not thread-safe for concurrent mutation of parameters; forward passes do not mutate.
 */
public final class DenseNet implements Network {
    private final int[] sizes;
    private final Activation activation;
    private final Normalization normalization;
    private final INDArray params;
    private final INDArray[] weights;
    private final INDArray[] biases;

    private DenseNet(int[] sizes, Activation activation, Normalization normalization, INDArray params) {
        checkSizes(sizes);
        normalization.checkInputSize(sizes[0]);
        long expected = numParams(sizes);
        if (params.rank() != 1 || params.length() != expected) {
            throw new IllegalArgumentException("parameter vector of shape " + Arrays.toString(params.shape())
                    + " for layer sizes " + Arrays.toString(sizes) + ": need a vector of " + expected);
        }
        if (params.dataType() != DataType.FLOAT && params.dataType() != DataType.DOUBLE) {
            throw new IllegalArgumentException("parameters must be float32 or float64, got " + params.dataType());
        }
        this.sizes = sizes.clone();
        this.activation = activation;
        this.normalization = normalization;
        this.params = params;
        int layers = sizes.length - 1;
        this.weights = new INDArray[layers];
        this.biases = new INDArray[layers];
        long off = 0;
        for (int l = 0; l < layers; l++) {
            long in = sizes[l];
            long out = sizes[l + 1];
            weights[l] = params.get(NDArrayIndex.interval(off, off + in * out)).reshape('c', out, in);
            off += in * out;
            biases[l] = params.get(NDArrayIndex.interval(off, off + out));
            off += out;
        }
    }

    /**
     * A freshly initialised network.
     *
     * @param sizes layer widths: input, hidden layers (at least one), output
     */
    public static DenseNet init(int[] sizes, Activation activation, Normalization normalization, Init init,
            long seed, DataType dataType) {
        checkSizes(sizes);
        SplittableRandom rng = new SplittableRandom(seed);
        double[] flat = new double[Math.toIntExact(numParams(sizes))];
        int off = 0;
        for (int l = 0; l + 1 < sizes.length; l++) {
            double[] w = new double[sizes[l] * sizes[l + 1]];
            double[] b = new double[sizes[l + 1]];
            init.fill(w, b, sizes[l], rng);
            System.arraycopy(w, 0, flat, off, w.length);
            off += w.length;
            System.arraycopy(b, 0, flat, off, b.length);
            off += b.length;
        }
        return new DenseNet(sizes, activation, normalization, Host.array(flat, dataType, flat.length));
    }

    /** A network over the given flat parameter vector (used as is, not copied). */
    public static DenseNet of(int[] sizes, Activation activation, Normalization normalization, INDArray params) {
        return new DenseNet(sizes, activation, normalization, params);
    }

    public static long numParams(int[] sizes) {
        long n = 0;
        for (int l = 0; l + 1 < sizes.length; l++) {
            n += (long) sizes[l] * sizes[l + 1] + sizes[l + 1];
        }
        return n;
    }

    private static void checkSizes(int[] sizes) {
        if (sizes == null || sizes.length < 3) {
            throw new IllegalArgumentException("layer sizes " + Arrays.toString(sizes)
                    + ": need input, at least one hidden layer and output");
        }
        for (int s : sizes) {
            if (s < 1) {
                throw new IllegalArgumentException("layer sizes " + Arrays.toString(sizes) + ": every width must be >= 1");
            }
        }
    }

    public int[] sizes() {
        return sizes.clone();
    }

    @Override
    public int[] inputShape() {
        return new int[] {sizes[0]};
    }

    @Override
    public int inputSize() {
        return sizes[0];
    }

    @Override
    public int outputSize() {
        return sizes[sizes.length - 1];
    }

    /** Number of dense layers, including the output layer. */
    public int numLayers() {
        return sizes.length - 1;
    }

    public int numHidden() {
        return sizes.length - 2;
    }

    public int hiddenSize(int hidden) {
        return sizes[hidden + 1];
    }

    /** Total number of neurons (hidden units); the logits are not neurons. */
    @Override
    public int numNeurons() {
        int n = 0;
        for (int i = 1; i < sizes.length - 1; i++) {
            n += sizes[i];
        }
        return n;
    }

    public Activation activation() {
        return activation;
    }

    @Override
    public Normalization normalization() {
        return normalization;
    }

    @Override
    public DataType dataType() {
        return params.dataType();
    }

    /** The live flat parameter vector. */
    @Override
    public INDArray params() {
        return params;
    }

    /** Live (out, in) view of the weight of dense layer {@code layer} (0-based, output layer last). */
    public INDArray weight(int layer) {
        return weights[layer];
    }

    /** Live view of the bias of dense layer {@code layer}. */
    public INDArray bias(int layer) {
        return biases[layer];
    }

    /** Offset of the weight of {@code layer} in the flat vector (the bias follows it). */
    public long weightOffset(int layer) {
        long off = 0;
        for (int l = 0; l < layer; l++) {
            off += (long) sizes[l] * sizes[l + 1] + sizes[l + 1];
        }
        return off;
    }

    /** A zeroed network of the same architecture, used to hold gradients (its params are the flat gradient). */
    private DenseNet gradientBuffer() {
        return new DenseNet(sizes, activation, normalization, Nd4j.zeros(dataType(), params.length()));
    }

    @Override
    public Gradient newGradient() {
        return new Views(gradientBuffer());
    }

    /** A gradient holder with per-layer weight and bias views over its flat vector. */
    record Views(DenseNet net) implements Gradient {
        @Override
        public INDArray flat() {
            return net.params();
        }
    }

    /** Per layer {@code layer<l>.weight} (out, in) and {@code layer<l>.bias} (out), in storage order. */
    @Override
    public List<Tensor> tensors() {
        List<Tensor> out = new ArrayList<>();
        for (int l = 0; l < numLayers(); l++) {
            long off = weightOffset(l);
            out.add(new Tensor("layer" + l + ".weight", off, new long[] {sizes[l + 1], sizes[l]}));
            out.add(new Tensor("layer" + l + ".bias", off + (long) sizes[l] * sizes[l + 1], new long[] {sizes[l + 1]}));
        }
        return out;
    }

    @Override
    public DenseForward forward(INDArray raw, boolean training, int[] lengths, Gradient grad) {
        if (lengths != null) {
            throw new IllegalArgumentException("sequence lengths need a graph network with a recurrent layer");
        }
        DenseNet views = null;
        if (grad instanceof Views v && Arrays.equals(v.net().sizes, sizes) && v.net().dataType() == dataType()) {
            views = v.net();
        } else if (grad != null) {
            if (grad.flat().length() != params.length() || grad.flat().dataType() != dataType()) {
                throw new IllegalArgumentException("gradient vector of " + grad.flat().length() + " " + grad.flat().dataType()
                        + " for a " + Arrays.toString(sizes) + " " + dataType() + " network");
            }
            views = withParams(grad.flat());
        }
        return new DenseForward(this, raw, activations(raw), views);
    }

    @Override
    public Linearizer linearizer() {
        return new DenseLinearizer(this);
    }

    @Override
    public DenseNet withParams(INDArray flat) {
        return new DenseNet(sizes, activation, normalization, flat);
    }

    /** Layer sizes of a model.json dense architecture. */
    public static int[] sizesOf(com.fasterxml.jackson.databind.JsonNode arch) {
        com.fasterxml.jackson.databind.JsonNode n = arch.path("sizes");
        if (!n.isArray() || n.size() < 3) {
            throw new IllegalArgumentException("architecture.sizes must list the input, hidden and output widths");
        }
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).canConvertToInt() || n.get(i).asInt() < 1) {
                throw new IllegalArgumentException("architecture.sizes[" + i + "] = " + n.get(i) + " is not a positive integer");
            }
            out[i] = n.get(i).asInt();
        }
        return out;
    }

    /** The activation of a model.json dense architecture. */
    public static Activation activationOf(com.fasterxml.jackson.databind.JsonNode arch) {
        return new Activation(arch.path("activation").asText(), arch.path("alpha").asDouble(0));
    }

    @Override
    public com.fasterxml.jackson.databind.node.ObjectNode architecture() {
        return architecture(sizes, activation);
    }

    /** The model.json architecture of a dense net: {@code {"type": "dense", "sizes": [...], "activation": ..., "alpha": ...}}. */
    public static com.fasterxml.jackson.databind.node.ObjectNode architecture(int[] sizes, Activation activation) {
        com.fasterxml.jackson.databind.node.ObjectNode arch = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance
                .objectNode().put("type", "dense");
        com.fasterxml.jackson.databind.node.ArrayNode s = arch.putArray("sizes");
        for (int v : sizes) {
            s.add(v);
        }
        return arch.put("activation", activation.name()).put("alpha", activation.alpha());
    }

    @Override
    public String describe() {
        StringBuilder b = new StringBuilder("dense");
        for (int v : sizes) {
            b.append(b.length() == 5 ? " " : "-").append(v);
        }
        return b.append(' ').append(activation.spec()).toString();
    }

    @Override
    public INDArray inputGradient(INDArray raw, INDArray dLogits) {
        DenseActivations fp = activations(raw);
        int n = (int) raw.size(0);
        double[] delta = Host.pull(dLogits);
        for (int l = numLayers() - 1; l >= 0; l--) {
            int out = sizes[l + 1];
            double[] g = Host.pull(Blas.product(Host.array(delta, dataType(), n, out), false, weights[l], false));
            if (l > 0) {
                double[] z = fp.preactHost()[l - 1];
                for (int q = 0; q < g.length; q++) {
                    g[q] *= activation.slope(z[q]);
                }
            }
            delta = g;
        }
        int d = inputSize();
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < d; r++) {
                delta[i * d + r] /= normalization.std(r);
            }
        }
        return Host.array(delta, dataType(), n, d);
    }

    /** A deep copy with its own parameter buffer. */
    @Override
    public DenseNet copy() {
        return new DenseNet(sizes, activation, normalization, params.dup());
    }

    /** A copy in another data type (float64 for verification, float32 for speed). */
    @Override
    public DenseNet castTo(DataType type) {
        return new DenseNet(sizes, activation, normalization, params.castTo(type).dup());
    }

    /** Normalised copy of a (B, D) raw input batch, in this network's data type. */
    public INDArray normalize(INDArray raw) {
        checkInput(raw);
        return normalization.apply(raw, dataType());
    }

    private void checkInput(INDArray raw) {
        if (raw.rank() != 2 || raw.size(1) != inputSize()) {
            throw new IllegalArgumentException("input of shape " + Arrays.toString(raw.shape())
                    + ": the network takes (batch, " + inputSize() + ")");
        }
    }

    /** Forward pass of a raw (B, D) batch, keeping every hidden pre-activation. */
    public DenseActivations activations(INDArray raw) {
        INDArray h = normalize(raw);
        INDArray input = h;
        int hidden = numHidden();
        INDArray[] a = new INDArray[hidden];
        double[][] zHost = new double[hidden][];
        int batch = (int) raw.size(0);
        for (int i = 0; i < hidden; i++) {
            INDArray zi = Blas.product(h, false, weights[i], true);
            double[] zd = Host.pull(zi);
            addBias(zd, Host.pull(biases[i]), batch);
            double[] hd = new double[zd.length];
            double alpha = activation.alpha();
            for (int k = 0; k < zd.length; k++) {
                hd[k] = Math.max(zd[k], alpha * zd[k]); // z if z > 0, else alpha z (alpha < 1)
            }
            zHost[i] = zd;
            h = Host.array(hd, dataType(), batch, sizes[i + 1]);
            a[i] = h;
        }
        return new DenseActivations(input, a, zHost, outputLayer(h, batch));
    }

    /** Logits of a raw (B, D) batch. */
    @Override
    public INDArray logits(INDArray raw) {
        return activations(raw).logits();
    }

    private INDArray outputLayer(INDArray h, int batch) {
        int last = numLayers() - 1;
        INDArray f = Blas.product(h, false, weights[last], true);
        double[] fd = Host.pull(f);
        addBias(fd, Host.pull(biases[last]), batch);
        Host.push(fd, f);
        return f;
    }

    private static void addBias(double[] z, double[] bias, int batch) {
        int n = bias.length;
        for (int r = 0; r < batch; r++) {
            int o = r * n;
            for (int j = 0; j < n; j++) {
                z[o + j] += bias[j];
            }
        }
    }
}
