package org.rollspark.loss;

import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
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
        double[][] z = new double[g][];
        double[][] valid = new double[g][];
        double[][] sq = new double[g][];
        int[] real = new int[n];
        for (int i = 0; i < g; i++) {
            Pass.Neurons grp = groups.get(i);
            z[i] = Host.pull(grp.z());
            valid[i] = grp.valid() == null ? null : Host.pull(grp.valid());
            sq[i] = new double[z[i].length];
            int f = grp.size();
            for (int e = 0; e < n; e++) {
                real[e] += valid[i] == null ? f : (int) Math.round(sum(valid[i], e * f, f));
            }
        }
        boolean onePass = loss.aggregation().isMean();
        double[][] u = null;
        if (onePass) {
            u = new double[g][];
            for (int i = 0; i < g; i++) {
                int f = groups.get(i).size();
                u[i] = new double[n * f];
                for (int e = 0; e < n; e++) {
                    for (int j = 0; j < f; j++) {
                        double v = valid[i] == null ? 1 : valid[i][e * f + j];
                        u[i][e * f + j] = loss.lambda() * v / ((double) n * real[e]);
                    }
                }
            }
        }
        Tangents plan = Tangents.plan(loss.sampling(), net, n, seed);
        boolean backOnFirst = grad != null && onePass;
        for (int blk = 0; blk < plan.blocks(); blk++) {
            tangentBlock(fw, plan, blk, groups, sq, backOnFirst ? u : null, net);
        }
        // aggregate per example over its real neurons
        double rollTerm = 0;
        double[][] weight = new double[g][];
        for (int i = 0; i < g; i++) {
            weight[i] = new double[z[i].length];
        }
        int total = 0;
        for (Pass.Neurons grp : groups) {
            total += grp.size();
        }
        double[] t = new double[total];
        double[] w = new double[total];
        int[] group = new int[total];
        int[] pos = new int[total];
        double c = loss.c();
        for (int e = 0; e < n; e++) {
            int m = 0;
            for (int i = 0; i < g; i++) {
                int f = groups.get(i).size();
                for (int j = 0; j < f; j++) {
                    int at = e * f + j;
                    if (valid[i] != null && valid[i][at] == 0) {
                        continue;
                    }
                    t[m] = sq[i][at] + c * Math.max(0, 1 - Math.abs(z[i][at]));
                    group[m] = i;
                    pos[m] = at;
                    m++;
                }
            }
            rollTerm += loss.aggregation().weights(t, m, w);
            for (int q = 0; q < m; q++) {
                weight[group[q]][pos[q]] = loss.lambda() * w[q] / n;
            }
        }
        rollTerm /= n;
        if (grad != null) {
            if (!onePass) {
                for (int blk = 0; blk < plan.blocks(); blk++) {
                    tangentBlock(fw, plan, blk, groups, null, weight, net);
                }
            }
            for (int i = 0; i < g; i++) {
                double[] dz = new double[z[i].length];
                for (int at = 0; at < dz.length; at++) {
                    double zj = z[i][at];
                    dz[at] = Math.abs(zj) < 1 ? -weight[i][at] * c * Math.signum(zj) : 0;
                }
                groups.get(i).setZGradient(Host.array(dz, net.dataType(), n, groups.get(i).size()));
            }
            fw.backward(Host.array(dLogits, net.dataType(), n, classes));
        }
        return new LossValue(ce + loss.lambda() * rollTerm, ce, rollTerm, xe.correct(), n);
    }

    private static double sum(double[] a, int from, int len) {
        double s = 0;
        for (int i = from; i < from + len; i++) {
            s += a[i];
        }
        return s;
    }

    /**
     * One block of tangents: push it, add its (scaled) squared derivatives to {@code sq} when given,
     * and when {@code u} is given back-propagate {@code d/d tz = 2 s u tz}.
     */
    private static void tangentBlock(GraphNet.Forward fw, Tangents plan, int blk, List<Pass.Neurons> groups,
            double[][] sq, double[][] u, GraphNet net) {
        int n = fw.pass().batch();
        int k = plan.rows(blk);
        fw.tangent(plan.seeds(blk, net.dataType()), k);
        double s = plan.scale();
        for (int i = 0; i < groups.size(); i++) {
            Pass.Neurons grp = groups.get(i);
            INDArray tz = grp.tangent();
            int f = grp.size();
            if (sq != null) {
                INDArray t3 = tz.reshape('c', n, k, f);
                double[] part = Host.pull(t3.mul(t3).sum(1));
                for (int at = 0; at < part.length; at++) {
                    sq[i][at] += s * part[at];
                }
            }
            if (u != null) {
                double[] scaled = u[i].clone();
                for (int at = 0; at < scaled.length; at++) {
                    scaled[at] *= 2 * s;
                }
                INDArray ug = Host.array(scaled, net.dataType(), n, f);
                INDArray d = k == 1 ? tz.mul(ug)
                        : tz.reshape('c', n, k, f).mul(ug.reshape('c', n, 1, f).broadcast(n, k, f)).reshape('c', (long) n * k, f);
                grp.setTangentGradient(d);
            }
        }
        if (u != null) {
            fw.backwardTangent();
        }
    }

    /** Which basis vectors the tangent passes push: all coordinates in blocks, or a per-example sample. */
    static final class Tangents {
        private final int n;
        private final int d;
        private final int[][] coords; // per block: n * rows coordinates, example-major
        private final int[] rows;
        private final double scale;

        private Tangents(int n, int d, int[][] coords, int[] rows, double scale) {
            this.n = n;
            this.d = d;
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
                return new Tangents(n, d, coords, rows, 1.0);
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
            return new Tangents(n, d, new int[][] {c}, new int[] {r}, (double) per / draw);
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

        INDArray seeds(int b, org.nd4j.linalg.api.buffer.DataType type) {
            int[] c = coords[b];
            INDArray s = Nd4j.zeros(type, c.length, d);
            for (int i = 0; i < c.length; i++) {
                s.putScalar(i, c[i], 1.0);
            }
            return s;
        }
    }
}
