package org.rollspark.loss;

import static org.rollspark.config.Setting.Type.BOOL;
import static org.rollspark.config.Setting.Type.DOUBLE;
import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.Type.STRING;
import static org.rollspark.config.Setting.atLeast;
import static org.rollspark.config.Setting.finiteAtLeast;
import static org.rollspark.config.Setting.oneOf;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.rollspark.config.Setting;
import org.rollspark.net.Coordinates;
import org.rollspark.net.Forward;
import org.rollspark.net.Gradient;
import org.rollspark.net.Network;
import org.rollspark.net.Neurons;
import org.rollspark.util.Host;
import org.rollspark.util.Workspaces;

/**
 * The ROLL loss (docs/METHOD.md section 4): per example,
 * {@code CE(f(x), y) + lambda * aggregate_j t_j} with {@code t_j = ||grad_x z_j||_2^2 + C max(0, 1 - |z_j|)},
 * gradients taken with respect to the NORMALISED input; the batch loss is the mean over examples.
 * {@code lambda = 0} is the vanilla cross-entropy loss. Padded sequence steps are not neurons: the
 * aggregate is over each example's real neurons.
 *
 * <p>One path for every {@link Network}: a forward pass, the squared neuron input-gradients from the
 * network's tangent passes ({@link Forward#squaredGradients}: exact over all coordinates, or sampled
 * and scaled by D / D'), the aggregation, and reverse mode through the same tangent passes
 * ({@code d/d sq_j = u_j}) and through the base pass (cross-entropy and the hinge), activation masks
 * held constant. The mean needs one tangent pass; top-gamma and max a second one once the
 * per-neuron values are known. How a network computes its tangents fast is its own business (the
 * dense net's thin-QR chain, the graph net's local windows).
 */
public final class RollLoss implements java.io.Serializable {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<String> TYPE = SETTINGS.add(Setting.of("loss.type", STRING, "roll", "roll or vanilla.",
            oneOf(List.of("roll", "vanilla"))).main());
    public static final Setting<Double> LAMBDA = SETTINGS.add(Setting.of("loss.lambda", DOUBLE, 2.0,
            "Weight of the ROLL term.", finiteAtLeast(0)).main());
    public static final Setting<Double> C = SETTINGS.add(Setting.of("loss.c", DOUBLE, 0.25,
            "Weight of the hinge C max(0, 1 - |z|) in the ROLL term.", finiteAtLeast(0)).main());
    public static final Setting<String> GAMMA = SETTINGS.add(Setting.of("loss.gamma", STRING, "100",
            "100 = mean over all neurons; < 100 = mean of the top gamma percent; \"max\".", Aggregation::parse).main());
    public static final Setting<Integer> SAMPLES = SETTINGS.add(Setting.of("loss.samples", INT, 0,
            "The gradient term over input coordinates: 0 = exact (all D); D' > 0 = the sampled loss, D' coordinates "
                    + "drawn per example and step, scaled by D / D' (unbiased; gamma = 100 only; the paper: 3 on MNIST).",
            atLeast(0)).main());
    public static final Setting<Boolean> SAMPLES_PER_CHANNEL = SETTINGS.add(Setting.of("loss.samplesPerChannel", BOOL, false,
            "Draw loss.samples coordinates from each channel of a (C, H, W) input (the paper: 120 per colour "
                    + "channel).").main());

    private static final long serialVersionUID = 1L;
    private final double lambda;
    private final double c;
    private final Aggregation aggregation;
    private final Sampling sampling;

    public RollLoss(double lambda, double c, Aggregation aggregation) {
        this(lambda, c, aggregation, Sampling.exact());
    }

    public RollLoss(double lambda, double c, Aggregation aggregation, Sampling sampling) {
        LAMBDA.check(lambda);
        C.check(c);
        this.lambda = lambda;
        this.c = c;
        this.aggregation = aggregation;
        this.sampling = sampling;
        if (!sampling.isExact() && !aggregation.isMean()) {
            throw new IllegalArgumentException("sampled ROLL (" + SAMPLES + " = " + sampling.coordinates()
                    + ") is unbiased only for the mean over neurons (gamma = 100), not " + aggregation.spec());
        }
    }

    /** The loss the settings describe. */
    public static RollLoss of(Setting.Values v) {
        if (v.get(TYPE).equals("vanilla")) {
            return vanilla();
        }
        return new RollLoss(v.get(LAMBDA), v.get(C), Aggregation.parse(v.get(GAMMA)), new Sampling(v.get(SAMPLES),
                v.get(SAMPLES_PER_CHANNEL)));
    }

