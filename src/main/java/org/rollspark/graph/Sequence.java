package org.rollspark.graph;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Layers applied one after another. An empty sequence is the identity. */
public final class Sequence extends Layer {
    private final List<Layer> layers;

    public Sequence(int[] in, List<Layer> layers) {
        super(in);
        this.layers = List.copyOf(layers);
        int[] shape = in;
        for (Layer l : layers) {
            if (!java.util.Arrays.equals(l.inShape(), shape)) {
                throw bad(l.describe(), shape, "built for input " + java.util.Arrays.toString(l.inShape()));
            }
            shape = l.outShape();
        }
        this.out = shape.clone();
    }

    public List<Layer> layers() {
        return layers;
    }

    @Override
    public List<Layer> children() {
        return layers;
    }

    @Override
    int windowRadius() {
        int r = 0;
        for (Layer l : layers) {
            int q = l.windowRadius();
            if (q < 0) {
                return -1;
            }
            r += q;
        }
        return r;
    }

    @Override
    public INDArray forward(INDArray x, Tape p) {
        for (Layer l : layers) {
            x = l.forward(x, p);
        }
        return x;
    }

    @Override
    public INDArray tangent(INDArray t, Tape p) {
        for (Layer l : layers) {
            t = l.tangent(t, p);
        }
        return t;
    }

    @Override
    public INDArray backward(INDArray dy, Tape p, boolean needInput) {
        for (int i = layers.size() - 1; i >= 0 && dy != null; i--) {
            dy = layers.get(i).backward(dy, p, i > 0 || needInput);
        }
        return needInput ? dy : null;
    }

    @Override
    public INDArray backwardTangent(INDArray dt, Tape p, boolean needInput) {
        for (int i = layers.size() - 1; i >= 0 && dt != null; i--) {
            dt = layers.get(i).backwardTangent(dt, p, i > 0 || needInput);
        }
        return needInput ? dt : null;
    }

    ArrayNode specs() {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (Layer l : layers) {
            a.add(l.spec());
        }
        return a;
    }

    @Override
    public ObjectNode spec() {
        ObjectNode o = JsonNodeFactory.instance.objectNode().put("type", "sequence");
        o.set("layers", specs());
        return o;
    }

    @Override
    public String describe() {
        StringBuilder b = new StringBuilder();
        for (Layer l : layers) {
            b.append(b.length() == 0 ? "" : ", ").append(l.describe());
        }
        return "[" + b + "]";
    }
}
