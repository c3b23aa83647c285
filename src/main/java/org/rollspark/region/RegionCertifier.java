package org.rollspark.region;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.net.Linearization;
import org.rollspark.net.Linearizer;
import org.rollspark.net.Network.NeuronValues;
import org.rollspark.net.Network;
import org.rollspark.util.Host;
import org.rollspark.util.Workspaces;

/**
 * Region inference for any {@link Network}: activation patterns, lp margins for p = 1, 2, inf with
 * the binding neuron (layer = neuron group in forward order, unit = index inside it), decision
 * margins, logit-Jacobian hashes (#CLR), per-coordinate bounds and directional certificates.
 *
 * <p>Everything is in RAW input units. Pre-activations, patterns and logits come from a float64 pass
 * (a small |z| is a difference of large terms, and float32 cancellation there overstated margins by
 * up to 1.7 %); the tangents run in the network's data type, and with float32 tangents margins are
 * reported shrunk by {@link Margins#FLOAT32_SAFETY} (relative); certify a float64 copy for exact
 * values. Inputs go in chunks of examples and the Jacobians in blocks of input coordinates, so memory
 * is bounded whatever the input size. Padded sequence steps are not neurons and never bind. Asked for l2
 * alone ({@link #withNorms}), a dense network's Jacobians run on the row space of its first layer.
 */
public final class RegionCertifier {
    private final Network net;
    private final Linearizer linearizer;
    private final int chunkSize;
    private final double shrink;
    private boolean coordinateBounds;
    private int coordinateBlock;
    private Set<Norm> norms = EnumSet.allOf(Norm.class);

    /** A certifier over chunks of 16 examples. */
    public RegionCertifier(Network net) {
        this(net, 16);
    }

    public RegionCertifier(Network net, int chunkSize) {
        if (chunkSize < 1) {
            throw new IllegalArgumentException("certification chunk size must be >= 1, got " + chunkSize);
        }
        this.net = net;
        this.linearizer = net.linearizer();
        this.chunkSize = chunkSize;
        this.shrink = net.dataType() == DataType.DOUBLE ? 1.0 : 1 - Margins.FLOAT32_SAFETY;
    }

    /**
     * Also compute, per example, the directional certificates along +e_k and -e_k for every input
     * coordinate k (docs/METHOD.md section 2; the paper's stability bounds), see
     * {@link Certification#coordinateBounds}. Costs one more pass over each Jacobian.
     */
    public RegionCertifier withCoordinateBounds(boolean on) {
        this.coordinateBounds = on;
        return this;
    }

    /**
     * Certify in these norms only (default: all three); the others' margins, decision margins and
     * certified radii are NaN and their binding neurons -1. With l2 alone (and no coordinate bounds) a
     * network with a {@link Linearizer#gradientBasis() gradient basis} pushes its r rows instead of the D
     * input coordinates: r / D of the Jacobian chain's work (300 / 784 on the paper's MNIST net).
     */
    public RegionCertifier withNorms(Set<Norm> norms) {
        if (norms.isEmpty()) {
            throw new IllegalArgumentException("certify at least one norm");
        }
        this.norms = EnumSet.copyOf(norms);
        return this;
    }

    /**
     * Process the Jacobians in blocks of this many input coordinates (0 = automatic). Bounds memory
     * for wide inputs; results do not depend on it.
     */
    public RegionCertifier withCoordinateBlock(int rows) {
        if (rows < 0) {
            throw new IllegalArgumentException("coordinate block must be >= 0 (0 = automatic), got " + rows);
        }
        this.coordinateBlock = rows;
        return this;
    }

    public int chunkSize() {
        return chunkSize;
    }

    /** Input coordinates per Jacobian block for a chunk of {@code batch} examples. */
    int coordinateBlock(int batch) {
        return coordinateBlock > 0 ? coordinateBlock : linearizer.coordinateBlock(batch);
    }

    /** Certifies every row of a raw (N, D) input matrix. */
    public Certification certify(INDArray raw) {
        return certify(raw, null);
    }

