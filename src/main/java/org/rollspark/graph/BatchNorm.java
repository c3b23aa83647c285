package org.rollspark.graph;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Batch normalisation per channel (images) or per feature (flat inputs).
 *
 * <p>Inference and certification: the affine map {@code y = s (x - mean) + beta} with
 * {@code s = gamma / sqrt(var + eps)} from the running statistics, so the network stays
 * piecewise linear and certificates are exact.
 *
 * <p>Training: batch statistics, as usual. The ROLL term is taken on the affine map the batch
 * statistics define (tangents are scaled by {@code gamma / sqrt(var_B + eps)}, the per-example map
 * with the statistics held at their batch values), and its gradient is exact, including the path
 * through the batch variance into every example of the batch. Running statistics (momentum
 * {@code m}, unbiased variance as in PyTorch) are written into the parameter vector by the training
 * forward pass; their gradient is 0, so optimisers leave them alone and parameter averaging averages
 * them. Trainers then re-estimate them after every epoch from a pass over training data with the
 * epoch's final parameters ({@link GraphNet#batchNormSums}, "precise batch norm"): the moving
 * averages lag behind fast-changing weights, and a model whose validation accuracy was 95 % with
 * batch statistics measured 70 % with the moving averages.
 */
public final class BatchNorm extends Layer {
    public static final double DEFAULT_EPS = 1e-5;
    public static final double DEFAULT_MOMENTUM = 0.1;
    private final int channels;
    private final double eps;
    private final double momentum;
    private final Param gamma;
    private final Param beta;
    private final Param mean;
    private final Param var;
    private final Object tangentKey = new Object();

    public BatchNorm(int[] in, double eps, double momentum) {
        super(in);
        if (in.length != 3 && in.length != 1) {
            throw bad("batchnorm", in, "needs a (channels, height, width) or flat input");
        }
        if (!(eps > 0) || !(momentum > 0 && momentum <= 1)) {
            throw bad("batchnorm", in, "eps must be > 0 and momentum in (0, 1]; got eps " + eps + ", momentum " + momentum);
        }
        this.channels = in[0];
        this.eps = (float) eps; // a float32 constant, as ONNX's epsilon attribute and the weights (see Activation)
        this.momentum = momentum;
        this.out = in.clone();
        this.gamma = new Param("gamma", Role.ONES, 0, channels);
        this.beta = new Param("beta", Role.ZEROS, 0, channels);
        this.mean = new Param("running_mean", Role.RUNNING_MEAN, 0, channels);
        this.var = new Param("running_var", Role.RUNNING_VAR, 0, channels);
    }

    @Override
    public List<Param> params() {
        return List.of(gamma, beta, mean, var);
    }

    @Override
    int windowRadius() {
        return in.length == 3 ? 0 : -1;
    }

    /** What forward keeps: the centred input, 1/sqrt(var + eps) and the per-channel scale. */
    private record State(INDArray centred, INDArray inv, INDArray scale) {}

    @Override
    public INDArray forward(INDArray x, Tape p) {
        INDArray mu;
        INDArray v;
        if (p.training()) {
            long m = x.size(0) * (x.size(1) / channels);
            if (m < 2) {
                throw new IllegalArgumentException("batchnorm in training needs at least 2 values per channel, got " + m);
            }
            mu = Ops.channelSum(x, channels).divi(m);
            INDArray c = x.dup();
            Ops.addPerChannel(c, mu.neg(), channels);
            v = Ops.channelDot(c, c, channels).divi(m);
            if (p.statistics() != null) {
                double[] acc = p.statistics().computeIfAbsent(this, k -> new double[2 * channels + 1]);
                double[] s1 = org.rollspark.util.Host.pull(Ops.channelSum(x, channels));
                double[] s2 = org.rollspark.util.Host.pull(Ops.channelDot(x, x, channels));
                for (int ch = 0; ch < channels; ch++) {
                    acc[ch] += s1[ch];
                    acc[channels + ch] += s2[ch];
                }
                acc[2 * channels] += m;
            } else {
                INDArray running = p.param(mean);
                running.muli(1 - momentum).addi(mu.mul(momentum));
                p.param(var).muli(1 - momentum).addi(v.mul(momentum * m / (m - 1.0)));
            }
            INDArray inv = Transforms.pow(v.add(eps), -0.5, false);
            State st = new State(c, inv, inv.mul(p.param(gamma)));
            p.put(this, st);
            return Ops.addPerChannel(Ops.perChannel(c, st.scale(), channels), p.param(beta), channels);
        }
        mu = p.param(mean);
        v = p.param(var);
        INDArray c = x.dup();
        Ops.addPerChannel(c, mu.neg(), channels);
        INDArray inv = Transforms.pow(v.add(eps), -0.5, false);
        State st = new State(c, inv, inv.mul(p.param(gamma)));
        p.put(this, st);
        return Ops.addPerChannel(Ops.perChannel(c, st.scale(), channels), p.param(beta), channels);
    }

