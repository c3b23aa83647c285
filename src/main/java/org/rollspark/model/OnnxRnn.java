package org.rollspark.model;

import static org.rollspark.model.OnnxTensors.attrInt;
import static org.rollspark.model.OnnxTensors.attrInts;
import static org.rollspark.model.OnnxTensors.attrString;
import static org.rollspark.model.OnnxTensors.constant;
import static org.rollspark.model.OnnxTensors.longs;
import static org.rollspark.model.OnnxTensors.values;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import onnx.Onnx;

/**
 * An ONNX {@code RNN} as the project's recurrent layer, and the nodes that take its outputs to the last
 * hidden state.
 */
final class OnnxRnn {
    private OnnxRnn() {}

    /**
     * An ONNX RNN as the project's recurrent layer: one forward direction, Relu or LeakyRelu, no clip, a zero
     * (or absent) initial state; W (1, H, F), R (1, H, H) and B (1, 2H), whose two halves add into one bias.
     */
    static OnnxImport.Part rnn(Onnx.NodeProto n, String where, int[] inputShape, Map<String, Onnx.TensorProto> init,
            Map<String, double[]> constants, Set<String> zeros) {
        String direction = attrString(n, "direction", "forward");
        if (!direction.equals("forward")) {
            throw new IllegalArgumentException(where + ": direction '" + direction + "' is not imported (one forward "
                    + "direction is what the recurrent layer computes)");
        }
        List<String> acts = new ArrayList<>();
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("activations")) {
                a.getStringsList().forEach(b -> acts.add(b.toStringUtf8()));
            }
        }
        String act = acts.isEmpty() ? "Tanh" : acts.get(0);
        if (acts.size() > 1 || !(act.equalsIgnoreCase("Relu") || act.equalsIgnoreCase("LeakyRelu"))) {
            throw new IllegalArgumentException(where + ": activation " + (acts.isEmpty() ? "Tanh (the default)" : acts)
                    + " is not piecewise linear; an RNN is imported with Relu or LeakyRelu (PyTorch: nonlinearity='relu')");
        }
        double alpha = 0;
        if (act.equalsIgnoreCase("LeakyRelu")) {
            alpha = 0.01;
            for (Onnx.AttributeProto a : n.getAttributeList()) {
                if (a.getName().equals("activation_alpha") && a.getFloatsCount() > 0) {
                    alpha = a.getFloats(0); // the stored float32, widened exactly
                }
            }
        }
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("clip")) {
                throw new IllegalArgumentException(where + ": a clipped RNN is not piecewise linear in the way imported");
            }
        }
        int steps = inputShape[0];
        int features = inputShape[1];
        Onnx.TensorProto wt = init.get(n.getInput(1));
        Onnx.TensorProto rt = init.get(n.getInput(2));
        if (wt == null || rt == null || wt.getDimsCount() != 3 || rt.getDimsCount() != 3 || wt.getDims(0) != 1
                || wt.getDims(2) != features || rt.getDims(1) != wt.getDims(1) || rt.getDims(2) != wt.getDims(1)) {
            throw new IllegalArgumentException(where + ": W must be a (1, H, " + features + ") and R a (1, H, H) initializer");
        }
        int hidden = Math.toIntExact(wt.getDims(1));
        if (attrInt(n, "hidden_size", hidden) != hidden) {
            throw new IllegalArgumentException(where + ": hidden_size " + attrInt(n, "hidden_size", hidden)
                    + " disagrees with W's " + hidden + " rows");
        }
        double[] bias = new double[hidden];
        if (n.getInputCount() > 3 && !n.getInput(3).isEmpty()) {
            double[] b = constant(n.getInput(3), init, constants, where);
            if (b.length != 2 * hidden) {
                throw new IllegalArgumentException(where + ": B has " + b.length + " values; (1, 2H) = " + 2 * hidden);
            }
            for (int j = 0; j < hidden; j++) {
                bias[j] = b[j] + b[hidden + j]; // Wb + Rb
            }
        }
        if (n.getInputCount() > 5 && !n.getInput(5).isEmpty() && !zeros.contains(n.getInput(5))) {
            double[] h0 = constant(n.getInput(5), init, constants, null);
            if (h0 == null || java.util.Arrays.stream(h0).anyMatch(v -> v != 0)) {
                throw new IllegalArgumentException(where + ": the initial state must be zero (the recurrent layer starts "
                        + "from h_0 = 0)");
            }
        }
        return new OnnxImport.Part(OnnxImport.NODES.objectNode().put("type", "rnn").put("hidden", hidden)
                .put("activation", alpha == 0 ? "relu" : "leaky_relu:" + alpha).put("recurrent_init", "uniform"),
                List.of(values(wt, "tensor '" + wt.getName() + "'"), values(rt, "tensor '" + rt.getName() + "'"), bias));
    }

    /**
     * An RNN output on its way to the last hidden state, by its axes: T (every step), L (the last step, kept as
     * an axis), D (the direction, size 1), N (the batch), H (the units). Y starts as TDNH (NTDH with layout 1),
     * Y_h as DNH (NDH); Squeeze, Gather, Slice, Transpose, Reshape and Identity narrow it until NH is left.
     * With sequence lengths only Y_h is the last valid state (Y is zero past each sequence's end).
     */
    record RnnOutput(String axes, int steps, boolean padded) {
        RnnOutput through(Onnx.NodeProto n, String where, Map<String, Onnx.TensorProto> init,
                Map<String, double[]> constants) {
            String op = n.getOpType();
            String why = where + " reads the RNN's output: only its last hidden state is imported (Y_h, or Y at the last "
                    + "step, through Squeeze, Gather, Slice, Transpose or Reshape)";
            return switch (op) {
                case "Identity" -> this;
                case "Transpose" -> {
                    long[] perm = attrInts(n, "perm", new long[0]);
                    if (perm.length != axes.length()) {
                        throw new IllegalArgumentException(why);
                    }
                    StringBuilder b = new StringBuilder();
                    for (long k : perm) {
                        b.append(axes.charAt((int) k));
                    }
                    yield new RnnOutput(b.toString(), steps, padded);
                }
                case "Squeeze" -> {
                    long[] ax = n.getInputCount() > 1 ? longs(constant(n.getInput(1), init, constants, where))
                            : attrInts(n, "axes", null);
                    StringBuilder b = new StringBuilder();
                    for (int k = 0; k < axes.length(); k++) {
                        char c = axes.charAt(k);
                        boolean unit = c == 'D' || c == 'L' || c == 'T' && steps == 1;
                        boolean named = ax == null ? unit : contains(ax, k, axes.length());
                        if (named && !unit) {
                            throw new IllegalArgumentException(where + ": squeezes an axis that is not of size 1");
                        }
                        if (named && c == 'T') {
                            lastStep(where);
                        }
                        if (!named) {
                            b.append(c);
                        }
                    }
                    yield new RnnOutput(b.toString(), steps, padded);
                }
                case "Gather" -> {
                    int axis = axis(attrInt(n, "axis", 0), where);
                    Onnx.TensorProto idx = init.get(n.getInput(1));
                    double[] v = constant(n.getInput(1), init, constants, where);
                    char c = axes.charAt(axis);
                    if (v.length != 1 || !(c == 'T' && (v[0] == -1 || v[0] == steps - 1) || c != 'T' && c != 'N'
                            && c != 'H' && (v[0] == 0 || v[0] == -1))) {
                        throw new IllegalArgumentException(why);
                    }
                    if (c == 'T') {
                        lastStep(where);
                    }
                    boolean keep = idx != null && idx.getDimsCount() > 0;
                    yield new RnnOutput(keep ? axes.substring(0, axis) + (c == 'T' ? 'L' : c) + axes.substring(axis + 1)
                            : axes.substring(0, axis) + axes.substring(axis + 1), steps, padded);
                }
                case "Slice" -> {
                    long[] starts;
                    long[] ends;
                    long[] ax;
                    long[] st = null;
                    if (n.getInputCount() > 1) {
                        starts = longs(constant(n.getInput(1), init, constants, where));
                        ends = longs(constant(n.getInput(2), init, constants, where));
                        ax = n.getInputCount() > 3 && !n.getInput(3).isEmpty()
                                ? longs(constant(n.getInput(3), init, constants, where)) : null;
                        st = n.getInputCount() > 4 && !n.getInput(4).isEmpty()
                                ? longs(constant(n.getInput(4), init, constants, where)) : null;
                    } else {
                        starts = attrInts(n, "starts", new long[0]);
                        ends = attrInts(n, "ends", new long[0]);
                        ax = attrInts(n, "axes", null);
                    }
                    StringBuilder b = new StringBuilder(axes);
                    for (int k = 0; k < starts.length; k++) {
                        int axis = axis(ax == null ? k : ax[k], where);
                        char c = axes.charAt(axis);
                        long size = c == 'T' ? steps : c == 'N' || c == 'H' ? Long.MAX_VALUE : 1;
                        long from = starts[k] < 0 ? starts[k] + size : starts[k];
                        boolean toEnd = ends[k] >= size || ends[k] >= Integer.MAX_VALUE;
                        // a unit step to the end: the last step of T, all of every other axis
                        if (st != null && st[k] != 1 || !toEnd || from != (c == 'T' ? steps - 1 : 0)) {
                            throw new IllegalArgumentException(why);
                        }
                        if (c == 'T') {
                            lastStep(where);
                            b.setCharAt(axis, 'L');
                        }
                    }
                    yield new RnnOutput(b.toString(), steps, padded);
                }
                case "Reshape", "Flatten" -> {
                    // (..., N, ..., H) with every other axis of size 1, to (N, H)
                    String rest = axes.replace("D", "").replace("L", "");
                    double[] shape = op.equals("Reshape") ? constant(n.getInput(1), init, constants, where) : null;
                    boolean toNh = op.equals("Reshape") ? shape.length == 2 && (shape[0] == -1 || shape[0] == 0
                            && axes.charAt(0) == 'N' || shape[1] == -1) : axes.charAt(0) == 'N'
                            && attrInt(n, "axis", 1) == 1;
                    if (!rest.equals("NH") || !toNh) {
                        throw new IllegalArgumentException(why);
                    }
                    yield new RnnOutput("NH", steps, padded);
                }
                default -> throw new IllegalArgumentException(why);
            };
        }

        private void lastStep(String where) {
            if (padded) {
                throw new IllegalArgumentException(where + ": with sequence_lens, Y at the last step is zero for shorter "
                        + "sequences; read the last state from Y_h");
            }
        }

        private int axis(long a, String where) {
            long k = a < 0 ? a + axes.length() : a;
            if (k < 0 || k >= axes.length()) {
                throw new IllegalArgumentException(where + ": axis " + a + " of a " + axes.length() + "-D tensor");
            }
            return (int) k;
        }

        static boolean contains(long[] ax, int k, int rank) {
            for (long a : ax) {
                if (a == k || a + rank == k) {
                    return true;
                }
            }
            return false;
        }
    }
}
