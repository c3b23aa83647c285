package org.rollspark.region;

import org.rollspark.net.DenseNet;
import org.rollspark.net.ForwardPass;
import org.rollspark.util.Host;

/** Slow, obviously-correct references: per-neuron back-propagation in plain Java doubles. */
public final class RegionReference {
    private RegionReference() {}

    /** grad_x z_j (raw units) of hidden neuron j of layer i at example e, by back-propagating e_j. */
    public static double[] neuronGradient(DenseNet net, ForwardPass fp, int e, int layer, int unit) {
        double[] g = new double[net.hiddenSize(layer)];
        g[unit] = 1;
        for (int l = layer; l >= 0; l--) {
            double[] w = Host.pull(net.weight(l));
            int out = net.sizes()[l + 1];
            int in = net.sizes()[l];
            double[] next = new double[in];
            for (int o = 0; o < out; o++) {
                for (int k = 0; k < in; k++) {
                    next[k] += g[o] * w[o * in + k];
                }
            }
            if (l > 0) {
                double[] z = fp.preactHost()[l - 1];
                for (int k = 0; k < in; k++) {
                    next[k] *= net.activation().slope(z[e * in + k]);
                }
            }
            g = next;
        }
        for (int k = 0; k < g.length; k++) {
            g[k] /= net.normalization().std(k);
        }
        return g;
    }

    public static double norm(double[] v, Norm q) {
        double s = 0;
        for (double x : v) {
            s = switch (q) {
                case L1 -> s + Math.abs(x);
                case L2 -> s + x * x;
                case LINF -> Math.max(s, Math.abs(x));
            };
        }
        return q == Norm.L2 ? Math.sqrt(s) : s;
    }
}
