package org.rollspark.loss;

import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.rollspark.graph.GraphNet;
import org.rollspark.graph.Pass;
import org.rollspark.util.Host;

/**
 * The ROLL loss for {@link GraphNet}s (convolutional, residual, recurrent and dense), exact or sampled.
 *
 * <p>The neuron input-gradients are tangents of the linearised network: push basis vectors of the
 * normalised input space through it (all D of them, in blocks, for the exact loss; D' sampled ones,
 * scaled by D / D', for the sampled loss) and every neuron group holds {@code dz_j / dx_k} for the
 * pushed coordinates k. The gradient of {@code lambda * aggregate_j (||g_j||^2 + C max(0, 1 - |z_j|))}
 * then goes back through the same tangent pass ({@code d/d tz = 2 u_j s tz}) and through the base pass
 * (the hinge), with activation masks held constant; the mean aggregation needs one pass, top-gamma and
 * max a second one once the per-neuron norms are known. Padded sequence steps are not neurons: the
 * mean is over each example's real neurons.
 */
public final class GraphLoss {
    /** Tangent values per block of the exact loss (about 128 MB in float32). */
    private static final long BLOCK_VALUES = 32L << 20;

    private GraphLoss() {}

    /**
     * The loss of a raw batch and, when {@code grad} is given, its gradient (overwritten).
     *
     * @param lengths  valid steps per example for recurrent layers, or null
     * @param seed     draws the sampled coordinates (ignored for the exact loss)
     * @param training batch norm on batch statistics (and running statistics updated)
     */
    public static LossValue compute(RollLoss loss, GraphNet net, INDArray raw, int[] labels, int[] lengths, INDArray grad,
            long seed, boolean training) {
        // a workspace: fresh multi-MB allocations are page-faulted in on first touch, which cost more than the convolutions
        try (org.nd4j.linalg.api.memory.MemoryWorkspace ws = org.rollspark.util.Workspaces.openRoomy(
                grad == null ? "graph-loss-value" : "graph-loss-gradient")) {
            return computeInScope(loss, net, raw, labels, lengths, grad, seed, training);
        }
    }

    private static LossValue computeInScope(RollLoss loss, GraphNet net, INDArray raw, int[] labels, int[] lengths,
            INDArray grad, long seed, boolean training) {
        if (grad != null) {
            grad.assign(0);
        }
        GraphNet.Forward fw = net.forward(raw, training, lengths, grad);
        int n = (int) raw.size(0);
        int classes = net.outputSize();
        double[] dLogits = grad == null ? null : new double[n * classes];
        CrossEntropy xe = CrossEntropy.of(Host.pull(fw.logits()), labels, classes, dLogits);
        double ce = xe.mean();
        if (loss.lambda() == 0) {
            if (grad != null) {
                fw.backward(Host.array(dLogits, net.dataType(), n, classes));
            }
            return new LossValue(ce, ce, 0, xe.correct(), n);
        }
        List<Pass.Neurons> groups = fw.neurons();
        int g = groups.size();
        DataType type = net.dataType();
        // real neurons per example (padded sequence steps are not neurons)
        INDArray real = Nd4j.zeros(type, n, 1);
        for (Pass.Neurons grp : groups) {
            real.addi(grp.valid() == null ? Nd4j.valueArrayOf(new long[] {n, 1}, grp.size(), type) : grp.valid().sum(true, 1));
        }
        boolean onePass = loss.aggregation().isMean();
        INDArray[] weight = new INDArray[g]; // lambda * w_j / n: d loss / d t_j
        if (onePass) {
            INDArray perExample = real.rdiv(loss.lambda() / n);
            for (int i = 0; i < g; i++) {
                Pass.Neurons grp = groups.get(i);
                INDArray ones = grp.valid() == null ? Nd4j.ones(type, n, grp.size()) : grp.valid();
                weight[i] = ones.mulColumnVector(perExample);
            }
        }
        INDArray[] sq = new INDArray[g];
        for (int i = 0; i < g; i++) {
            sq[i] = Nd4j.zeros(type, n, groups.get(i).size());
        }
        Tangents plan = Tangents.plan(loss.sampling(), net, n, seed);
        for (int blk = 0; blk < plan.blocks(); blk++) {
            tangentBlock(fw, plan, blk, groups, sq, grad != null && onePass ? weight : null);
        }
        double c = loss.c();
        INDArray[] t = new INDArray[g];
        for (int i = 0; i < g; i++) {
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
            rollTerm = aggregate(loss, groups, t, weight, n);
            if (grad != null) {
                for (int blk = 0; blk < plan.blocks(); blk++) {
                    tangentBlock(fw, plan, blk, groups, null, weight);
                }
            }
        }
        if (grad != null) {
            for (int i = 0; i < g; i++) {
                // hinge: d/dz of C max(0, 1 - |z|) = -C sign(z) where |z| < 1
                INDArray z = groups.get(i).z();
                INDArray inside = Transforms.abs(z, true).lt(1).castTo(type);
                groups.get(i).setZGradient(Transforms.sign(z, true).muli(inside).muli(weight[i]).muli(-c));
            }
            fw.backward(Host.array(dLogits, type, n, classes));
        }
        return new LossValue(ce + loss.lambda() * rollTerm, ce, rollTerm, xe.correct(), n);
    }