    /** Certifies padded sequences: example n has {@code lengths[n]} valid steps (null: all valid). */
    public Certification certify(INDArray raw, int[] lengths) {
        long n = raw.size(0);
        if (lengths != null && lengths.length != n) {
            throw new IllegalArgumentException(lengths.length + " sequence lengths for " + n + " examples");
        }
        List<Certification> parts = new ArrayList<>();
        for (long from = 0; from < n; from += chunkSize) {
            long to = Math.min(n, from + chunkSize);
            INDArray chunk = raw.get(NDArrayIndex.interval(from, to), NDArrayIndex.all());
            int[] len = lengths == null ? null : Arrays.copyOfRange(lengths, (int) from, (int) to);
            try (MemoryWorkspace ws = Workspaces.open("certify")) {
                parts.add(certifyChunk(chunk, len));
            }
        }
        return Certification.concat(parts);
    }

    private Certification certifyChunk(INDArray raw, int[] lengths) {
        Linearization lin = linearizer.linearize(raw, lengths);
        int b = (int) raw.size(0);
        int d = net.inputSize();
        int k = net.outputSize();
        NeuronValues nv = lin.values();
        double[] logits = nv.logits();
        int[] pred = new int[b];
        double[] gap = new double[b];
        Margins.predictions(logits, k, pred, gap);
        int[] sizes = nv.sizes();
        int g = sizes.length;
        ColumnNorms[] norms = new ColumnNorms[g];
        boolean[] shared = new boolean[g];
        double[][][] dec = new double[3][b][k]; // l1 sums, squared l2 sums, l_inf maxima of grad(f_pred - f_other)
        MessageDigest[] digests = Margins.digests(b);
        double[][] bounds = Margins.openBounds(coordinateBounds, b, d);
        INDArray basis = basisOnly() ? linearizer.gradientBasis() : null;
        if (basis != null) {
            // l2 alone: the r rows of an orthonormal basis of the gradients' span stand for the D coordinates
            int r = (int) basis.size(0);
            try (MemoryWorkspace ws = Workspaces.open("certify-block")) {
                INDArray logitTangents = lin.pushGradientBasis(sink(nv, b, r, 0, norms, shared, null));
                Margins.accumulateDecision(Host.pull(logitTangents), r, pred, b, k, dec); // its l2 sums are exact
                hashInBlocks(basis, logitTangents, b, k, digests);
            }
        } else {
            int block = coordinateBlock(b);
            for (int k0 = 0; k0 < d; k0 += block) {
                int rows = Math.min(block, d - k0);
                // a scope per block: a workspace frees memory only when its scope closes
                try (MemoryWorkspace ws = Workspaces.open("certify-block")) {
                    INDArray logitTangents = lin.pushCoordinates(k0, rows, sink(nv, b, rows, k0, norms, shared, bounds));
                    double[] jac = Host.pull(logitTangents);
                    Margins.accumulateDecision(jac, rows, pred, b, k, dec);
                    Margins.hashRows(jac, rows, k0, b, k, net.normalization(), digests);
                }
            }
        }
        double[][] margin = Margins.infinite(b);
        int[][] bindLayer = Margins.unbound(b);
        int[][] bindUnit = Margins.unbound(b);
        for (int i = 0; i < g; i++) {
            Margins.bind(norms[i].finish(), shared[i], nv.z()[i], nv.valid()[i], b, sizes[i], i, margin, bindLayer,
                    bindUnit);
        }
        double[][] decision = Margins.decisionMargins(logits, k, pred, dec);
        Margins.shrink(shrink, margin, decision, bounds);
        Margins.keepOnly(this.norms, margin, decision, bindLayer, bindUnit);
        return new Certification(pred, gap, margin, decision, bindLayer, bindUnit,
                ActivationPattern.of(nv.z(), nv.valid(), sizes, b), Margins.hashes(digests), bounds, this.norms);
    }

    /** Whether this certifier asks nothing the gradient basis cannot give: l2 alone, no coordinate bounds. */
    private boolean basisOnly() {
        return norms.equals(EnumSet.of(Norm.L2)) && !coordinateBounds;
    }

