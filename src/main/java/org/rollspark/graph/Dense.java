package org.rollspark.graph;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.util.Blas;

/** A fully connected layer {@code y = W x + b}, W in PyTorch's (out, in) layout; image inputs are flattened in (C, H, W) order. */
public final class Dense extends Layer {
    private final Param weight;
    private final Param bias;
    private final Object tangentKey = new Object();

    public Dense(int[] in, int units, boolean withBias) {
        super(in);
        if (units < 1) {
            throw bad("dense", in, "units must be >= 1, got " + units);
        }
        this.out = new int[] {units};
        this.weight = new Param("weight", Role.WEIGHT, inSize(), units, inSize());
        this.bias = withBias ? new Param("bias", Role.BIAS, inSize(), units) : null;
    }

    @Override
    public List<Param> params() {
        return bias == null ? List.of(weight) : List.of(weight, bias);
    }

    @Override
    public INDArray forward(INDArray x, Tape p) {
        p.put(this, x);
        INDArray y = Blas.product(x, false, p.param(weight), true);
        return bias == null ? y : y.addiRowVector(p.param(bias));
    }

    @Override
    public INDArray tangent(INDArray t, Tape p) {
        p.put(tangentKey, t);
        return Blas.product(t, false, p.param(weight), true);
    }

    @Override
    public INDArray backward(INDArray dy, Tape p, boolean needInput) {
        INDArray x = p.get(this);
        if (p.wantsGradients()) {
            Blas.gemm(dy, true, x, false, p.grad(weight), 1.0, 1.0);
            if (bias != null) {
                p.grad(bias).addi(dy.sum(0));
            }
        }
        return needInput ? Blas.product(dy, false, p.param(weight), false) : null;
    }

    @Override
    public INDArray backwardTangent(INDArray dt, Tape p, boolean needInput) {
        INDArray t = p.get(tangentKey);
        if (p.wantsGradients()) {
            Blas.gemm(dt, true, t, false, p.grad(weight), 1.0, 1.0);
        }
        return needInput ? Blas.product(dt, false, p.param(weight), false) : null;
    }

    @Override
    public ObjectNode spec() {
        return JsonNodeFactory.instance.objectNode().put("type", "dense").put("units", out[0]).put("bias", bias != null);
    }

    @Override
    public String describe() {
        return "dense " + inSize() + "->" + out[0];
    }
}