    @Override
    public INDArray tangent(INDArray t, Tape p) {
        p.put(tangentKey, t);
        State st = p.get(this);
        return Ops.perChannel(t, st.scale(), channels);
    }

    @Override
    public INDArray backwardTangent(INDArray dt, Tape p, boolean needInput) {
        State st = p.get(this);
        if (p.wantsGradients()) {
            // d loss / d scale, kept for the base backward (the scale depends on gamma and, in training, on the batch variance)
            INDArray ds = Ops.channelDot(p.get(tangentKey), dt, channels);
            INDArray acc = p.get(gamma);
            p.put(gamma, acc == null ? ds : acc.addi(ds));
        }
        return needInput ? Ops.perChannel(dt, st.scale(), channels) : null;
    }

    @Override
    public INDArray backward(INDArray dy, Tape p, boolean needInput) {
        State st = p.get(this);
        INDArray ds = p.get(gamma); // from the tangent backward, or null
        INDArray g = p.param(gamma);
        if (p.wantsGradients()) {
            p.grad(beta).addi(Ops.channelSum(dy, channels));
            INDArray dGamma = Ops.channelDot(dy, st.centred(), channels).muli(st.inv());
            if (ds != null) {
                dGamma.addi(ds.mul(st.inv()));
            }
            p.grad(gamma).addi(dGamma);
        }
        if (!needInput && !p.training()) {
            return null;
        }
        INDArray dx = Ops.perChannel(dy, st.scale(), channels);
        if (!p.training()) {
            return dx;
        }
        // batch statistics: y = gamma * (x - mu) * inv, inv = (var + eps)^-1/2, plus the scale's use by the tangents
        long m = dy.size(0) * (dy.size(1) / channels);
        INDArray inv3 = Transforms.pow(st.inv(), 3, true);
        INDArray dVar = Ops.channelDot(dy, st.centred(), channels).muli(g);
        if (ds != null) {
            dVar.addi(ds.mul(g));
        }
        dVar.muli(inv3).muli(-0.5);
        INDArray dMu = Ops.channelSum(dy, channels).muli(g).muli(st.inv()).negi();
        dx.addi(Ops.perChannel(st.centred(), dVar.mul(2.0 / m), channels));
        return Ops.addPerChannel(dx, dMu.divi(m), channels);
    }

    /** Sets the running statistics from collected sums (x, x^2, count): population mean and unbiased variance. */
    void setStatistics(double[] acc, Tape p) {
        double n = acc[2 * channels];
        double[] mu = new double[channels];
        double[] v = new double[channels];
        for (int c = 0; c < channels; c++) {
            mu[c] = acc[c] / n;
            v[c] = Math.max(0, (acc[channels + c] - n * mu[c] * mu[c]) / (n - 1));
        }
        org.rollspark.util.Host.push(mu, p.param(mean));
        org.rollspark.util.Host.push(v, p.param(var));
    }

    @Override
    public ObjectNode spec() {
        return JsonNodeFactory.instance.objectNode().put("type", "batchnorm").put("eps", eps).put("momentum", momentum);
    }

    @Override
    public String describe() {
        return "batchnorm (" + channels + ")";
    }
}
