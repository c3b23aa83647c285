package org.rollspark.region;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.net.DenseNet;
import org.rollspark.net.ForwardPass;
import org.rollspark.util.Host;
import org.rollspark.util.Workspaces;

/**
 * Region inference for a trained network: activation patterns, exact neuron input-gradients,
 * lp margins for p = 1, 2, inf with the binding neuron, and directional certificates.
 *
 * <p>All gradients are taken with respect to the RAW input (the first layer's Jacobian is
 * {@code W_1 diag(1/std)}), so every margin and step is in raw input units. Pre-activations, patterns
 * and logits always come from a float64 forward pass (a small |z| is a difference of large terms, and
 * float32 cancellation there overstated margins by up to 1.7 %); the Jacobians run in the network's
 * data type. With float32 Jacobians the margins are reported shrunk by {@link #FLOAT32_SAFETY}
 * (relative); certify a {@link DenseNet#castTo float64 copy} for exact values.
 *
 * <p>Inputs are processed in chunks of {@link #chunkSize} examples so the (chunk, D, H) Jacobian stays
 * in cache and memory stays bounded whatever the input size.
 */
public final class Certifier {
    private final DenseNet net;
    /** float64 copy for pre-activations and logits (cancellation in small |z| is where float32 errs). */
    private final DenseNet exact;
    private final int chunkSize;
    /**
     * Relative shrink of margins computed with float32 Jacobians: 1e-4, about 70 times the largest
     * overshoot of float32 gradient-norm margins over float64 ones measured on trained MNIST nets
     * (1.5e-6; docs/BENCHMARKS.md). 1 in float64.
     */
    static final double FLOAT32_SAFETY = 1e-4;
    private final double shrink;
    private boolean coordinateBounds;
    private final INDArray rawSeed;
    private final ColumnNorms firstLayerNorms;

    public Certifier(DenseNet net) {
        this(net, 16);
    }

    public Certifier(DenseNet net, int chunkSize) {
        if (chunkSize < 1) {
            throw new IllegalArgumentException("certification chunk size must be >= 1, got " + chunkSize);
        }
        this.net = net;
        this.exact = net.dataType() == org.nd4j.linalg.api.buffer.DataType.DOUBLE ? net
                : net.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        this.chunkSize = chunkSize;
        this.shrink = net.dataType() == org.nd4j.linalg.api.buffer.DataType.DOUBLE ? 1.0 : 1 - FLOAT32_SAFETY;
        this.rawSeed = scaledFirstLayer(Nd4j.eye(net.inputSize()).castTo(net.dataType()));
        this.firstLayerNorms = ColumnNorms.of(rawSeed, 1, net.inputSize());
    }

    /**
     * Also compute, per example, the directional certificates along +e_k and -e_k for every input
     * coordinate k (METHOD.md section 2; the paper's stability bounds), see
     * {@link Certification#coordinateBounds}. Costs one more pass over each Jacobian.
     */
    public Certifier withCoordinateBounds(boolean on) {
        this.coordinateBounds = on;
        return this;
    }

    public int chunkSize() {
        return chunkSize;
    }

    /**
     * The first hidden layer's response to input directions in raw units: {@code (d diag(1/std)) W_1^T},
     * shape (nDir, H_1).
     */
    private INDArray scaledFirstLayer(INDArray dirs) {
        int d = net.inputSize();
        double[] host = Host.pull(dirs);
        int n = (int) dirs.size(0);
        for (int r = 0; r < n; r++) {
            for (int k = 0; k < d; k++) {
                host[r * d + k] /= net.normalization().std(k);
            }
        }
        INDArray scaled = Host.array(host, net.dataType(), n, d);
        return Nd4j.gemm(scaled, net.weight(0), false, true);
    }

    /** Certifies every row of a raw (N, D) input matrix. */
    public Certification certify(INDArray raw) {
        long n = raw.size(0);
        List<Certification> parts = new ArrayList<>();
        for (long from = 0; from < n; from += chunkSize) {
            long to = Math.min(n, from + chunkSize);
            INDArray chunk = raw.get(NDArrayIndex.interval(from, to), NDArrayIndex.all());
            try (MemoryWorkspace ws = Workspaces.open("certify")) {
                parts.add(certifyChunk(chunk));
            }
        }
        return Certification.concat(parts);
    }

