package org.rollspark.region;

import org.rollspark.dense.DenseNet;
import org.rollspark.dense.DenseActivations;
import org.rollspark.util.Host;

/** Slow, obviously-correct references: per-neuron back-propagation in plain Java doubles. */
public final class RegionReference {
    private RegionReference() {}

    /** grad_x z_j (raw units) of hidden neuron j of layer i at example e, by back-propagating e_j. */
    public static double[] neuronGradient(DenseNet net, DenseActivations fp, int e, int layer, int unit) {
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

    /** grad_x f_cls (raw units) of logit cls at example e, by back-propagation. */
    public static double[] logitGradient(DenseNet net, DenseActivations fp, int e, int cls) {
        int last = net.numLayers() - 1;
        double[] w = Host.pull(net.weight(last));
        int in = net.sizes()[last];
        double[] g = new double[in];
        System.arraycopy(w, cls * in, g, 0, in);
        double[] z = fp.preactHost()[last - 1];
        for (int k = 0; k < in; k++) {
            g[k] *= net.activation().slope(z[e * in + k]);
        }
        // now g is d f_cls / d h^{last-1} times slopes = d f_cls / d z^{last-1}: continue as a neuron gradient
        double[] out = new double[net.inputSize()];
        for (int u = 0; u < in; u++) {
            if (g[u] != 0) {
                double[] nu = neuronGradient(net, fp, e, last - 1, u);
                for (int k = 0; k < out.length; k++) {
                    out[k] += g[u] * nu[k];
                }
            }
        }
        return out;
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
