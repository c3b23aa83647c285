package org.rollspark.region;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.graph.GraphNet;
import org.rollspark.util.Host;
import org.rollspark.util.Workspaces;

/**
 * Region inference for {@link GraphNet}s (convolutional, residual, recurrent), with the same outputs
 * and guarantees as {@link Certifier}: patterns, lp margins with the binding neuron (layer = neuron
 * group in forward order, unit = index inside it), decision margins, logit-Jacobian hashes and
 * per-coordinate bounds, all in raw input units.
 *
 * <p>Batch norm runs in inference mode (folded into an affine map with the running statistics).
 * Pre-activations, patterns and logits come from a float64 pass; the masks of that pass are imposed
 * on the tangent passes, which run in the network's type and push raw-unit basis vectors
 * ({@code e_k / std_k} in the normalised space) in blocks of input coordinates, so memory is bounded
 * by the block size whatever the input size. Padded sequence steps are not neurons and never bind.
 */
public final class GraphCertifier implements RegionCertifier {
    private final GraphNet net;
    private final GraphNet exact;
    private final int chunkSize;
    private final double shrink;
    private boolean coordinateBounds;
    private int coordinateBlock;

    public GraphCertifier(GraphNet net, int chunkSize) {
        if (chunkSize < 1) {
            throw new IllegalArgumentException("certification chunk size must be >= 1, got " + chunkSize);
        }
        this.net = net;
        this.exact = net.dataType() == DataType.DOUBLE ? net : net.castTo(DataType.DOUBLE);
        this.chunkSize = chunkSize;
        this.shrink = net.dataType() == DataType.DOUBLE ? 1.0 : 1 - Certifier.FLOAT32_SAFETY;
    }

    @Override
    public GraphCertifier withCoordinateBounds(boolean on) {
        this.coordinateBounds = on;
        return this;
    }

    @Override
    public GraphCertifier withCoordinateBlock(int rows) {
        if (rows < 0) {
            throw new IllegalArgumentException("coordinate block must be >= 0 (0 = automatic), got " + rows);
        }
        this.coordinateBlock = rows;
        return this;
    }

    @Override
    public Certification certify(INDArray raw) {
        return certify(raw, null);
    }