    private Certification certifyChunk(INDArray raw) {
        // z, patterns and logits in float64 whatever the network's type; the Jacobians in its own type
        ForwardPass fp = exact.forward(raw);
        int b = fp.batchSize();
        int hidden = net.numHidden();
        double[][] margin = new double[3][b];
        int[][] bindLayer = new int[3][b];
        int[][] bindUnit = new int[3][b];
        for (int p = 0; p < 3; p++) {
            java.util.Arrays.fill(margin[p], Double.POSITIVE_INFINITY);
            java.util.Arrays.fill(bindLayer[p], -1);
            java.util.Arrays.fill(bindUnit[p], -1);
        }
        JacobianChain chain = new JacobianChain(net, JacobianChain.slopes(net, fp), rawSeed);
        double[][] bounds = coordinateBounds ? new double[b][2 * net.inputSize()] : null;
        if (bounds != null) {
            for (double[] row : bounds) {
                java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
            }
        }
        for (int i = 0; i < hidden; i++) {
            if (i > 0) {
                chain.advance();
            }
            ColumnNorms norms = i == 0 ? firstLayerNorms : ColumnNorms.of(chain.state(), b, net.inputSize());
            int h = net.hiddenSize(i);
            double[] z = fp.preactHost()[i];
            if (coordinateBounds) {
                coordinateSteps(i == 0 ? Host.pull(rawSeed) : Host.pull(chain.state()), i == 0, z, b, h, bounds);
            }
            for (Norm p : Norm.values()) {
                double[] g = norms.get(p.dual());
                int pi = p.ordinal();
                for (int e = 0; e < b; e++) {
                    int gOff = i == 0 ? 0 : e * h;
                    for (int j = 0; j < h; j++) {
                        double gn = g[gOff + j];
                        if (gn > 0) {
                            double t = Math.abs(z[e * h + j]) / gn;
                            if (t < margin[pi][e]) {
                                margin[pi][e] = t;
                                bindLayer[pi][e] = i;
                                bindUnit[pi][e] = j;
                            }
                        }
                    }
                }
            }
        }
        double[] logits = Host.pull(fp.logits());
        int k = net.outputSize();
        int[] pred = new int[b];
        double[] gap = new double[b];
        for (int e = 0; e < b; e++) {
            int best = 0;
            for (int c = 1; c < k; c++) {
                if (logits[e * k + c] > logits[e * k + best]) {
                    best = c;
                }
            }
            double second = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                if (c != best) {
                    second = Math.max(second, logits[e * k + c]);
                }
            }
            pred[e] = best;
            gap[e] = k == 1 ? Double.POSITIVE_INFINITY : logits[e * k + best] - second;
        }
        INDArray logitJac = chain.logitJacobian();
        double[] jac = Host.pull(logitJac);
        double[][] decision = decisionMargins(jac, logits, pred, b, k);
        String[] jacobianHash = new String[b];
        for (int e = 0; e < b; e++) {
            jacobianHash[e] = jacobianHash(jac, e, k);
        }
        for (int p = 0; p < 3; p++) {
            for (int e = 0; e < b; e++) {
                margin[p][e] *= shrink;
                decision[p][e] *= shrink;
            }
        }
        if (bounds != null) {
            for (double[] row : bounds) {
                for (int q = 0; q < row.length; q++) {
                    row[q] *= shrink;
                }
            }
        }
        ActivationPattern[] patterns = ActivationPattern.of(fp.preactHost(), hiddenSizes(), b);
        return new Certification(pred, gap, margin, decision, bindLayer, bindUnit, patterns, jacobianHash, bounds);
    }

    /**
     * Exact input gradients of every hidden neuron, in raw input units: per hidden layer a
     * (N, H_i, D) array whose [n, j, :] is grad_x z_j at example n. Memory grows as N * H * D: for
     * inspection and tests, not for whole datasets.
     */
    public INDArray[] jacobians(INDArray raw) {
        ForwardPass fp = net.forward(raw);
        int b = fp.batchSize();
        int d = net.inputSize();
        INDArray[] out = new INDArray[net.numHidden()];
        JacobianChain chain = new JacobianChain(net, JacobianChain.slopes(net, fp), rawSeed);
        for (int i = 0; i < out.length; i++) {
            if (i > 0) {
                chain.advance();
            }
            int h = net.hiddenSize(i);
            INDArray st = i == 0 ? Nd4j.tile(rawSeed.reshape(1, d, h), b, 1, 1) : chain.state().reshape('c', b, d, h);
            out[i] = st.permute(0, 2, 1).dup('c');
        }
        return out;
    }

    /**
     * Decision margins on the affine piece (METHOD.md section 2, from MMR): for each norm p and example,
     * {@code min over k != pred of (f_pred - f_k) / ||grad (f_pred - f_k)||_q}, the raw-unit distance to
     * the nearest decision hyperplane of the piece. {@code +inf} when no other logit can overtake.
     *
     * @param j (B*D, K) logit Jacobian in raw units, row-major
     */
    private double[][] decisionMargins(double[] j, double[] logits, int[] pred, int b, int k) {
        int d = net.inputSize();
        double[][] out = new double[3][b];
        double[] diff = new double[d];
        for (int e = 0; e < b; e++) {
            for (double[] o : out) {
                o[e] = Double.POSITIVE_INFINITY;
            }
            int c = pred[e];
            for (int other = 0; other < k; other++) {
                if (other == c) {
                    continue;
                }
                double l1 = 0;
                double l2 = 0;
                double linf = 0;
                for (int r = 0; r < d; r++) {
                    int row = (e * d + r) * k;
                    double v = j[row + c] - j[row + other];
                    diff[r] = v;
                    double a = Math.abs(v);
                    l1 += a;
                    l2 += v * v;
                    linf = Math.max(linf, a);
                }
                double gap = logits[e * k + c] - logits[e * k + other];
                double[] dual = {linf, Math.sqrt(l2), l1}; // q for p = 1, 2, inf
                for (Norm p : Norm.values()) {
                    double q = dual[p.ordinal()];
                    if (q > 0) {
                        out[p.ordinal()][e] = Math.min(out[p.ordinal()][e], gap / q);
                    }
                }
            }
        }
        return out;
    }

    /**
     * Steps along +e_k and -e_k (raw units) from each example's Jacobian rows at one hidden layer:
     * a neuron binds along +e_k when it is active and dz/dx_k < 0, or inactive and dz/dx_k > 0 (the
     * reverse along -e_k), at |z| / |dz/dx_k|. {@code bounds[e]} holds +e_k at k and -e_k at D + k.
     */
    private void coordinateSteps(double[] t, boolean shared, double[] z, int b, int h, double[][] bounds) {
        int d = net.inputSize();
        for (int e = 0; e < b; e++) {
            double[] out = bounds[e];
            for (int k = 0; k < d; k++) {
                int row = ((shared ? 0 : e) * d + k) * h;
                double pos = out[k];
                double neg = out[d + k];
                for (int j = 0; j < h; j++) {
                    double s = t[row + j];
                    if (s == 0) {
                        continue;
                    }
                    double zj = z[e * h + j];
                    double step = Math.abs(zj) / Math.abs(s);
                    boolean towardPos = zj > 0 ? s < 0 : s > 0;
                    if (towardPos) {
                        pos = Math.min(pos, step);
                    } else {
                        neg = Math.min(neg, step);
                    }
                }
                out[k] = pos;
                out[d + k] = neg;
            }
        }
    }

    /**
     * A stable hash of example e's end-to-end logit Jacobian with respect to the NORMALISED input,
     * rounded to 4 decimals (the paper's #CLR count): 16 hex digits of SHA-256 over the rounded values.
     * Equal Jacobians (same affine piece of the logits) give equal hashes.
     */
    private String jacobianHash(double[] j, int e, int k) {
        int d = net.inputSize();
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(8 * d * k);
        for (int r = 0; r < d; r++) {
            double std = net.normalization().std(r);
            for (int c = 0; c < k; c++) {
                buf.putLong(Math.round(j[(e * d + r) * k + c] * std * 1e4));
            }
        }
        byte[] digest = org.rollspark.Provenance.digest().digest(buf.array());
        return java.util.HexFormat.of().formatHex(digest, 0, 8);
    }

    private int[] hiddenSizes() {
        int[] h = new int[net.numHidden()];
        for (int i = 0; i < h.length; i++) {
            h[i] = net.hiddenSize(i);
        }
        return h;
    }

    /**
     * Directional certificates (METHOD.md section 2): for each example x and each direction d (a row
     * of {@code directions}, raw input units), the largest t such that every point x + s d with
     * 0 <= s < t lies in the linear region of x. {@code +inf} when no neuron moves toward its
     * threshold along d. Computed by pushing the directions through the linearised network (no
     * Jacobian is formed).
     *
     * @return (N, nDir) steps, row-major
     */
    public double[][] directional(INDArray raw, INDArray directions) {
        if (directions.rank() != 2 || directions.size(1) != net.inputSize()) {
            throw new IllegalArgumentException("directions must be (nDir, " + net.inputSize() + ")");
        }
        try (MemoryWorkspace ws = Workspaces.open("directional")) {
            return directionalInScope(raw, directions);
        }
    }

    private double[][] directionalInScope(INDArray raw, INDArray directions) {
        ForwardPass fp = net.forward(raw);
        int b = fp.batchSize();
        int nDir = (int) directions.size(0);
        double[][] steps = new double[b][nDir];
        for (double[] row : steps) {
            java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        JacobianChain chain = new JacobianChain(net, JacobianChain.slopes(net, fp),
                scaledFirstLayer(directions.castTo(net.dataType())));
        for (int i = 0; i < net.numHidden(); i++) {
            if (i > 0) {
                chain.advance();
            }
            double[] s = Host.pull(chain.state());
            double[] z = fp.preactHost()[i];
            int h = net.hiddenSize(i);
            for (int e = 0; e < b; e++) {
                for (int k = 0; k < nDir; k++) {
                    int sOff = (i == 0 ? k : e * nDir + k) * h;
                    double best = steps[e][k];
                    for (int j = 0; j < h; j++) {
                        double sj = s[sOff + j];
                        double zj = z[e * h + j];
                        boolean binds = zj > 0 ? sj < 0 : sj > 0;
                        if (binds) {
                            best = Math.min(best, Math.abs(zj) / Math.abs(sj));
                        }
                    }
                    steps[e][k] = best;
                }
            }
        }
        return steps;
    }
}
