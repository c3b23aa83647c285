package org.rollspark.graph;

import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.net.Coordinates;
import org.rollspark.net.Forward;
import org.rollspark.net.Network.NeuronValues;
import org.rollspark.util.Host;

/**
 * A forward pass of a {@link GraphNet} over a batch, with its {@link Tape}, and the logits, and the tangent and reverse passes that build on it.
 *
 * <p>Neuron input-gradients are tangents of the linearised body: basis vectors of the normalised
 * input are pushed through it (all D of them, in blocks, for the exact ROLL term; the drawn ones
 * for the sampled term) and every neuron group then holds {@code dz_j / dx_k} for the pushed
 * coordinates. Through the leading full-resolution layers of a conv net they run as local
 * {@link Window}s (same result, a fraction of the work).
 */
public final class GraphForward implements Forward {
    /** Tangent values per block of the exact ROLL term (about 128 MB in float32). */
    private static final long BLOCK_VALUES = 32L << 20;

    private final GraphNet net;
    private final Tape tape;
    private final INDArray logits;
    private Window window; // of the latest tangent pass, when it ran in windows

    GraphForward(GraphNet net, Tape tape, INDArray logits) {
        this.net = net;
        this.tape = tape;
        this.logits = logits;
    }

    @Override
    public INDArray logits() {
        return logits;
    }

    @Override
    public List<Tape.Neurons> neurons() {
        return tape.neurons();
    }

    @Override
    public NeuronValues values() {
        List<Tape.Neurons> gs = tape.neurons();
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

    @Override
    public void squaredGradients(Coordinates draw, INDArray[] sq, INDArray[] weight) {
        int n = tape.batch();
        if (!draw.isAll()) {
            tangentBlock(draw.coords(), draw.rows(), draw.scale(), sq, weight);
            return;
        }
        int d = net.inputSize();
        long perRow = Math.max(1, net.numNeurons() * 2L);
        int block = (int) Math.max(1, Math.min(d, BLOCK_VALUES / ((long) n * perRow)));
        for (int from = 0; from < d; from += block) {
            int r = Math.min(block, d - from);
            tangentBlock(coordinateBlock(n, from, r), r, 1.0, sq, weight);
        }
    }

    /** Input coordinates {@code from .. from + rows - 1} for each of {@code batch} examples, example-major. */
    static int[] coordinateBlock(int batch, int from, int rows) {
        int[] coords = new int[batch * rows];
        for (int e = 0; e < batch; e++) {
            for (int i = 0; i < rows; i++) {
                coords[e * rows + i] = from + i;
            }
        }
        return coords;
    }

    /**
     * One block of tangents: push it, add its scaled squared derivatives to {@code sq} when given,
     * and when {@code weight} is given back-propagate {@code d/d tz = 2 s weight tz}.
     */
    private void tangentBlock(int[] coords, int k, double s, INDArray[] sq, INDArray[] weight) {
        tangentBasis(coords, null, k);
        List<Tape.Neurons> groups = tape.neurons();
        for (int i = 0; i < groups.size(); i++) {
            Tape.Neurons grp = groups.get(i);
            if (sq != null) {
                grp.addTangentSquares(sq[i], k, s);
            }
            if (weight != null) {
                grp.setTangentGradient(grp.tangentTimes(weight[i], k).muli(2 * s));
            }
        }
        if (weight != null) {
            backwardTangent();
        }
    }

    /**
     * Pushes {@code k} tangent rows per example (normalised input space, example-major) through the
     * linearised body; afterwards every neuron group holds its tangent pre-activations. Returns the
     * body output's tangents.
     */
    public INDArray tangent(INDArray seeds, int k) {
        if (seeds.size(0) != (long) tape.batch() * k || seeds.size(1) != net.inputSize()) {
            throw new IllegalArgumentException("tangent seeds of shape " + Arrays.toString(seeds.shape()) + " for "
                    + tape.batch() + " examples x " + k + " tangents of size " + net.inputSize());
        }
        tape.tangents(k);
        window = null;
        return net.body().tangent(seeds, tape);
    }

    /**
     * {@link #tangent} for scaled basis vectors: row q of the seeds is {@code values[q]} (1 when
     * values is null) at input coordinate {@code coords[q]}, k rows per example. Neuron groups in
     * windowed layers hold windows, which {@link Tape.Neurons#tangent} expands on request.
     */
    public INDArray tangentBasis(int[] coords, double[] values, int k) {
        if (coords.length != tape.batch() * k) {
            throw new IllegalArgumentException(coords.length + " tangent coordinates for " + tape.batch()
                    + " examples x " + k + " tangents");
        }
        int windowed = net.windowedLayers();
        if (windowed == 0) {
            INDArray seeds = Nd4j.zeros(net.dataType(), coords.length, net.inputSize());
            for (int q = 0; q < coords.length; q++) {
                seeds.putScalar(q, coords[q], values == null ? 1.0 : values[q]);
            }
            return tangent(seeds, k);
        }
        int[] shape = net.inputShape();
        tape.tangents(k);
        window = Window.around(coords, shape[1], shape[2], net.windowRadius());
        INDArray t = window.seeds(coords, values, shape[0], net.dataType());
        List<Layer> layers = net.body().layers();
        tape.window(window);
        for (int i = 0; i < windowed; i++) {
            t = layers.get(i).tangent(t, tape);
        }
        tape.window(null);
        t = window.embed(t);
        for (int i = windowed; i < layers.size(); i++) {
            t = layers.get(i).tangent(t, tape);
        }
        return t;
    }

    /** The logit tangents of the latest tangent pass's body output. */
    public INDArray logitTangent(INDArray bodyTangent) {
        return net.head().tangent(bodyTangent, tape);
    }

    /**
     * Reverse mode through the latest tangent pass, from the neuron groups' tangent gradients
     * ({@link Tape.Neurons#setTangentGradient}); accumulates parameter gradients.
     */
    public void backwardTangent() {
        Sequence body = net.body();
        INDArray dt = Nd4j.zeros(net.dataType(), (long) tape.batch() * tape.tangents(), body.outSize());
        if (window == null) {
            body.backwardTangent(dt, tape, false);
            return;
        }
        int windowed = net.windowedLayers();
        List<Layer> layers = body.layers();
        for (int i = layers.size() - 1; i >= windowed; i--) {
            dt = layers.get(i).backwardTangent(dt, tape, true);
        }
        dt = window.crop(dt);
        tape.window(window);
        for (int i = windowed - 1; i >= 0; i--) {
            dt = layers.get(i).backwardTangent(dt, tape, i > 0);
        }
        tape.window(null);
    }

    @Override
    public void backward(INDArray dLogits) {
        net.body().backward(net.head().backward(dLogits, tape, true), tape, false);
    }

    /** Gradient of {@code sum(dLogits * logits)} with respect to the normalised input (no parameter gradients kept). */
    public INDArray inputGradient(INDArray dLogits) {
        return net.body().backward(net.head().backward(dLogits, tape, true), tape, true);
    }
}