    /** The same loss with the gradient term sampled over input coordinates (or exact again). */
    public RollLoss withSampling(Sampling s) {
        return new RollLoss(lambda, c, aggregation, s);
    }

    public Sampling sampling() {
        return sampling;
    }

    public static RollLoss vanilla() {
        return new RollLoss(0, 0, Aggregation.mean());
    }

    public static RollLoss roll(double lambda, double c) {
        return new RollLoss(lambda, c, Aggregation.mean());
    }

    public double lambda() {
        return lambda;
    }

    public double c() {
        return c;
    }

    public Aggregation aggregation() {
        return aggregation;
    }

    /** The loss's settings as the job files name them ({@code loss.*}), for provenance. */
    public java.util.Map<String, Object> settings() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put(TYPE.key(), isVanilla() ? "vanilla" : "roll");
        m.put(LAMBDA.key(), lambda);
        m.put(C.key(), c);
        m.put(GAMMA.key(), aggregation.spec());
        m.put(SAMPLES.key(), sampling.coordinates());
        m.put(SAMPLES_PER_CHANNEL.key(), sampling.perChannel());
        return m;
    }

    public boolean isVanilla() {
        return lambda == 0;
    }

    /** A zeroed, reusable gradient holder for {@code net}. */
    public Gradient gradientFor(Network net) {
        return net.newGradient();
    }

    /**
     * Loss and gradient of a training step (batch norm on batch statistics), the gradient written
     * into {@code g} (overwritten). {@code seed} draws the sampled coordinates of a sampled loss.
     */
    public LossValue valueAndGradient(Network net, INDArray raw, int[] labels, Gradient g, long seed) {
        return valueAndGradient(net, raw, labels, null, g, seed);
    }

    /** {@link #valueAndGradient(Network, INDArray, int[], Gradient, long)} of padded sequences with lengths (or null). */
    public LossValue valueAndGradient(Network net, INDArray raw, int[] labels, int[] lengths, Gradient g, long seed) {
        return compute(net, raw, labels, lengths, g, seed, true);
    }

    /**
     * The loss and its gradient written into a flat vector laid out like the parameters (overwritten);
     * a sampled loss draws its coordinates with seed 0.
     */
    public LossValue valueAndGradient(Network net, INDArray raw, int[] labels, INDArray grad) {
        return compute(net, raw, labels, null, Gradient.of(grad), 0, true);
    }

    /**
     * The loss of a batch in inference mode, without gradients (validation). A sampled loss is
     * estimated with a fixed seed, so that epochs are compared on the same draw.
     */
    public LossValue value(Network net, INDArray raw, int[] labels) {
        return value(net, raw, labels, null);
    }

    /** {@link #value(Network, INDArray, int[])} of padded sequences with lengths (or null). */
    public LossValue value(Network net, INDArray raw, int[] labels, int[] lengths) {
        return compute(net, raw, labels, lengths, null, VALIDATION_SEED, false);
    }

    /**
     * The loss of a batch and, when {@code g} is given, its gradient, at an explicit mode: {@code
     * training} normalises batch norm with batch statistics (and updates the running ones).
     */
    public LossValue compute(Network net, INDArray raw, int[] labels, int[] lengths, Gradient g, long seed,
            boolean training) {
        // a workspace: fresh multi-MB allocations are page-faulted in on first touch, which cost more than the GEMMs
        try (MemoryWorkspace ws = Workspaces.openRoomy(g == null ? "roll-loss-value" : "roll-loss-gradient")) {
            return computeInScope(net, raw, labels, lengths, g, seed, training);
        }
    }

    private static final long VALIDATION_SEED = 0x5EEDL;

    private LossValue computeInScope(Network net, INDArray raw, int[] labels, int[] lengths, Gradient g, long seed,
            boolean training) {
        int n = (int) raw.size(0);
        if (labels.length != n) {
            throw new IllegalArgumentException(labels.length + " labels for a batch of " + n);
        }
        Forward fw = net.forward(raw, training, lengths, g);
        int classes = net.outputSize();
        DataType type = net.dataType();
        double[] dLogits = g == null ? null : new double[n * classes];
        CrossEntropy xe = CrossEntropy.of(Host.pull(fw.logits()), labels, classes, dLogits);
        double ce = xe.mean();
        if (lambda == 0) {
            if (g != null) {
                fw.backward(Host.array(dLogits, type, n, classes));
            }
            return new LossValue(ce, ce, 0, xe.correct(), n);
        }
        List<? extends Neurons> groups = fw.neurons();
        int groupCount = groups.size();
        // real neurons per example (padded sequence steps are not neurons)
        INDArray real = Nd4j.zeros(type, n, 1);
        for (Neurons grp : groups) {
            real.addi(grp.valid() == null ? Nd4j.valueArrayOf(new long[] {n, 1}, grp.size(), type) : grp.valid().sum(true, 1));
        }
        boolean onePass = aggregation.isMean();
        INDArray[] weight = new INDArray[groupCount]; // lambda * w_j / n: d loss / d t_j
        if (onePass) {
            INDArray perExample = real.rdiv(lambda / n);
            for (int i = 0; i < groupCount; i++) {
                Neurons grp = groups.get(i);
                INDArray ones = grp.valid() == null ? Nd4j.ones(type, n, grp.size()) : grp.valid();
                weight[i] = ones.mulColumnVector(perExample);
            }
        }
        INDArray[] sq = new INDArray[groupCount];
        for (int i = 0; i < groupCount; i++) {
            sq[i] = Nd4j.zeros(type, n, groups.get(i).size());
        }
        Coordinates draw = sampling.draw(net.inputShape(), n, seed);
        fw.squaredGradients(draw, sq, g != null && onePass ? weight : null);
        INDArray[] t = new INDArray[groupCount];
        for (int i = 0; i < groupCount; i++) {
            INDArray hinge = Transforms.relu(Transforms.abs(groups.get(i).z(), true).rsubi(1), false);
            t[i] = sq[i].addi(hinge.muli(c));
            if (groups.get(i).valid() != null) {
                t[i].muli(groups.get(i).valid());
            }
        }
        double rollTerm;
        if (onePass) {
            INDArray perExample = Nd4j.zeros(type, n, 1);
            for (INDArray ti : t) {
                perExample.addi(ti.sum(true, 1));
            }
            rollTerm = perExample.divi(real).sumNumber().doubleValue() / n;
        } else {
            rollTerm = aggregate(groups, t, weight, n);
            if (g != null) {
                fw.squaredGradients(draw, null, weight);
            }
        }
        if (g != null) {
            for (int i = 0; i < groupCount; i++) {
                // hinge: d/dz of C max(0, 1 - |z|) = -C sign(z) where |z| < 1
                INDArray z = groups.get(i).z();
                INDArray inside = Transforms.abs(z, true).lt(1).castTo(type);
                groups.get(i).setZGradient(Transforms.sign(z, true).muli(inside).muli(weight[i]).muli(-c));
            }
            fw.backward(Host.array(dLogits, type, n, classes));
        }
        return new LossValue(ce + lambda * rollTerm, ce, rollTerm, xe.correct(), n);
    }

    /**
     * Top-gamma and max: per example, the aggregation over its real neurons (host side, one sort per
     * example); fills {@code weight} with lambda * w_j / n and returns the batch mean of the aggregate.
     */
    private double aggregate(List<? extends Neurons> groups, INDArray[] t, INDArray[] weight, int n) {
        int g = groups.size();
        double[][] th = new double[g][];
        double[][] valid = new double[g][];
        double[][] wh = new double[g][];
        int total = 0;
        for (int i = 0; i < g; i++) {
            th[i] = Host.pull(t[i]);
            valid[i] = groups.get(i).valid() == null ? null : Host.pull(groups.get(i).valid());
            wh[i] = new double[th[i].length];
            total += groups.get(i).size();
        }
        double[] all = new double[total];
        double[] w = new double[total];
        int[] group = new int[total];
        int[] pos = new int[total];
        double sum = 0;
        for (int e = 0; e < n; e++) {
            int m = 0;
            for (int i = 0; i < g; i++) {
                int f = groups.get(i).size();
                for (int j = 0; j < f; j++) {
                    int at = e * f + j;
                    if (valid[i] == null || valid[i][at] != 0) {
                        all[m] = th[i][at];
                        group[m] = i;
                        pos[m++] = at;
                    }
                }
            }
            sum += aggregation.weights(all, m, w);
            for (int q = 0; q < m; q++) {
                wh[group[q]][pos[q]] = lambda * w[q] / n;
            }
        }
        for (int i = 0; i < g; i++) {
            weight[i] = Host.array(wh[i], t[i].dataType(), n, groups.get(i).size());
        }
        return sum / n;
    }
}