    /**
     * The sink of one block of {@code rows} pushed directions (coordinates from {@code k0}, or the basis): adds
     * each group's column norms and, when {@code bounds} is given, its per-coordinate steps.
     */
    private static Linearization.TangentSink sink(NeuronValues nv, int b, int rows, int k0, ColumnNorms[] norms,
            boolean[] shared, double[][] bounds) {
        int[] sizes = nv.sizes();
        return (i, t, isShared) -> {
            if (norms[i] == null) {
                norms[i] = ColumnNorms.zeros(isShared ? sizes[i] : b * sizes[i]);
                shared[i] = isShared;
            }
            norms[i].add(t, isShared ? 1 : b, rows);
            if (bounds != null) {
                Margins.coordinateSteps(Host.pull(t), isShared, nv.z()[i], nv.valid()[i], b, sizes[i], bounds, k0, rows);
            }
        };
    }

    /**
     * Feeds each example's logit Jacobian into its #CLR hash from the logit tangents of the gradient basis U
     * (r, D): the Jacobian's rows k0 .. k0 + rows are {@code U[:, k0 .. k0 + rows]^T G_b}, a float64 GEMM per block
     * of coordinates for the whole chunk, so the hash means what it means when the coordinates are pushed.
     */
    private void hashInBlocks(INDArray basis, INDArray logitTangents, int b, int k, MessageDigest[] digests) {
        int r = (int) basis.size(0);
        int d = (int) basis.size(1);
        // (b*r, K) -> (r, b*K): column block e holds example e's tangents
        INDArray g = logitTangents.castTo(DataType.DOUBLE).reshape('c', b, r, k).permute(1, 0, 2).dup('c')
                .reshape('c', r, (long) b * k);
        int block = Math.max(1, Math.min(d, (4 << 20) / (b * k)));
        for (int k0 = 0; k0 < d; k0 += block) {
            int rows = Math.min(block, d - k0);
            INDArray u = basis.get(NDArrayIndex.all(), NDArrayIndex.interval(k0, k0 + rows));
            double[] p = Host.pull(org.rollspark.util.Blas.product(u, true, g, false)); // (rows, b*K)
            double[] jac = new double[p.length];
            for (int q = 0; q < rows; q++) {
                for (int e = 0; e < b; e++) {
                    System.arraycopy(p, (q * b + e) * k, jac, (e * rows + q) * k, k);
                }
            }
            Margins.hashRows(jac, rows, k0, b, k, net.normalization(), digests);
        }
    }

    /**
     * Exact input gradients of every neuron in raw units, one (N, size, D) array per neuron group
     * whose [n, j, :] is grad_x z_j at example n; for inspection and tests (memory grows as
     * N * neurons * D).
     */
    public INDArray[] jacobians(INDArray raw) {
        int b = (int) raw.size(0);
        int d = net.inputSize();
        Linearization lin = linearizer.linearize(raw, null);
        INDArray[] out = new INDArray[lin.values().sizes().length];
        lin.pushCoordinates(0, d, (i, t, isShared) -> {
            long h = t.size(1);
            INDArray st = isShared ? org.nd4j.linalg.factory.Nd4j.tile(t.reshape(1, d, h), b, 1, 1) : t.reshape('c', b, d, h);
            out[i] = st.permute(0, 2, 1).dup('c');
        });
        return out;
    }

    /**
     * Directional certificates (docs/METHOD.md section 2): for each example x and each direction v (a row
     * of {@code directions}, raw input units), the largest t such that every point x + s v with
     * 0 <= s < t lies in the linear region of x; {@code +inf} when no neuron moves toward its
     * threshold along v. The directions are pushed through the linearised network (no Jacobian is
     * formed); not shrunk.
     *
     * @return (N, nDir) steps
     */
    public double[][] directional(INDArray raw, INDArray directions) {
        if (directions.rank() != 2 || directions.size(1) != net.inputSize()) {
            throw new IllegalArgumentException("directions must be (nDir, " + net.inputSize() + ")");
        }
        int b = (int) raw.size(0);
        double[][] steps = new double[b][(int) directions.size(0)];
        for (double[] row : steps) {
            Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        try (MemoryWorkspace ws = Workspaces.open("directional")) {
            Linearization lin = linearizer.linearize(raw, null);
            NeuronValues nv = lin.values();
            lin.pushDirections(directions, (i, t, isShared) -> Margins.directionalSteps(Host.pull(t), isShared, nv.z()[i],
                    nv.valid()[i], nv.sizes()[i], steps));
        }
        return steps;
    }
}
