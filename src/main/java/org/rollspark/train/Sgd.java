package org.rollspark.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * SGD with (Nesterov) momentum, PyTorch's formulation: {@code v = mu v + g}; Nesterov steps by
 * {@code g + mu v}, plain momentum by {@code v}: {@code p -= lr * step}. The paper's MNIST recipe is
 * Nesterov, lr 0.01, momentum 0.5.
 */
public final class Sgd implements Optimizer {
    private final double lr;
    private final double momentum;
    private final boolean nesterov;
    private final INDArray velocity;
    private long steps;

    public Sgd(long numParams, org.nd4j.linalg.api.buffer.DataType type, double lr, double momentum, boolean nesterov) {
        TrainConfig.LR.check(lr);
        TrainConfig.MOMENTUM.check(momentum);
        if (nesterov && momentum == 0) {
            throw new IllegalArgumentException("sgd: nesterov needs momentum > 0");
        }
        this.lr = lr;
        this.momentum = momentum;
        this.nesterov = nesterov;
        this.velocity = Nd4j.zeros(type, numParams);
    }

    @Override
    public void step(INDArray params, INDArray grad) {
        if (momentum > 0) {
            velocity.muli(momentum).addi(grad);
            if (nesterov) {
                Nd4j.getBlasWrapper().axpy(momentum, velocity, grad);
                Nd4j.getBlasWrapper().axpy(-lr, grad, params);
            } else {
                Nd4j.getBlasWrapper().axpy(-lr, velocity, params);
            }
        } else {
            Nd4j.getBlasWrapper().axpy(-lr, grad, params);
        }
        steps++;
    }

    @Override
    public INDArray[] state() {
        return new INDArray[] {velocity};
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
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("optimizer", "sgd");
        m.put("lr", lr);
        m.put("momentum", momentum);
        m.put("nesterov", nesterov);
        return m;
    }
}
