package org.rollspark.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Adam (Kingma and Ba) with bias correction, optionally AMSGrad (the paper's recurrent-net recipe:
 * AMSGrad, lr 0.001), as PyTorch computes it: the running maximum of the second moment is bias
 * corrected like the second moment itself.
 */
public final class Adam implements Optimizer {
    private final double lr;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final boolean amsgrad;
    private final INDArray m;
    private final INDArray v;
    private final INDArray vMax;
    private long steps;

    public Adam(long numParams, DataType type, double lr, double beta1, double beta2, double eps, boolean amsgrad) {
        if (!(lr > 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0)) {
            throw new IllegalArgumentException("adam: need lr > 0, beta1 and beta2 in [0, 1), eps > 0; got lr=" + lr
                    + " beta1=" + beta1 + " beta2=" + beta2 + " eps=" + eps);
        }
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.amsgrad = amsgrad;
        this.m = Nd4j.zeros(type, numParams);
        this.v = Nd4j.zeros(type, numParams);
        this.vMax = amsgrad ? Nd4j.zeros(type, numParams) : null;
    }

    @Override
    public void step(INDArray params, INDArray grad) {
        steps++;
        m.muli(beta1);
        Nd4j.getBlasWrapper().axpy(1 - beta1, grad, m);
        v.muli(beta2).addi(grad.muli(grad).muli(1 - beta2));
        INDArray second = v;
        if (amsgrad) {
            Transforms.max(vMax, v, false);
            second = vMax;
        }
        double c1 = 1 - Math.pow(beta1, steps);
        double c2 = 1 - Math.pow(beta2, steps);
        INDArray denom = Transforms.sqrt(second.div(c2), false).addi(eps);
        Nd4j.getBlasWrapper().axpy(-lr / c1, m.div(denom), params);
    }

    @Override
    public INDArray[] state() {
        return amsgrad ? new INDArray[] {m, v, vMax} : new INDArray[] {m, v};
    }

    @Override
    public long steps() {
        return steps;
    }

    @Override
    public void setSteps(long steps) {
        this.steps = steps;
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("optimizer", amsgrad ? "amsgrad" : "adam");
        d.put("lr", lr);
        d.put("beta1", beta1);
        d.put("beta2", beta2);
        d.put("eps", eps);
        return d;
    }
}
