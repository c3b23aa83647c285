package org.rollspark.graph;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.net.Activation;

/**
 * A residual block {@code y = act(main(x) + shortcut(x))}: the shortcut is the identity (empty) or a
 * projection (typically a strided 1x1 convolution, optionally with batch norm). The activation after
 * the sum is a neuron group like any other.
 */
public final class Residual extends Layer {
    private final Sequence main;
    private final Sequence shortcut;
    private final Act act;

    public Residual(int[] in, Sequence main, Sequence shortcut, Activation activation) {
        super(in);
        if (!Arrays.equals(main.inShape(), in) || !Arrays.equals(shortcut.inShape(), in)) {
            throw bad("residual", in, "branches built for another input");
        }
        if (!Arrays.equals(main.outShape(), shortcut.outShape())) {
            throw bad("residual", in, "main branch gives " + Arrays.toString(main.outShape()) + " but the shortcut gives "
                    + Arrays.toString(shortcut.outShape()) + (shortcut.layers().isEmpty()
                            ? "; use a projection shortcut (e.g. a 1x1 convolution with the main branch's stride)" : ""));
        }
        this.main = main;
        this.shortcut = shortcut;
        this.out = main.outShape();
        this.act = new Act(out, activation);
    }

    @Override
    public List<Layer> children() {
        return List.of(main, shortcut, act);
    }

    @Override
    int windowRadius() {
        int a = main.windowRadius();
        int b = shortcut.windowRadius();
        return a < 0 || b < 0 || act.windowRadius() < 0 ? -1 : Math.max(a, b);
    }

    @Override
    public INDArray forward(INDArray x, Tape p) {
        INDArray a = main.forward(x, p);
        a.addi(shortcut.forward(x, p));
        return act.forward(a, p);
    }

    @Override
    public INDArray tangent(INDArray t, Tape p) {
        INDArray a = main.tangent(t, p);
        a.addi(shortcut.tangent(t, p));
        return act.tangent(a, p);
    }

    @Override
    public INDArray backward(INDArray dy, Tape p, boolean needInput) {
        INDArray d = act.backward(dy, p, true);
        INDArray dm = main.backward(d, p, needInput);
        INDArray ds = shortcut.backward(d, p, needInput);
        return needInput ? dm.addi(ds) : null;
    }

    @Override
    public INDArray backwardTangent(INDArray dt, Tape p, boolean needInput) {
        INDArray d = act.backwardTangent(dt, p, true);
        INDArray dm = main.backwardTangent(d, p, needInput);
        INDArray ds = shortcut.backwardTangent(d, p, needInput);
        return needInput ? dm.addi(ds) : null;
    }

    @Override
    public ObjectNode spec() {
        ObjectNode o = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("type", "residual");
        o.set("main", main.specs());
        o.set("shortcut", shortcut.specs());
        o.put("activation", act.activation().spec());
        return o;
    }

    @Override
    public String describe() {
        return "residual(main " + main.describe() + ", shortcut " + (shortcut.layers().isEmpty() ? "identity"
                : shortcut.describe()) + ", " + act.activation().spec() + ")";
    }
}
