package org.rollspark.region;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;

/**
 * Per-example certificates for a set of inputs, column by column (example i is index i).
 *
 * <p>Margins are radii of the largest lp ball around the input inside its linear region, in RAW
 * input units (docs/METHOD.md section 2; equal to the normalised-space margin times std when one scalar
 * std applies). {@code +inf} means no neuron can bind (every neuron gradient is zero).
 * Binding layer and unit name the neuron whose hyperplane is nearest: layer is the 0-based hidden
 * layer, -1 when nothing binds.
 */
public final class Certification {
    private final int[] pred;
    private final double[] logitGap;
    private final double[][] margin;
    private final double[][] decision;
    private final int[][] bindLayer;
    private final int[][] bindUnit;
    private final ActivationPattern[] patterns;
    private final String[] jacobianHash;
    private final double[][] coordinateBounds;
    private final Set<Norm> norms;

    Certification(int[] pred, double[] logitGap, double[][] margin, double[][] decision, int[][] bindLayer,
            int[][] bindUnit, ActivationPattern[] patterns, String[] jacobianHash, double[][] coordinateBounds,
            Set<Norm> norms) {
        this.pred = pred;
        this.logitGap = logitGap;
        this.margin = margin;
        this.decision = decision;
        this.bindLayer = bindLayer;
        this.bindUnit = bindUnit;
        this.patterns = patterns;
        this.jacobianHash = jacobianHash;
        this.coordinateBounds = coordinateBounds;
        this.norms = EnumSet.copyOf(norms);
    }

    /** Whether the certificates were computed in norm p ({@link RegionCertifier#withNorms}); NaN otherwise. */
    public boolean has(Norm p) {
        return norms.contains(p);
    }

    /** The norms the certificates were computed in. */
    public Set<Norm> norms() {
        return EnumSet.copyOf(norms);
    }

    /**
     * Directional certificates along every input coordinate, raw units, or null when not requested
     * ({@link RegionCertifier#withCoordinateBounds}): [k] is the step along +e_k, [D + k] along -e_k.
     */
    public double[] coordinateBounds(int i) {
        return coordinateBounds == null ? null : coordinateBounds[i].clone();
    }

    public int size() {
        return pred.length;
    }

    /** Predicted class (arg max of the logits, lowest index on ties). */
    public int pred(int i) {
        return pred[i];
    }

    /** Top logit minus the runner-up logit (>= 0). */
    public double logitGap(int i) {
        return logitGap[i];
    }

    /** lp margin of example i in raw input units. */
    public double margin(Norm p, int i) {
        return margin[p.ordinal()][i];
    }

    /** All lp margins, in example order (a copy). */
    public double[] margins(Norm p) {
        return margin[p.ordinal()].clone();
    }

    /**
     * Decision margin of example i in lp, raw units: the distance from the input to the nearest
     * decision hyperplane of its affine piece (valid as a certificate only up to the region margin).
     */
    public double decisionMargin(Norm p, int i) {
        return decision[p.ordinal()][i];
    }

    /**
     * Certified lp robustness radius (docs/METHOD.md section 2): min(region margin, decision margin) when the
     * prediction equals {@code label}, 0 otherwise; NaN in a norm not computed. No point closer than this changes
     * the prediction.
     */
    public double certifiedRadius(Norm p, int i, int label) {
        return !has(p) ? Double.NaN : pred[i] == label ? Math.min(margin[p.ordinal()][i], decision[p.ordinal()][i]) : 0;
    }

    /**
     * Certified accuracy at radius r: the fraction of ALL examples (the denominator is every example)
     * whose certified lp radius is at least r.
     */
    public double certifiedAccuracy(Norm p, double r, int[] labels) {
        if (labels.length != pred.length) {
            throw new IllegalArgumentException(labels.length + " labels for " + pred.length + " examples");
        }
        int c = 0;
        for (int i = 0; i < pred.length; i++) {
            c += pred[i] == labels[i] && certifiedRadius(p, i, labels[i]) >= r ? 1 : 0;
        }
        return pred.length == 0 ? Double.NaN : (double) c / pred.length;
    }

    public int bindingLayer(Norm p, int i) {
        return bindLayer[p.ordinal()][i];
    }

    public int bindingUnit(Norm p, int i) {
        return bindUnit[p.ordinal()][i];
    }

    public ActivationPattern pattern(int i) {
        return patterns[i];
    }

    /** Hash of example i's logit Jacobian (normalised input, rounded to 4 decimals). */
    public String jacobianHash(int i) {
        return jacobianHash[i];
    }

    /** Number of distinct logit Jacobians (rounded to 4 decimals) among these examples. */
    public int distinctJacobians() {
        return new HashSet<>(Arrays.asList(jacobianHash)).size();
    }

    /** Number of distinct activation patterns (linear regions) among these examples. */
    public int distinctPatterns() {
        Set<ActivationPattern> s = new HashSet<>(Arrays.asList(patterns));
        return s.size();
    }

    /** The q-quantile (0..1) of the lp margins, by the nearest-rank rule on sorted values. */
    public double quantile(Norm p, double q) {
        return Stats.quantile(margin[p.ordinal()], q);
    }

    /** Fraction of examples whose prediction equals the label. */
    public double accuracy(int[] labels) {
        if (labels.length != pred.length) {
            throw new IllegalArgumentException(labels.length + " labels for " + pred.length + " examples");
        }
        int c = 0;
        for (int i = 0; i < pred.length; i++) {
            c += pred[i] == labels[i] ? 1 : 0;
        }
        return pred.length == 0 ? Double.NaN : (double) c / pred.length;
    }

    /** Concatenates certifications of consecutive chunks, computed in the same norms. */
    static Certification concat(java.util.List<Certification> parts) {
        Set<Norm> norms = parts.isEmpty() ? EnumSet.allOf(Norm.class) : parts.get(0).norms;
        int n = parts.stream().mapToInt(Certification::size).sum();
        int[] pred = new int[n];
        double[] gap = new double[n];
        double[][] m = new double[3][n];
        double[][] dec = new double[3][n];
        int[][] bl = new int[3][n];
        int[][] bu = new int[3][n];
        ActivationPattern[] pats = new ActivationPattern[n];
        String[] jh = new String[n];
        boolean withBounds = parts.stream().allMatch(c -> c.coordinateBounds != null) && !parts.isEmpty();
        double[][] cb = withBounds ? new double[n][] : null;
        int o = 0;
        for (Certification c : parts) {
            int k = c.size();
            System.arraycopy(c.pred, 0, pred, o, k);
            System.arraycopy(c.logitGap, 0, gap, o, k);
            System.arraycopy(c.patterns, 0, pats, o, k);
            System.arraycopy(c.jacobianHash, 0, jh, o, k);
            if (withBounds) {
                System.arraycopy(c.coordinateBounds, 0, cb, o, k);
            }
            for (int p = 0; p < 3; p++) {
                System.arraycopy(c.margin[p], 0, m[p], o, k);
                System.arraycopy(c.decision[p], 0, dec[p], o, k);
                System.arraycopy(c.bindLayer[p], 0, bl[p], o, k);
                System.arraycopy(c.bindUnit[p], 0, bu[p], o, k);
            }
            o += k;
        }
        return new Certification(pred, gap, m, dec, bl, bu, pats, jh, cb, norms);
    }
}
