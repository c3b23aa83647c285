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
public final class Certifier implements RegionCertifier {
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
    private int coordinateBlock;
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
        this.rawSeed = rawFirstLayer();
        this.firstLayerNorms = ColumnNorms.of(rawSeed, 1, net.inputSize());
    }

    /**
     * Also compute, per example, the directional certificates along +e_k and -e_k for every input
     * coordinate k (METHOD.md section 2; the paper's stability bounds), see
     * {@link Certification#coordinateBounds}. Costs one more pass over each Jacobian.
     */
    @Override
    public Certifier withCoordinateBounds(boolean on) {
        this.coordinateBounds = on;
        return this;
    }

    /**
     * Process the Jacobian in blocks of this many input coordinates (0 = automatic: all of them unless
     * a chunk's Jacobian state would pass ~256 MB). Bounds memory for wide inputs; results do not
     * depend on it.
     */
    @Override
    public Certifier withCoordinateBlock(int rows) {
        if (rows < 0) {
            throw new IllegalArgumentException("coordinate block must be >= 0 (0 = automatic), got " + rows);
        }
        this.coordinateBlock = rows;
        return this;
    }

    public int chunkSize() {
        return chunkSize;
    }

    /** {@code diag(1/std) W_1^T}, (D, H_1): the first layer's raw-unit Jacobian, transposed (no D x D identity). */
    private INDArray rawFirstLayer() {
        INDArray t = net.weight(0).transpose().dup('c');
        if (net.normalization().isScalar()) {
            return t.divi(net.normalization().std(0));
        }
        int d = net.inputSize();
        double[] std = new double[d];
        for (int k = 0; k < d; k++) {
            std[k] = net.normalization().std(k);
        }
        return t.diviColumnVector(Host.array(std, net.dataType(), d, 1));
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
    @Override
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

    /** Arg max (lowest index on ties) and top-minus-runner-up gap of each row of (B, K) logits. */
    static void predictions(double[] logits, int k, int[] pred, double[] gap) {
        for (int e = 0; e < pred.length; e++) {
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
    }

    /** Fresh per-norm margin state: +inf margins, no binding neuron (-1). */
    static double[][] infinite(int b) {
        double[][] m = new double[3][b];
        for (double[] row : m) {
            java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        return m;
    }

    static int[][] unbound(int b) {
        int[][] m = new int[3][b];
        for (int[] row : m) {
            java.util.Arrays.fill(row, -1);
        }
        return m;
    }

    /**
     * Lowers each example's lp margins with the neurons of one layer: {@code |z_j| / ||g_j||_q} over
     * neurons with a non-zero gradient (and {@code valid}, when given, non-zero). {@code shared}: the
     * norms are the same for every example (the first dense layer).
     */
    static void bind(ColumnNorms norms, boolean shared, double[] z, double[] valid, int b, int h, int layer,
            double[][] margin, int[][] bindLayer, int[][] bindUnit) {
        for (Norm p : Norm.values()) {
            double[] g = norms.get(p.dual());
            int pi = p.ordinal();
            for (int e = 0; e < b; e++) {
                int gOff = shared ? 0 : e * h;
                for (int j = 0; j < h; j++) {
                    double gn = g[gOff + j];
                    if (gn > 0 && (valid == null || valid[e * h + j] != 0)) {
                        double t = Math.abs(z[e * h + j]) / gn;
                        if (t < margin[pi][e]) {
                            margin[pi][e] = t;
                            bindLayer[pi][e] = layer;
                            bindUnit[pi][e] = j;
                        }
                    }
                }
            }
        }
    }

    /**
     * Decision margins inside the region from the accumulated dual norms of grad(f_pred - f_other)
     * ({@code dec}: l1 sums, squared l2 sums, l_inf maxima): min over other classes of the logit
     * difference over the dual norm.
     */
    static double[][] decisionMargins(double[] logits, int k, int[] pred, double[][][] dec) {
        int b = pred.length;
        double[][] decision = infinite(b);
        for (int e = 0; e < b; e++) {
            for (int other = 0; other < k; other++) {
                if (other == pred[e]) {
                    continue;
                }
                double diff = logits[e * k + pred[e]] - logits[e * k + other];
                double[] dual = {dec[2][e][other], Math.sqrt(dec[1][e][other]), dec[0][e][other]}; // q for p = 1, 2, inf
                for (int p = 0; p < 3; p++) {
                    if (dual[p] > 0) {
                        decision[p][e] = Math.min(decision[p][e], diff / dual[p]);
                    }
                }
            }
        }
        return decision;
    }

    /** Multiplies margins, decision margins and coordinate bounds by the float32 safety factor. */
    static void shrink(double factor, double[][] margin, double[][] decision, double[][] bounds) {
        for (int p = 0; p < 3; p++) {
            for (int e = 0; e < margin[p].length; e++) {
                margin[p][e] *= factor;
                decision[p][e] *= factor;
            }
        }
        if (bounds != null) {
            for (double[] row : bounds) {
                for (int q = 0; q < row.length; q++) {
                    row[q] *= factor;
                }
            }
        }
    }

    static java.security.MessageDigest[] digests(int b) {
        java.security.MessageDigest[] digests = new java.security.MessageDigest[b];
        for (int e = 0; e < b; e++) {
            digests[e] = org.rollspark.Provenance.digest();
        }
        return digests;
    }

    static String[] hashes(java.security.MessageDigest[] digests) {
        String[] out = new String[digests.length];
        for (int e = 0; e < out.length; e++) {
            out[e] = java.util.HexFormat.of().formatHex(digests[e].digest(), 0, 8);
        }
        return out;
    }

    static double[][] openBounds(boolean on, int b, int d) {
        if (!on) {
            return null;
        }
        double[][] bounds = new double[b][2 * d];
        for (double[] row : bounds) {
            java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        return bounds;
    }

    private Certification certifyChunk(INDArray raw) {
        // z, patterns and logits in float64 whatever the network's type; the Jacobians in its own type
        ForwardPass fp = exact.forward(raw);
        int b = fp.batchSize();
        int hidden = net.numHidden();
        int d = net.inputSize();
        int k = net.outputSize();
        double[] logits = Host.pull(fp.logits());
        int[] pred = new int[b];
        double[] gap = new double[b];
        predictions(logits, k, pred, gap);
        // the Jacobians, in blocks of input coordinates: norms, decision norms, hashes and bounds accumulate
        INDArray[] slopes = JacobianChain.slopes(net, fp);
        ColumnNorms[] norms = new ColumnNorms[hidden];
        norms[0] = firstLayerNorms;
        for (int i = 1; i < hidden; i++) {
            norms[i] = ColumnNorms.zeros(b * net.hiddenSize(i));
        }
        double[][][] dec = new double[3][b][k]; // l1 sums, squared l2 sums, l_inf maxima of grad(f_pred - f_other)
        java.security.MessageDigest[] digests = digests(b);
        double[][] bounds = openBounds(coordinateBounds, b, d);
        int block = coordinateBlock(b);
        for (int k0 = 0; k0 < d; k0 += block) {
            // a scope per block: a workspace frees memory only when its scope closes
            try (MemoryWorkspace ws = Workspaces.open("certify-block")) {
                certifyBlock(fp, slopes, k0, Math.min(block, d - k0), pred, norms, dec, digests, bounds);
            }
        }
        double[][] margin = infinite(b);
        int[][] bindLayer = unbound(b);
        int[][] bindUnit = unbound(b);
        for (int i = 0; i < hidden; i++) {
            bind(i == 0 ? norms[0] : norms[i].finish(), i == 0, fp.preactHost()[i], null, b, net.hiddenSize(i), i, margin,
                    bindLayer, bindUnit);
        }
        double[][] decision = decisionMargins(logits, k, pred, dec);
        String[] jacobianHash = hashes(digests);
        shrink(shrink, margin, decision, bounds);
        ActivationPattern[] patterns = ActivationPattern.of(fp.preactHost(), hiddenSizes(), b);
        return new Certification(pred, gap, margin, decision, bindLayer, bindUnit, patterns, jacobianHash, bounds);
    }

    /** One block of input coordinates [k0, k0 + rows): Jacobians through every layer, accumulated. */
    private void certifyBlock(ForwardPass fp, INDArray[] slopes, int k0, int rows, int[] pred, ColumnNorms[] norms,
            double[][][] dec, java.security.MessageDigest[] digests, double[][] bounds) {
        int b = fp.batchSize();
        int d = net.inputSize();
        int k = net.outputSize();
        int hidden = net.numHidden();
        INDArray seed = rows == d ? rawSeed : rawSeed.get(NDArrayIndex.interval(k0, k0 + rows), NDArrayIndex.all()).dup();
        JacobianChain chain = new JacobianChain(net, slopes, seed);
        for (int i = 0; i < hidden; i++) {
            if (i > 0) {
                chain.advance();
                norms[i].add(chain.state(), b, rows);
            }
            if (bounds != null) {
                coordinateSteps(Host.pull(chain.state()), i == 0, fp.preactHost()[i], null, b, net.hiddenSize(i), bounds,
                        k0, rows);
            }
        }
        double[] jac = Host.pull(chain.logitJacobian());
        accumulateDecision(jac, rows, pred, b, k, dec);
        hashRows(jac, rows, k0, b, k, net.normalization(), digests);
    }

    /** Input coordinates per Jacobian block: all of them unless a chunk's state would pass 16M values. */
    int coordinateBlock(int batch) {
        if (coordinateBlock > 0) {
            return coordinateBlock;
        }
        int widest = 1;
        for (int i = 0; i < net.numHidden(); i++) {
            widest = Math.max(widest, net.hiddenSize(i));
        }
        long budget = 16L << 20; // values per state (64 MB in float32)
        return (int) Math.max(1, Math.min(net.inputSize(), budget / ((long) batch * widest)));
    }

    /**
     * Adds the rows of a block of the logit Jacobian, (B*rows, K), to the per-example l1 sums, squared
     * l2 sums and l_inf maxima of grad(f_pred - f_other) over input coordinates.
     */
    static void accumulateDecision(double[] j, int rows, int[] pred, int b, int k, double[][][] dec) {
        for (int e = 0; e < b; e++) {
            int c = pred[e];
            for (int other = 0; other < k; other++) {
                if (other == c) {
                    continue;
                }
                double l1 = 0;
                double l2 = 0;
                double linf = dec[2][e][other];
                for (int r = 0; r < rows; r++) {
                    int row = (e * rows + r) * k;
                    double v = j[row + c] - j[row + other];
                    double a = Math.abs(v);
                    l1 += a;
                    l2 += v * v;
                    linf = Math.max(linf, a);
                }
                dec[0][e][other] += l1;
                dec[1][e][other] += l2;
                dec[2][e][other] = linf;
            }
        }
    }

    /**
     * Feeds a block of logit-Jacobian rows into each example's #CLR hash: the Jacobian with respect to
     * the NORMALISED input, rounded to 4 decimals, row by row (big-endian longs), so that the hash does
     * not depend on the block size. Equal Jacobians (same affine piece of the logits) give equal hashes.
     */
    static void hashRows(double[] j, int rows, int k0, int b, int k, org.rollspark.net.Normalization norm,
            java.security.MessageDigest[] digests) {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(8 * rows * k);
        for (int e = 0; e < b; e++) {
            buf.clear();
            for (int r = 0; r < rows; r++) {
                double std = norm.std(k0 + r);
                for (int c = 0; c < k; c++) {
                    buf.putLong(Math.round(j[(e * rows + r) * k + c] * std * 1e4));
                }
            }
            digests[e].update(buf.array(), 0, buf.position());
        }
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
     * Steps along +e_k and -e_k (raw units) from each example's Jacobian rows at one hidden layer:
     * a neuron binds along +e_k when it is active and dz/dx_k < 0, or inactive and dz/dx_k > 0 (the
     * reverse along -e_k), at |z| / |dz/dx_k|. {@code bounds[e]} holds +e_k at k and -e_k at D + k.
     */
    /**
     * Lowers each example's directional steps with one layer's neurons: along direction k a neuron
     * binds when it moves toward its threshold (active and s < 0, or inactive and s > 0), at |z| / |s|.
     * {@code s} holds (B * nDir, h) responses (one shared (nDir, h) block when {@code shared});
     * neurons with {@code valid} 0 (padded steps) never bind.
     */
    static void directionalSteps(double[] s, boolean shared, double[] z, double[] valid, int h, double[][] steps) {
        int nDir = steps[0].length;
        for (int e = 0; e < steps.length; e++) {
            for (int k = 0; k < nDir; k++) {
                int sOff = ((shared ? 0 : e * nDir) + k) * h;
                double best = steps[e][k];
                for (int j = 0; j < h; j++) {
                    if (valid != null && valid[e * h + j] == 0) {
                        continue;
                    }
                    double sj = s[sOff + j];
                    double zj = z[e * h + j];
                    if (zj > 0 ? sj < 0 : sj > 0) {
                        best = Math.min(best, Math.abs(zj) / Math.abs(sj));
                    }
                }
                steps[e][k] = best;
            }
        }
    }

    static void coordinateSteps(double[] t, boolean shared, double[] z, double[] valid, int b, int h, double[][] bounds,
            int k0, int rows) {
        int d = bounds[0].length / 2;
        for (int e = 0; e < b; e++) {
            double[] out = bounds[e];
            for (int r = 0; r < rows; r++) {
                int k = k0 + r;
                int row = ((shared ? 0 : e) * rows + r) * h;
                double pos = out[k];
                double neg = out[d + k];
                for (int j = 0; j < h; j++) {
                    double s = t[row + j];
                    if (s == 0 || (valid != null && valid[e * h + j] == 0)) {
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
    @Override
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
            directionalSteps(Host.pull(chain.state()), i == 0, fp.preactHost()[i], null, net.hiddenSize(i), steps);
        }
        return steps;
    }
}
