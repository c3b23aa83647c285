package org.rollspark.graph;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.net.Activation;

/** A piecewise-linear activation; every input is a neuron. */
public final class Act extends Layer {
    private final Activation activation;

    public Act(int[] in, Activation activation) {
        super(in);
        this.activation = activation;
        this.out = in.clone();
    }

    public Activation activation() {
        return activation;
    }

    @Override
    public int ownNeurons() {
        return inSize();
    }

    /** 1 where {@code z > 0}, alpha elsewhere ({@code z = 0} counts as inactive). */
    static INDArray slopes(INDArray z, double alpha) {
        INDArray s = z.gt(0).castTo(z.dataType());
        if (alpha != 0) {
            s.muli(1 - alpha).addi(alpha);
        }
        return s;
    }

    @Override
    int windowRadius() {
        return in.length == 3 ? 0 : -1;
    }

    @Override
    public INDArray forward(INDArray x, Tape p) {
        INDArray slope = slopes(x, activation.alpha());
        p.put(this, p.addNeurons(this, x, slope, null));
        return x.mul(slope);
    }

    @Override
    public INDArray tangent(INDArray t, Tape p) {
        Tape.Neurons g = p.get(this);
        g.setTangent(t, p.window());
        return g.slopeTimes(t, p.tangents());
    }

    @Override
    public INDArray backward(INDArray dy, Tape p, boolean needInput) {
        Tape.Neurons g = p.get(this);
        INDArray dz = dy.mul(g.slope());
        return g.dz == null ? dz : dz.addi(g.dz);
    }

    @Override
    public INDArray backwardTangent(INDArray dt, Tape p, boolean needInput) {
        Tape.Neurons g = p.get(this);
        INDArray d = g.slopeTimes(dt, p.tangents());
        return g.dtz == null ? d : d.addi(g.dtz);
    }

    @Override
    public ObjectNode spec() {
        return JsonNodeFactory.instance.objectNode().put("type", "act").put("activation", activation.spec());
    }

    @Override
    public String describe() {
        return activation.spec() + " (" + shape(out) + " neurons)";
    }
}