    /**
     * Top-gamma and max: per example, the aggregation over its real neurons (host side, one sort per
     * example); fills {@code weight} with lambda * w_j / n and returns the batch mean of the aggregate.
     */
    private static double aggregate(RollLoss loss, List<Pass.Neurons> groups, INDArray[] t, INDArray[] weight, int n) {
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
            sum += loss.aggregation().weights(all, m, w);
            for (int q = 0; q < m; q++) {
                wh[group[q]][pos[q]] = loss.lambda() * w[q] / n;
            }
        }
        for (int i = 0; i < g; i++) {
            weight[i] = Host.array(wh[i], t[i].dataType(), n, groups.get(i).size());
        }
        return sum / n;
    }

    /**
     * One block of tangents: push it, add its (scaled) squared derivatives to {@code sq} when given,
     * and when {@code weight} is given back-propagate {@code d/d tz = 2 s weight tz}.
     */
    private static void tangentBlock(GraphNet.Forward fw, Tangents plan, int blk, List<Pass.Neurons> groups, INDArray[] sq,
            INDArray[] weight) {
        int k = plan.rows(blk);
        fw.tangentBasis(plan.coordinates(blk), null, k);
        double s = plan.scale();
        for (int i = 0; i < groups.size(); i++) {
            Pass.Neurons grp = groups.get(i);
            if (sq != null) {
                grp.addTangentSquares(sq[i], k, s);
            }
            if (weight != null) {
                grp.setTangentGradient(grp.tangentTimes(weight[i], k).muli(2 * s));
            }
        }
        if (weight != null) {
            fw.backwardTangent();
        }
    }

    /** Which basis vectors the tangent passes push: all coordinates in blocks, or a per-example sample. */
    static final class Tangents {
        private final int[][] coords; // per block: n * rows coordinates, example-major
        private final int[] rows;
        private final double scale;

        private Tangents(int[][] coords, int[] rows, double scale) {
            this.coords = coords;
            this.rows = rows;
            this.scale = scale;
        }

        static Tangents plan(Sampling sampling, GraphNet net, int n, long seed) {
            int d = net.inputSize();
            if (sampling.isExact()) {
                long perRow = Math.max(1, net.numNeurons() * 2L);
                int block = (int) Math.max(1, Math.min(d, BLOCK_VALUES / ((long) n * perRow)));
                int blocks = (d + block - 1) / block;
                int[][] coords = new int[blocks][];
                int[] rows = new int[blocks];
                for (int b = 0; b < blocks; b++) {
                    int from = b * block;
                    int r = Math.min(block, d - from);
                    rows[b] = r;
                    coords[b] = new int[n * r];
                    for (int e = 0; e < n; e++) {
                        for (int i = 0; i < r; i++) {
                            coords[b][e * r + i] = from + i;
                        }
                    }
                }
                return new Tangents(coords, rows, 1.0);
            }
            int[] shape = net.inputShape();
            int channels = sampling.perChannel() && shape.length == 3 ? shape[0] : 1;
            int per = d / channels;
            int draw = Math.min(sampling.coordinates(), per);
            int r = draw * channels;
            SplittableRandom rng = new SplittableRandom(seed);
            int[] c = new int[n * r];
            int[] pool = new int[per];
            for (int e = 0; e < n; e++) {
                for (int ch = 0; ch < channels; ch++) {
                    for (int i = 0; i < per; i++) {
                        pool[i] = i;
                    }
                    for (int i = 0; i < draw; i++) { // partial Fisher-Yates: draw without replacement
                        int j = i + rng.nextInt(per - i);
                        int tmp = pool[i];
                        pool[i] = pool[j];
                        pool[j] = tmp;
                        c[e * r + ch * draw + i] = ch * per + pool[i];
                    }
                }
            }
            return new Tangents(new int[][] {c}, new int[] {r}, (double) per / draw);
        }

        int blocks() {
            return rows.length;
        }

        int rows(int b) {
            return rows[b];
        }

        double scale() {
            return scale;
        }

        /** The input coordinates of block b's tangent rows, example-major. */
        int[] coordinates(int b) {
            return coords[b];
        }
    }
}
