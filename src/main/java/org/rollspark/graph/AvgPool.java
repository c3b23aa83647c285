package org.rollspark.graph;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Average pooling over non-overlapping windows (stride = window), which must tile the input exactly.
 * With the window equal to the whole image it is global average pooling (output: one value per channel).
 */
public final class AvgPool extends Layer {
    private final int kh;
    private final int kw;
    private final boolean global;

    private AvgPool(int[] in, int kh, int kw, boolean global) {
        super(in);
        if (in.length != 3) {
            throw bad(global ? "global_avgpool" : "avgpool", in, "needs a (channels, height, width) input");
        }
        if (kh < 1 || kw < 1 || in[1] % kh != 0 || in[2] % kw != 0) {
            throw bad("avgpool", in, "window " + kh + "x" + kw + " must tile the " + in[1] + "x" + in[2]
                    + " image exactly (overlapping or ragged windows are not supported)");
        }
        this.kh = kh;
        this.kw = kw;
        this.global = global;
        this.out = global ? new int[] {in[0]} : new int[] {in[0], in[1] / kh, in[2] / kw};
    }

    public static AvgPool window(int[] in, int k) {
        return new AvgPool(in, k, k, false);
    }

    public static AvgPool global(int[] in) {
        if (in.length != 3) {
            throw bad("global_avgpool", in, "needs a (channels, height, width) input");
        }
        return new AvgPool(in, in[1], in[2], true);
    }

    private INDArray pool(INDArray x) {
        long rows = x.size(0);
        int oh = in[1] / kh;
        int ow = in[2] / kw;
        INDArray s = x.reshape('c', rows * in[0] * oh, kh, ow, kw).sum(1, 3);
        return s.divi(kh * kw).reshape('c', rows, outSize());
    }

    private INDArray unpool(INDArray dy) {
        long rows = dy.size(0);
        int oh = in[1] / kh;
        int ow = in[2] / kw;
        INDArray d = dy.reshape('c', rows * in[0] * oh, ow).div(kh * kw);
        INDArray dx = Nd4j.zeros(dy.dataType(), rows * in[0] * oh, kh, ow, kw);
        Broadcast.add(dx, d, dx, 0, 2);
        return dx.reshape('c', rows, inSize());
    }

    @Override
    public INDArray forward(INDArray x, Tape p) {
        return pool(x);
    }

    @Override
    public INDArray tangent(INDArray t, Tape p) {
        return pool(t);
    }

    @Override
    public INDArray backward(INDArray dy, Tape p, boolean needInput) {
        return needInput ? unpool(dy) : null;
    }

    @Override
    public INDArray backwardTangent(INDArray dt, Tape p, boolean needInput) {
        return needInput ? unpool(dt) : null;
    }

    @Override
    public ObjectNode spec() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        return global ? o.put("type", "global_avgpool") : o.put("type", "avgpool").put("kernel", kh);
    }

    @Override
    public String describe() {
        return (global ? "global_avgpool" : "avgpool " + kh + "x" + kw) + " (" + shape(out) + ")";
    }
}
