package org.rollspark.graph;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * 2-D convolution over (C, H, W) inputs: square kernel, stride, zero padding; weights in PyTorch's
 * (out, in, kH, kW) layout. Runs libnd4j's conv2d and conv2d_bp ops (im2col + GEMM).
 */
public final class Conv2d extends Layer {
    private final int channels;
    private final int filters;
    private final int kernel;
    private final int stride;
    private final int padding;
    private final Param weight;
    private final Param bias;
    private final Object tangentKey = new Object();

    public Conv2d(int[] in, int filters, int kernel, int stride, int padding, boolean withBias) {
        super(in);
        if (in.length != 3) {
            throw bad("conv2d", in, "needs a (channels, height, width) input");
        }
        if (filters < 1 || kernel < 1 || stride < 1 || padding < 0) {
            throw bad("conv2d", in, "filters, kernel and stride must be >= 1 and padding >= 0; got filters " + filters
                    + ", kernel " + kernel + ", stride " + stride + ", padding " + padding);
        }
        int oh = (in[1] + 2 * padding - kernel) / stride + 1;
        int ow = (in[2] + 2 * padding - kernel) / stride + 1;
        if (oh < 1 || ow < 1) {
            throw bad("conv2d", in, "kernel " + kernel + " with padding " + padding + " is larger than the input");
        }
        this.channels = in[0];
        this.filters = filters;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.out = new int[] {filters, oh, ow};
        int fanIn = channels * kernel * kernel;
        this.weight = new Param("weight", Role.WEIGHT, fanIn, filters, channels, kernel, kernel);
        this.bias = withBias ? new Param("bias", Role.BIAS, fanIn, filters) : null;
    }

    @Override
    public List<Param> params() {
        return bias == null ? List.of(weight) : List.of(weight, bias);
    }

    private int[] args() {
        // kH, kW, sH, sW, pH, pW, dH, dW, padding mode (0 = explicit), data format (0 = NCHW), weights (1 = OIHW)
        return new int[] {kernel, kernel, stride, stride, padding, padding, 1, 1, 0, 0, 1};
    }

    private INDArray run(INDArray x, Pass p, boolean withBias) {
        long rows = x.size(0);
        INDArray x4 = x.reshape('c', rows, in[0], in[1], in[2]);
        INDArray y = Nd4j.createUninitialized(x.dataType(), rows, out[0], out[1], out[2]);
        INDArray[] inputs = withBias && bias != null ? new INDArray[] {x4, p.param(weight), p.param(bias)}
                : new INDArray[] {x4, p.param(weight)};
        Nd4j.exec(DynamicCustomOp.builder("conv2d").addInputs(inputs).addOutputs(y).addIntegerArguments(args()).build());
        return y.reshape('c', rows, outSize());
    }

    private INDArray back(INDArray x, INDArray dy, Pass p, boolean withBias) {
        long rows = x.size(0);
        INDArray x4 = x.reshape('c', rows, in[0], in[1], in[2]);
        INDArray dy4 = dy.reshape('c', rows, out[0], out[1], out[2]);
        INDArray dx = Nd4j.createUninitialized(x.dataType(), x4.shape());
        INDArray dw = Nd4j.createUninitialized(x.dataType(), weight.shape);
        boolean b = withBias && bias != null;
        INDArray db = b ? Nd4j.createUninitialized(x.dataType(), filters) : null;
        DynamicCustomOp.DynamicCustomOpsBuilder op = DynamicCustomOp.builder("conv2d_bp");
        if (b) {
            op.addInputs(x4, p.param(weight), p.param(bias), dy4).addOutputs(dx, dw, db);
        } else {
            op.addInputs(x4, p.param(weight), dy4).addOutputs(dx, dw);
        }
        Nd4j.exec(op.addIntegerArguments(args()).build());
        if (p.wantsGradients()) {
            p.grad(weight).addi(dw);
            if (b) {
                p.grad(bias).addi(db);
            }
        }
        return dx.reshape('c', rows, inSize());
    }

    @Override
    public INDArray forward(INDArray x, Pass p) {
        p.put(this, x);
        return run(x, p, true);
    }

    @Override
    public INDArray tangent(INDArray t, Pass p) {
        p.put(tangentKey, t);
        return run(t, p, false);
    }

    @Override
    public INDArray backward(INDArray dy, Pass p, boolean needInput) {
        return back(p.get(this), dy, p, true);
    }

    @Override
    public INDArray backwardTangent(INDArray dt, Pass p, boolean needInput) {
        return back(p.get(tangentKey), dt, p, false);
    }

    @Override
    public ObjectNode spec() {
        return JsonNodeFactory.instance.objectNode().put("type", "conv2d").put("filters", filters).put("kernel", kernel)
                .put("stride", stride).put("padding", padding).put("bias", bias != null);
    }

    @Override
    public String describe() {
        return "conv2d " + channels + "->" + filters + " k" + kernel + " s" + stride + " p" + padding + " (" + shape(out) + ")";
    }
}
