package org.rollspark.region;

import org.rollspark.net.Normalization;

/**
 * The margin arithmetic of region inference, shared by every architecture: predictions and gaps,
 * lp margins {@code |z_j| / ||g_j||_q} with the binding neuron, decision margins, the float32
 * safety shrink, #CLR hashes of logit Jacobians, and directional and per-coordinate steps. Inputs are
 * host arrays of neuron values and tangents; nothing here knows how the tangents were computed.
 */
final class Margins {
    private Margins() {}

    /**
     * Relative shrink of margins computed with float32 Jacobians: 1e-4, about 70 times the largest
     * overshoot of float32 gradient-norm margins over float64 ones measured on trained MNIST nets
     * (1.5e-6; docs/BENCHMARKS.md). 1 in float64.
     */
    static final double FLOAT32_SAFETY = 1e-4;

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

    /** Blanks the norms not asked for: NaN margins and decision margins, no binding neuron (-1). */
    static void keepOnly(java.util.Set<Norm> norms, double[][] margin, double[][] decision, int[][] bindLayer,
            int[][] bindUnit) {
        for (Norm p : Norm.values()) {
            if (!norms.contains(p)) {
                int pi = p.ordinal();
                java.util.Arrays.fill(margin[pi], Double.NaN);
                java.util.Arrays.fill(decision[pi], Double.NaN);
                java.util.Arrays.fill(bindLayer[pi], -1);
                java.util.Arrays.fill(bindUnit[pi], -1);
            }
        }
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
    static void hashRows(double[] j, int rows, int k0, int b, int k, Normalization norm,
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

    /**
     * Steps along +e_k and -e_k (raw units) from each example's Jacobian rows at one neuron group:
     * a neuron binds along +e_k when it is active and dz/dx_k < 0, or inactive and dz/dx_k > 0 (the
     * reverse along -e_k), at |z| / |dz/dx_k|. {@code bounds[e]} holds +e_k at k and -e_k at D + k.
     */
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
}