    /** Certifies padded sequences: example n has {@code lengths[n]} valid steps (null: all valid). */
    @Override
    public Certification certify(INDArray raw, int[] lengths) {
        long n = raw.size(0);
        if (lengths != null && lengths.length != n) {
            throw new IllegalArgumentException(lengths.length + " sequence lengths for " + n + " examples");
        }
        List<Certification> parts = new ArrayList<>();
        for (long from = 0; from < n; from += chunkSize) {
            long to = Math.min(n, from + chunkSize);
            parts.add(certifyChunk(raw.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()),
                    lengths == null ? null : java.util.Arrays.copyOfRange(lengths, (int) from, (int) to)));
        }
        return Certification.concat(parts);
    }

    /** Input coordinates per tangent block: all unless a block's tangents would pass ~16M values per layer total. */
    int coordinateBlock(int batch) {
        if (coordinateBlock > 0) {
            return coordinateBlock;
        }
        long perRow = Math.max(1, 2L * net.numNeurons());
        return (int) Math.max(1, Math.min(net.inputSize(), (16L << 20) / ((long) batch * perRow)));
    }

    private Certification certifyChunk(INDArray raw, int[] lengths) {
        GraphNet.Forward fx = exact.forward(raw, false, lengths, null);
        int b = (int) raw.size(0);
        int d = net.inputSize();
        int k = net.outputSize();
        org.rollspark.net.Network.NeuronValues nv = fx.values();
        double[] logits = nv.logits();
        int[] pred = new int[b];
        double[] gap = new double[b];
        Certifier.predictions(logits, k, pred, gap);
        double[][] z = nv.z();
        double[][] valid = nv.valid();
        int[] sizes = nv.sizes();
        int g = sizes.length;
        ColumnNorms[] norms = new ColumnNorms[g];
        for (int i = 0; i < g; i++) {
            norms[i] = ColumnNorms.zeros(b * sizes[i]);
        }
        double[][][] dec = new double[3][b][k];
        java.security.MessageDigest[] digests = Certifier.digests(b);
        double[][] bounds = Certifier.openBounds(coordinateBounds, b, d);
        int block = coordinateBlock(b);
        try (MemoryWorkspace ws = Workspaces.open("certify-graph")) {
            GraphNet.Forward fw = masked(raw, lengths, fx);
            for (int k0 = 0; k0 < d; k0 += block) {
                int rows = Math.min(block, d - k0);
                try (MemoryWorkspace inner = Workspaces.open("certify-graph-block")) {
                    INDArray bodyTangent = basis(fw, b, k0, rows);
                    for (int i = 0; i < g; i++) {
                        INDArray tz = fw.neurons().get(i).tangent();
                        norms[i].add(tz, b, rows);
                        if (bounds != null) {
                            Certifier.coordinateSteps(Host.pull(tz), false, z[i], valid[i], b, sizes[i], bounds, k0, rows);
                        }
                    }
                    double[] jac = Host.pull(fw.logitTangent(bodyTangent));
                    Certifier.accumulateDecision(jac, rows, pred, b, k, dec);
                    Certifier.hashRows(jac, rows, k0, b, k, net.normalization(), digests);
                }
            }
        }
        double[][] margin = Certifier.infinite(b);
        int[][] bindLayer = Certifier.unbound(b);
        int[][] bindUnit = Certifier.unbound(b);
        for (int i = 0; i < g; i++) {
            Certifier.bind(norms[i].finish(), false, z[i], valid[i], b, sizes[i], i, margin, bindLayer, bindUnit);
        }
        double[][] decision = Certifier.decisionMargins(logits, k, pred, dec);
        Certifier.shrink(shrink, margin, decision, bounds);
        return new Certification(pred, gap, margin, decision, bindLayer, bindUnit,
                ActivationPattern.of(z, valid, sizes, b), Certifier.hashes(digests), bounds);
    }

    /** A forward pass in the network's type whose activation masks are those of the float64 pass. */
    private GraphNet.Forward masked(INDArray raw, int[] lengths, GraphNet.Forward fx) {
        if (exact == net) {
            return fx;
        }
        GraphNet.Forward fw = net.forward(raw, false, lengths, null);
        for (int i = 0; i < fw.neurons().size(); i++) {
            fw.neurons().get(i).slope().assign(fx.neurons().get(i).slope());
        }
        return fw;
    }

    /**
     * Pushes the raw-unit basis vectors e_k for k in [k0, k0 + rows), in the normalised space
     * (1/std_k), for each of b examples; returns the body output's tangents.
     */
    private INDArray basis(GraphNet.Forward fw, int b, int k0, int rows) {
        int[] coords = new int[b * rows];
        double[] values = new double[b * rows];
        for (int e = 0; e < b; e++) {
            for (int r = 0; r < rows; r++) {
                coords[e * rows + r] = k0 + r;
                values[e * rows + r] = 1.0 / net.normalization().std(k0 + r);
            }
        }
        return fw.tangentBasis(coords, values, rows);
    }

    /**
     * Exact input gradients of every neuron in raw units, one (N, size, D) array per neuron group; for
     * inspection and tests (memory grows as N * neurons * D).
     */
    public INDArray[] jacobians(INDArray raw) {
        GraphNet.Forward fw = net.forward(raw, false, null, null);
        int b = (int) raw.size(0);
        int d = net.inputSize();
        basis(fw, b, 0, d);
        INDArray[] out = new INDArray[fw.neurons().size()];
        for (int i = 0; i < out.length; i++) {
            INDArray tz = fw.neurons().get(i).tangent();
            out[i] = tz.reshape('c', b, d, tz.size(1)).permute(0, 2, 1).dup('c');
        }
        return out;
    }

    /**
     * Directional certificates along the rows of {@code directions} (raw units): for each example the
     * largest t with x + s d in the linear region for all 0 <= s < t ({@code +inf} if no neuron moves
     * toward its threshold). float64 masks, tangents in the network's type, not shrunk.
     */
    @Override
    public double[][] directional(INDArray raw, INDArray directions) {
        if (directions.rank() != 2 || directions.size(1) != net.inputSize()) {
            throw new IllegalArgumentException("directions must be (nDir, " + net.inputSize() + ")");
        }
        GraphNet.Forward fx = exact.forward(raw, false, null, null);
        GraphNet.Forward fw = masked(raw, null, fx);
        int b = (int) raw.size(0);
        int nDir = (int) directions.size(0);
        int d = net.inputSize();
        double[] dir = Host.pull(directions);
        double[] seeds = new double[b * nDir * d];
        for (int e = 0; e < b; e++) {
            for (int q = 0; q < nDir; q++) {
                for (int c = 0; c < d; c++) {
                    seeds[(e * nDir + q) * d + c] = dir[q * d + c] / net.normalization().std(c);
                }
            }
        }
        fw.tangent(Host.array(seeds, net.dataType(), b * nDir, d), nDir);
        double[][] steps = new double[b][nDir];
        for (double[] row : steps) {
            java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        org.rollspark.net.Network.NeuronValues nv = fx.values();
        for (int i = 0; i < nv.sizes().length; i++) {
            Certifier.directionalSteps(Host.pull(fw.neurons().get(i).tangent()), false, nv.z()[i], nv.valid()[i],
                    nv.sizes()[i], steps);
        }
        return steps;
    }
}
