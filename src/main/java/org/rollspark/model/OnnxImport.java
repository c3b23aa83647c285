package org.rollspark.model;

import static org.rollspark.model.OnnxTensors.attrFloat;
import static org.rollspark.model.OnnxTensors.attrInt;
import static org.rollspark.model.OnnxTensors.attrInts;
import static org.rollspark.model.OnnxTensors.attrString;
import static org.rollspark.model.OnnxTensors.attribute;
import static org.rollspark.model.OnnxTensors.constant;
import static org.rollspark.model.OnnxTensors.constantTensor;
import static org.rollspark.model.OnnxTensors.inlineExternal;
import static org.rollspark.model.OnnxTensors.matrix;
import static org.rollspark.model.OnnxTensors.values;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import onnx.Onnx;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.net.Activation;
import org.rollspark.net.Network;
import org.rollspark.net.Normalization;
import org.rollspark.util.Host;

/**
 * Loads an ONNX model (as PyTorch's {@code torch.onnx.export} or tf2onnx write it) into the project's
 * networks. This build imports chains of layers: an optional leading {@code Sub} / {@code Div} (or
 * {@code Mul}) by constants (the input normalisation, so margins come out in raw input units),
 * {@code Gemm} or {@code MatMul} + {@code Add}, {@code Conv} (group 1, square kernel, equal strides and
 * pads), inference {@code BatchNormalization}, non-overlapping {@code AveragePool},
 * {@code GlobalAveragePool}, {@code Relu}, {@code LeakyRelu}, scalar-slope {@code PRelu}, a leading {@code RNN}
 * (Relu / LeakyRelu, forward; its last state through Squeeze / Gather / Slice / Transpose), and the no-ops
 * {@code Flatten}, {@code Reshape} to (N, -1), {@code Identity}, {@code Dropout} and a zero {@code Pad};
 * a trailing {@code Softmax} / {@code LogSoftmax} is dropped (margins are taken on the logits). Dense
 * layers alternating with one activation on a flat input become the dense fast path, anything else a
 * layer-list (graph) network; two branches from one fork joined by {@code Add} and an activation become a
 * residual block. Every other operator, and other forks, are refused with an error that names the node,
 * the operator and why. Weights come from initializers or Constant nodes
 * (raw_data or typed fields, float32, float64 or int64), inline or in external-data files inside the model's
 * folder. Opsets 9 to 19.
 */
public final class OnnxImport {
    private OnnxImport() {}

    /** The imported network and what the import noted (a dropped trailing Softmax, for instance). */
    public record Imported(Network network, List<String> notes) {}

    /** Largest ONNX file read (a guard against a file that is not a model). */
    static final long MAX_BYTES = 2L << 30;

    /** Why an operator cannot be imported, for the ones users meet most. */
    private static final Map<String, String> WHY = Map.ofEntries(
            Map.entry("MaxPool", "max pooling adds a constraint per pair of inputs, so its linear regions are not "
                    + "the ones certified here; use AveragePool"),
            Map.entry("Sigmoid", "a sigmoid is not piecewise linear: it has no linear regions"),
            Map.entry("Tanh", "tanh is not piecewise linear: it has no linear regions"),
            Map.entry("Softmax", "a softmax inside the graph is not piecewise linear (only a trailing one is dropped)"),
            Map.entry("LogSoftmax", "a log-softmax inside the graph is not piecewise linear (only a trailing one is dropped)"),
            Map.entry("LSTM", "LSTM gates are sigmoids and tanh: not piecewise linear (a ReLU RNN is: nonlinearity='relu' in PyTorch)"),
            Map.entry("GRU", "GRU gates are sigmoids and tanh: not piecewise linear (a ReLU RNN is: nonlinearity='relu' in PyTorch)"),
            Map.entry("Elu", "ELU is not piecewise linear"), Map.entry("Selu", "SELU is not piecewise linear"),
            Map.entry("Gelu", "GELU is not piecewise linear"), Map.entry("Softplus", "softplus is not piecewise linear"),
            Map.entry("Add", "an Add that is neither a layer's bias nor the join of a residual block"));

    /** Operators refused wherever they appear: they have no linear regions, or not the ones certified here. */
    private static final Set<String> NEVER = Set.of("MaxPool", "Sigmoid", "Tanh", "LSTM", "GRU", "Elu", "Selu", "Gelu",
            "Softplus");

    /** Reads and imports {@code file}. */
    public static Imported load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no such ONNX file");
        }
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException(file + ": " + Files.size(file) + " bytes, more than an ONNX model this build reads ("
                    + MAX_BYTES + ")");
        }
        Onnx.ModelProto model;
        try {
            model = Onnx.ModelProto.parseFrom(Files.readAllBytes(file));
        } catch (org.nd4j.shade.protobuf.InvalidProtocolBufferException e) {
            throw new IOException(file + ": not an ONNX model (" + e.getMessage() + ")", e);
        }
        if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
            throw new IOException(file + ": not an ONNX model (no graph)");
        }
        try {
            List<String> notes = new ArrayList<>();
            opset(model, notes);
            Imported m = importGraph(inlineExternal(model.getGraph(), file));
            notes.addAll(m.notes());
            return new Imported(m.network(), notes);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** The oldest and newest default-domain opsets whose semantics this importer was written and tested against. */
    public static final int MIN_OPSET = 9;
    public static final int MAX_OPSET = 19;

    /** The model's default-domain opset: below {@link #MIN_OPSET} refused, above {@link #MAX_OPSET} read with a note. */
    private static void opset(Onnx.ModelProto model, List<String> notes) {
        long v = -1;
        for (Onnx.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                v = o.getVersion();
            }
        }
        if (v < 0) {
            throw new IllegalArgumentException("the model imports no default-domain (ai.onnx) opset");
        }
        if (v < MIN_OPSET) {
            throw new IllegalArgumentException("opset " + v + " is older than this importer reads (" + MIN_OPSET + " to "
                    + MAX_OPSET + "); export again with opset_version=" + MAX_OPSET);
        }
        if (v > MAX_OPSET) {
            notes.add("opset " + v + " is newer than the opsets this importer was tested with (" + MIN_OPSET + " to "
                    + MAX_OPSET + "); its operators are read with their opset-" + MAX_OPSET + " meaning");
        }
    }

    /** One imported layer: its layer-list spec and its parameters in the layer's order (PyTorch layouts). */
    record Part(com.fasterxml.jackson.databind.node.ObjectNode spec, List<double[]> params) {
        String type() {
            return spec.get("type").asText();
        }
    }

    static final com.fasterxml.jackson.databind.node.JsonNodeFactory NODES =
            com.fasterxml.jackson.databind.node.JsonNodeFactory.instance;

    private static Imported importGraph(Onnx.GraphProto g) {
        // operators that no piecewise-linear import can take are named first, wherever they are
        for (int i = 0; i < g.getNodeCount(); i++) {
            Onnx.NodeProto n = g.getNode(i);
            if (NEVER.contains(n.getOpType())) {
                throw new IllegalArgumentException("node '" + (n.getName().isEmpty() ? "#" + i : n.getName()) + "' ("
                        + n.getOpType() + ") is not supported: " + WHY.get(n.getOpType()));
            }
        }
        Map<String, Onnx.TensorProto> init = new HashMap<>();
        for (Onnx.TensorProto t : g.getInitializerList()) {
            init.put(t.getName(), t);
        }
        // an RNN's sequence_lens may be a graph input: the valid steps of padded sequences, which the data carry
        Set<String> lengthInputs = new java.util.HashSet<>();
        Set<String> timeMajorInputs = new java.util.HashSet<>();
        for (Onnx.NodeProto n : g.getNodeList()) {
            if (n.getOpType().equals("RNN")) {
                if (n.getInputCount() > 4 && !n.getInput(4).isEmpty()) {
                    lengthInputs.add(n.getInput(4));
                }
                if (attrInt(n, "layout", 0) == 0) {
                    timeMajorInputs.add(n.getInput(0));
                }
            }
        }
        List<Onnx.ValueInfoProto> inputs = new ArrayList<>();
        for (Onnx.ValueInfoProto v : g.getInputList()) {
            if (!init.containsKey(v.getName()) && !lengthInputs.contains(v.getName())) {
                inputs.add(v);
            }
        }
        if (inputs.size() != 1) {
            throw new IllegalArgumentException("the graph has " + inputs.size() + " data inputs; a classifier has one");
        }
        // time-major: a layout-0 RNN reads the graph's (T, N, F) input without a Transpose in front of it
        boolean timeMajor = !timeMajorInputs.isEmpty() && g.getNodeList().stream().noneMatch(n -> n.getOpType()
                .equals("Transpose")) && inputs.get(0).getType().getTensorType().getShape().getDimCount() == 3;
        int[] inputShape = inputShape(inputs.get(0), timeMajor);
        List<String> notes = new ArrayList<>();
        if (timeMajor) {
            notes.add("input '" + inputs.get(0).getName() + "' is time-major (T, N, F); the tool feeds each sequence as "
                    + "its T x F values in step order, which is the same network");
        }
        Map<String, double[]> constants = new HashMap<>();
        Set<String> zeros = new java.util.HashSet<>();
        String current = inputs.get(0).getName();
        boolean stepsFirst = timeMajor; // whether the running tensor is (T, N, F)
        // the RNN's outputs being narrowed to its last state
        Map<String, OnnxRnn.RnnOutput> rnnOutputs = new HashMap<>();
        double[] mean = null;
        double[] scale = null;
        Onnx.TensorProto meanT = null;
        Onnx.TensorProto scaleT = null;
        List<Part> parts = new ArrayList<>();
        List<Onnx.NodeProto> nodes = g.getNodeList();
        Map<String, Integer> readers = new HashMap<>();
        for (Onnx.NodeProto n : nodes) {
            if (!SHAPE_OPS.contains(n.getOpType()) && !n.getOpType().equals("Constant")) {
                n.getInputList().forEach(t -> readers.merge(t, 1, Integer::sum));
            }
        }
        // a residual block being read: where it forked, the layers outside it, and its two branches
        String blockIn = null;
        String mainOut = null;
        List<Part> outer = null;
        List<Part> mainParts = null;
        for (int i = 0; i < nodes.size(); i++) {
            Onnx.NodeProto n = nodes.get(i);
            String op = n.getOpType();
            String where = "node '" + (n.getName().isEmpty() ? "#" + i : n.getName()) + "' (" + op + ")";
            if (op.equals("Constant")) {
                Onnx.TensorProto t = constantTensor(n, where);
                init.put(n.getOutput(0), t);
                constants.put(n.getOutput(0), values(t, where));
                continue;
            }
            if (op.equals("Identity") && init.containsKey(n.getInput(0))) {
                // a constant under another name (exporters alias a tensor that two layers share)
                init.put(n.getOutput(0), init.get(n.getInput(0)));
                if (constants.containsKey(n.getInput(0))) {
                    constants.put(n.getOutput(0), constants.get(n.getInput(0)));
                }
                continue;
            }
            String fromRnn = n.getInputList().stream().filter(rnnOutputs::containsKey).findFirst().orElse(null);
            if (fromRnn != null) {
                OnnxRnn.RnnOutput narrowed = rnnOutputs.get(fromRnn).through(n, where, init, constants);
                if (narrowed.axes().equals("NH")) {
                    rnnOutputs.clear();
                    current = n.getOutput(0);
                } else {
                    rnnOutputs.put(n.getOutput(0), narrowed);
                }
                continue;
            }
            if (op.equals("ConstantOfShape")) {
                double[] v = n.getAttributeCount() == 0 ? new double[] {0} : values(attribute(n, "value").getT(), where);
                if (v.length == 1 && v[0] == 0) {
                    zeros.add(n.getOutput(0));
                }
                continue;
            }
            if (op.equals("Shape") || SHAPE_OPS.contains(op) && !n.getInputList().contains(current)) {
                continue; // computes a shape (for a Reshape, or an RNN's initial state)
            }
            if (op.equals("Add") && blockIn != null && n.getInputList().contains(current)) {
                // the join of a residual block: the branch just read, and the other one (or the block's input)
                String other = n.getInput(0).equals(current) ? n.getInput(1) : n.getInput(0);
                boolean identity = other.equals(blockIn);
                if (!identity && !other.equals(mainOut)) {
                    throw new IllegalArgumentException(where + " joins tensors of different blocks: only residual blocks "
                            + "of two branches from one fork are imported");
                }
                List<Part> main = identity ? parts : mainParts;
                List<Part> shortcut = identity ? List.of() : parts;
                Onnx.NodeProto act = i + 1 < nodes.size() ? nodes.get(i + 1) : null;
                if (act == null || !(act.getOpType().equals("Relu") || act.getOpType().equals("LeakyRelu"))
                        || !act.getInput(0).equals(n.getOutput(0)) || main.isEmpty()) {
                    throw new IllegalArgumentException(where + ": a residual join must be followed by Relu or LeakyRelu "
                            + "and its main branch must hold a layer");
                }
                double a = act.getOpType().equals("Relu") ? 0 : attrFloat(act, "alpha", 0.01);
                com.fasterxml.jackson.databind.node.ObjectNode spec = NODES.objectNode().put("type", "residual")
                        .put("activation", a == 0 ? "relu" : "leaky_relu:" + a);
                spec.set("main", specs(main));
                spec.set("shortcut", specs(shortcut));
                List<double[]> ps = new ArrayList<>();
                main.forEach(x -> ps.addAll(x.params()));
                shortcut.forEach(x -> ps.addAll(x.params()));
                parts = outer;
                parts.add(new Part(spec, ps));
                blockIn = null;
                mainOut = null;
                current = act.getOutput(0);
                i++;
                continue;
            }
            if (blockIn != null && mainParts == null && !n.getInputList().contains(current)
                    && n.getInputList().contains(blockIn)) {
                // the second branch of the block starts
                mainParts = parts;
                mainOut = current;
                parts = new ArrayList<>();
                current = blockIn;
            }
            if (!n.getInputList().contains(current)) {
                throw new IllegalArgumentException(where + " does not read the running tensor '" + current
                        + "': only chains of layers and residual blocks of two branches are imported");
            }
            if (readers.getOrDefault(current, 0) > 1 && !current.equals(blockIn)) {
                if (blockIn != null) {
                    throw new IllegalArgumentException(where + ": a fork inside a residual block is not imported");
                }
                blockIn = current;
                outer = parts;
                mainParts = null;
                parts = new ArrayList<>();
            }
            switch (op) {
                case "Identity", "Dropout", "Flatten" -> current = n.getOutput(0);
                case "Cast" -> {
                    // around the normalisation only: float64 constants (what OnnxExport writes for a normalisation
                    // float32 cannot hold) between a widening Cast and a Cast back to float32
                    long to = attrInt(n, "to", -1);
                    if (!parts.isEmpty() || to != Onnx.TensorProto.DataType.FLOAT_VALUE
                            && to != Onnx.TensorProto.DataType.DOUBLE_VALUE) {
                        throw new IllegalArgumentException(where + ": a Cast is imported only to float32 or float64 and "
                                + "only before the first layer (around the input normalisation)");
                    }
                    current = n.getOutput(0);
                }
                case "Pad" -> {
                    // exporters write a zero Pad before AveragePool; any other padding belongs inside a Conv
                    double[] pads = n.getInputCount() > 1 && !n.getInput(1).isEmpty()
                            ? constant(n.getInput(1), init, constants, where)
                            : java.util.Arrays.stream(attrInts(n, "pads", new long[0])).asDoubleStream().toArray();
                    if (java.util.Arrays.stream(pads).anyMatch(v -> v != 0)) {
                        throw new IllegalArgumentException(where + ": only a zero Pad is imported (padding belongs to a "
                                + "Conv's pads)");
                    }
                    current = n.getOutput(0);
                }
                case "Reshape" -> {
                    double[] shape = constant(n.getInput(1), init, constants, null);
                    if (shape != null && !(shape.length == 2 && (shape[1] == -1 || shape[0] == -1 || shape[0] == 1))) {
                        throw new IllegalArgumentException(where + ": only a reshape to (N, -1) is imported, not "
                                + java.util.Arrays.toString(shape));
                    }
                    current = n.getOutput(0);
                }
                case "Sub", "Div", "Mul" -> {
                    if (!parts.isEmpty()) {
                        throw new IllegalArgumentException(where + ": arithmetic by constants is imported only before the "
                                + "first layer (as the input normalisation)");
                    }
                    String other = n.getInput(0).equals(current) ? n.getInput(1) : n.getInput(0);
                    // the stored values, widened exactly (float32) or as they are (float64): the certified network is
                    // the one the file computes
                    double[] c = constant(other, init, constants, where);
                    if (op.equals("Sub")) {
                        meanT = init.get(other);
                        if (!n.getInput(0).equals(current) || scale != null) {
                            throw new IllegalArgumentException(where + ": the normalisation must be (x - mean) / std");
                        }
                        mean = c;
                    } else {
                        if (op.equals("Div") && !n.getInput(0).equals(current)) {
                            throw new IllegalArgumentException(where + ": a constant divided by the input is not linear");
                        }
                        double[] sc = c.clone();
                        for (int k = 0; k < sc.length; k++) {
                            sc[k] = op.equals("Div") ? sc[k] : 1.0 / sc[k];
                            if (!(sc[k] > 0) || !Double.isFinite(sc[k])) {
                                throw new IllegalArgumentException(where + ": the input scale must be positive and finite");
                            }
                        }
                        scale = sc;
                        scaleT = init.get(other);
                    }
                    current = n.getOutput(0);
                }
                case "Gemm" -> {
                    if (attrInt(n, "transA", 0) != 0 || attrFloat(n, "alpha", 1) != 1 || attrFloat(n, "beta", 1) != 1) {
                        throw new IllegalArgumentException(where + ": only Gemm with transA 0, alpha 1 and beta 1 is imported");
                    }
                    double[][] w = matrix(n.getInput(1), init, where);
                    if (attrInt(n, "transB", 0) == 0) {
                        w = transpose(w);
                    }
                    double[] bias = n.getInputCount() > 2 && !n.getInput(2).isEmpty()
                            ? constant(n.getInput(2), init, constants, where) : new double[w.length];
                    parts.add(dense(w, checkBias(bias, w.length, where)));
                    current = n.getOutput(0);
                }
                case "MatMul" -> {
                    if (!n.getInput(0).equals(current)) {
                        throw new IllegalArgumentException(where + ": only x @ W is imported");
                    }
                    double[][] w = transpose(matrix(n.getInput(1), init, where)); // ONNX [in, out] -> [out, in]
                    double[] bias = new double[w.length];
                    String out = n.getOutput(0);
                    if (i + 1 < nodes.size() && nodes.get(i + 1).getOpType().equals("Add")
                            && nodes.get(i + 1).getInputList().contains(out) && isConstant(nodes.get(i + 1), out, init,
                                    constants)) {
                        Onnx.NodeProto add = nodes.get(++i);
                        String addWhere = "node '" + add.getName() + "' (Add)";
                        String other = add.getInput(0).equals(out) ? add.getInput(1) : add.getInput(0);
                        bias = checkBias(constant(other, init, constants, addWhere), w.length, addWhere);
                        out = add.getOutput(0);
                    }
                    parts.add(dense(w, bias));
                    current = out;
                }
                case "Conv" -> {
                    double[] w = constant(n.getInput(1), init, constants, where);
                    Onnx.TensorProto wt = init.get(n.getInput(1));
                    if (wt == null || wt.getDimsCount() != 4 || wt.getDims(2) != wt.getDims(3)) {
                        throw new IllegalArgumentException(where + ": the weight must be a 4-D initializer with a square kernel");
                    }
                    long[] strides = attrInts(n, "strides", new long[] {1, 1});
                    long[] pads = attrInts(n, "pads", new long[] {0, 0, 0, 0});
                    long[] dil = attrInts(n, "dilations", new long[] {1, 1});
                    if (attrInt(n, "group", 1) != 1 || strides[0] != strides[1] || dil[0] != 1 || dil[1] != 1
                            || java.util.Arrays.stream(pads).distinct().count() != 1
                            || !attrString(n, "auto_pad", "NOTSET").equals("NOTSET")) {
                        throw new IllegalArgumentException(where + ": only group 1, equal strides, no dilation and equal "
                                + "explicit pads on every side are imported");
                    }
                    List<double[]> ps = new ArrayList<>(List.of(w));
                    boolean bias = n.getInputCount() > 2 && !n.getInput(2).isEmpty();
                    if (bias) {
                        ps.add(checkBias(constant(n.getInput(2), init, constants, where), (int) wt.getDims(0), where));
                    }
                    parts.add(new Part(NODES.objectNode().put("type", "conv2d").put("filters", wt.getDims(0))
                            .put("kernel", wt.getDims(2)).put("stride", strides[0]).put("padding", pads[0]).put("bias", bias),
                            ps));
                    current = n.getOutput(0);
                }
                case "BatchNormalization" -> {
                    if (attrInt(n, "training_mode", 0) != 0) {
                        throw new IllegalArgumentException(where + ": only inference batch norm (training_mode 0) is imported");
                    }
                    List<double[]> ps = new ArrayList<>();
                    for (int k = 1; k <= 4; k++) {
                        ps.add(constant(n.getInput(k), init, constants, where)); // scale, B, mean, var: gamma, beta, ...
                    }
                    parts.add(new Part(NODES.objectNode().put("type", "batchnorm").put("eps", attrFloat(n, "epsilon", 1e-5)),
                            ps));
                    current = n.getOutput(0);
                }
                case "AveragePool" -> {
                    long[] k = attrInts(n, "kernel_shape", new long[0]);
                    long[] st = attrInts(n, "strides", k);
                    long[] pads = attrInts(n, "pads", new long[] {0, 0, 0, 0});
                    if (k.length != 2 || k[0] != k[1] || st.length != 2 || st[0] != k[0] || st[1] != k[1]
                            || java.util.Arrays.stream(pads).anyMatch(v -> v != 0)
                            || java.util.Arrays.stream(attrInts(n, "dilations", new long[0])).anyMatch(v -> v != 1)) {
                        throw new IllegalArgumentException(where + ": only non-overlapping square pooling (stride = "
                                + "kernel, no padding, no dilation) is imported");
                    }
                    parts.add(new Part(NODES.objectNode().put("type", "avgpool").put("kernel", k[0]), List.of()));
                    current = n.getOutput(0);
                }
                case "Transpose" -> {
                    if (inputShape.length != 2 || !parts.isEmpty() || stepsFirst
                            || !java.util.Arrays.equals(attrInts(n, "perm", new long[0]), new long[] {1, 0, 2})) {
                        throw new IllegalArgumentException(where + ": only the (N, T, F) -> (T, N, F) transpose in front of "
                                + "an RNN is imported");
                    }
                    stepsFirst = true;
                    current = n.getOutput(0);
                }
                case "RNN" -> {
                    if (!parts.isEmpty() || inputShape.length != 2) {
                        throw new IllegalArgumentException(where + ": an RNN is imported as the first layer, reading the "
                                + "(N, T, F) input (after its normalisation)");
                    }
                    boolean batchFirst = attrInt(n, "layout", 0) == 1;
                    if (batchFirst == stepsFirst) {
                        throw new IllegalArgumentException(where + ": layout " + (batchFirst ? 1 : 0) + " reads a "
                                + (batchFirst ? "(N, T, F)" : "(T, N, F)") + " tensor, but the running one is "
                                + (stepsFirst ? "(T, N, F)" : "(N, T, F)"));
                    }
                    parts.add(OnnxRnn.rnn(n, where, inputShape, init, constants, zeros));
                    boolean lengths = n.getInputCount() > 4 && !n.getInput(4).isEmpty();
                    if (n.getOutputCount() > 0 && !n.getOutput(0).isEmpty()) {
                        rnnOutputs.put(n.getOutput(0), new OnnxRnn.RnnOutput(batchFirst ? "NTDH" : "TDNH", inputShape[0], lengths));
                    }
                    if (n.getOutputCount() > 1 && !n.getOutput(1).isEmpty()) {
                        rnnOutputs.put(n.getOutput(1), new OnnxRnn.RnnOutput(batchFirst ? "NDH" : "DNH", inputShape[0], false));
                    }
                    current = NOT_A_TENSOR;
                }
                case "GlobalAveragePool" -> {
                    parts.add(new Part(NODES.objectNode().put("type", "global_avgpool"), List.of()));
                    current = n.getOutput(0);
                }
                case "Relu", "LeakyRelu", "PRelu" -> {
                    double slope = switch (op) {
                        case "Relu" -> 0;
                        case "LeakyRelu" -> attrFloat(n, "alpha", 0.01);
                        default -> {
                            double[] sl = constant(n.getInput(1), init, constants, where);
                            for (double v : sl) {
                                if (v != sl[0]) {
                                    throw new IllegalArgumentException(where + ": only a scalar PRelu slope is imported, "
                                            + "this one has " + sl.length + " different values");
                                }
                            }
                            yield sl[0];
                        }
                    };
                    parts.add(new Part(slope == 0 ? NODES.objectNode().put("type", "relu")
                            : NODES.objectNode().put("type", "leaky_relu").put("alpha", slope), List.of()));
                    current = n.getOutput(0);
                }
                case "Softmax", "LogSoftmax" -> {
                    if (i != nodes.size() - 1 || parts.isEmpty()) {
                        throw new IllegalArgumentException(where + ": " + WHY.get(op));
                    }
                    notes.add(where + " dropped: margins and certificates are taken on the logits");
                }
                default -> throw new IllegalArgumentException(where + " is not supported: "
                        + WHY.getOrDefault(op, "not a piecewise-linear layer this importer knows") + ". Supported: Gemm, "
                        + "MatMul + Add, Conv, BatchNormalization, AveragePool, GlobalAveragePool, Relu, LeakyRelu, PRelu "
                        + "(scalar), Flatten, Reshape (N, -1), Identity, Dropout, a zero Pad, RNN (Relu / LeakyRelu, forward) "
                        + "as the first layer, a leading Sub / Div (or Mul) by constants (with Casts to float64 and back around "
                        + "them), a trailing Softmax / LogSoftmax");
            }
        }
        if (!rnnOutputs.isEmpty()) {
            throw new IllegalArgumentException("no node selects the RNN's last hidden state (Y_h, or Y at the last step)");
        }
        if (parts.stream().noneMatch(p -> p.type().equals("dense") || p.type().equals("conv2d"))) {
            throw new IllegalArgumentException("the graph has no Gemm, MatMul or Conv layer");
        }
        if (mean != null) {
            mean = broadcast(mean, meanT, inputShape, timeMajor, "the normalisation's mean");
        }
        if (scale != null) {
            scale = broadcast(scale, scaleT, inputShape, timeMajor, "the normalisation's scale");
        }
        if (!parts.get(parts.size() - 1).type().equals("dense")) {
            throw new IllegalArgumentException("the graph must end with a Gemm or MatMul layer (the logits)");
        }
        Normalization norm = normalization(mean == null ? new double[] {0} : mean, scale == null ? new double[] {1} : scale);
        Network shape = denseChain(parts, inputShape)
                ? Architectures.shape(Architectures.dense(sizes(parts, inputShape), activation(parts)), norm)
                : Architectures.shape(Architectures.graph(inputShape, specs(parts)), norm);
        double[] flat = new double[Math.toIntExact(shape.params().length())];
        List<Network.Tensor> tensors = shape.tensors();
        List<double[]> values = new ArrayList<>();
        parts.forEach(p -> values.addAll(p.params()));
        if (values.size() != tensors.size()) {
            throw new IllegalArgumentException("the layers hold " + values.size() + " parameter tensors, the network "
                    + tensors.size());
        }
        boolean float32 = true;
        for (int t = 0; t < tensors.size(); t++) {
            double[] v = values.get(t);
            if (v.length != tensors.get(t).size()) {
                throw new IllegalArgumentException("parameter " + tensors.get(t).name() + " has " + v.length + " values, "
                        + "the layer takes " + tensors.get(t).size() + " (shapes " + java.util.Arrays.toString(inputShape)
                        + " at the input)");
            }
            for (int k = 0; k < v.length; k++) {
                if (!Double.isFinite(v[k])) {
                    throw new IllegalArgumentException("parameter " + tensors.get(t).name() + ": a weight is not finite "
                            + "(NaN or infinity)");
                }
                if ((float) v[k] != v[k] && float32) {
                    float32 = false;
                    notes.add("parameter " + tensors.get(t).name() + " holds " + v[k] + ", which float32 cannot hold "
                            + "(float64 weights, or an RNN's two biases added): the network keeps float64 parameters, "
                            + "so it is the function the file computes");
                }
            }
            System.arraycopy(v, 0, flat, Math.toIntExact(tensors.get(t).offset()), v.length);
        }
        return new Imported(shape.withParams(Host.array(flat, float32 ? DataType.FLOAT : DataType.DOUBLE, flat.length)),
                notes);
    }

    /** Operators that only compute shapes (for a Reshape, or an RNN's initial state) when they do not read data. */
    private static final Set<String> SHAPE_OPS = Set.of("Shape", "Gather", "Unsqueeze", "Concat", "Cast", "Slice",
            "Squeeze", "ConstantOfShape");

    /** The running tensor while an RNN's outputs are being narrowed to its last state: no node reads it. */
    private static final String NOT_A_TENSOR = "\u0000rnn";

    /**
     * A normalisation constant over one example's values, by ONNX broadcasting (its dims aligned with the
     * input's trailing ones); kept as is when it is a scalar or already one value per input value.
     */
    private static double[] broadcast(double[] v, Onnx.TensorProto t, int[] shape, boolean timeMajor, String what) {
        int size = java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        if (v.length == 1 || v.length == size && !timeMajor) {
            return v;
        }
        long[] dims = t == null ? new long[] {v.length} : t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        int[] full = timeMajor ? new int[] {shape[0], 1, shape[1]} : shape; // the batch axis, where it sits
        int lead = dims.length - full.length;
        for (int k = 0; k < dims.length; k++) {
            int f = k - lead;
            if (f < 0 ? dims[k] != 1 : dims[k] != 1 && dims[k] != full[f]) {
                throw new IllegalArgumentException(what + " has dims " + java.util.Arrays.toString(dims) + ", which do not "
                        + "broadcast against the input's " + java.util.Arrays.toString(full));
            }
        }
        if (timeMajor && lead < 0 && dims.length >= 2 || timeMajor && dims.length >= 2 && dims[dims.length - 2] != 1) {
            throw new IllegalArgumentException(what + " of a time-major input must be a scalar or one value per feature");
        }
        double[] out = new double[size];
        int[] idx = new int[shape.length];
        for (int i = 0; i < size; i++) {
            int r = i;
            for (int k = shape.length - 1; k >= 0; k--) {
                idx[k] = r % shape[k];
                r /= shape[k];
            }
            // the constant's flat index: its own dims, aligned right against the (batch-free) shape
            int[] pos = timeMajor ? new int[] {idx[0], 0, idx[1]} : idx;
            int src = 0;
            for (int k = Math.max(0, lead); k < dims.length; k++) {
                src = src * (int) dims[k] + (dims[k] == 1 ? 0 : pos[k - lead]);
            }
            out[i] = v[src];
        }
        return out;
    }

    /** Whether an Add's other input (besides {@code out}) is a constant: a bias, not a residual join. */
    private static boolean isConstant(Onnx.NodeProto add, String out, Map<String, Onnx.TensorProto> init,
            Map<String, double[]> constants) {
        String other = add.getInput(0).equals(out) ? add.getInput(1) : add.getInput(0);
        return init.containsKey(other) || constants.containsKey(other);
    }

    private static Part dense(double[][] w, double[] b) {
        double[] flat = new double[w.length * w[0].length];
        for (int r = 0; r < w.length; r++) {
            System.arraycopy(w[r], 0, flat, r * w[0].length, w[0].length);
        }
        return new Part(NODES.objectNode().put("type", "dense").put("units", w.length).put("in", w[0].length),
                List.of(flat, b));
    }

    /** Dense layers alternating with one kind of activation on a flat input: the dense fast path. */
    private static boolean denseChain(List<Part> parts, int[] inputShape) {
        if (inputShape.length != 1) {
            return false;
        }
        for (int i = 0; i < parts.size(); i++) {
            String want = i % 2 == 0 ? "dense" : parts.get(1).type();
            if (!parts.get(i).type().equals(want) || i % 2 == 1 && !parts.get(i).spec().equals(parts.get(1).spec())) {
                return false;
            }
        }
        return parts.size() % 2 == 1 && (parts.size() == 1 || !parts.get(1).type().equals("dense"));
    }

    private static int[] sizes(List<Part> parts, int[] inputShape) {
        List<Integer> s = new ArrayList<>(List.of(inputShape[0]));
        for (Part p : parts) {
            if (p.type().equals("dense")) {
                s.add(p.spec().get("units").asInt());
            }
        }
        return s.stream().mapToInt(Integer::intValue).toArray();
    }

    private static Activation activation(List<Part> parts) {
        if (parts.size() == 1) {
            return Activation.relu();
        }
        com.fasterxml.jackson.databind.node.ObjectNode a = parts.get(1).spec();
        return a.get("type").asText().equals("relu") ? Activation.relu() : Activation.leakyRelu(a.get("alpha").asDouble());
    }

    private static com.fasterxml.jackson.databind.node.ArrayNode specs(List<Part> parts) {
        com.fasterxml.jackson.databind.node.ArrayNode a = NODES.arrayNode();
        for (Part p : parts) {
            com.fasterxml.jackson.databind.node.ObjectNode spec = p.spec().deepCopy();
            spec.remove("in");
            a.add(spec);
        }
        return a;
    }

    /**
     * The shape of one example from the data input's declared dims, the batch dimension left out: (N, D),
     * (N, T, F) for sequences, (N, C, H, W) for images; a time-major (T, N, F) input has its batch second.
     */
    private static int[] inputShape(Onnx.ValueInfoProto input, boolean timeMajor) {
        Onnx.TensorShapeProto shape = input.getType().getTensorType().getShape();
        int dims = shape.getDimCount();
        if (dims < 2 || dims > 4) {
            throw new IllegalArgumentException("input '" + input.getName() + "' has " + dims + " dimensions; (N, D), "
                    + "(N, T, F) or (N, C, H, W) is imported");
        }
        int batch = timeMajor ? 1 : 0;
        int[] s = new int[dims - 1];
        long size = 1;
        for (int k = 0; k < dims; k++) {
            if (k == batch) {
                continue;
            }
            Onnx.TensorShapeProto.Dimension d = shape.getDim(k);
            if (!d.hasDimValue() || d.getDimValue() <= 0) {
                throw new IllegalArgumentException("input '" + input.getName() + "': dimension " + k + " is not a fixed "
                        + "size, so the shapes cannot be resolved");
            }
            size *= d.getDimValue();
            if (size > (1 << 26)) {
                throw new IllegalArgumentException("input '" + input.getName() + "' declares " + size + " values per "
                        + "example, more than this importer allows (" + (1 << 26) + ")");
            }
            s[k < batch ? k : k - 1] = (int) d.getDimValue();
        }
        return s;
    }

    /** Mean and std with a scalar one broadcast to the other's length. */
    private static Normalization normalization(double[] mean, double[] std) {
        int k = Math.max(mean.length, std.length);
        return new Normalization(mean.length == k ? mean : java.util.Collections.nCopies(k, mean[0]).stream()
                .mapToDouble(Double::doubleValue).toArray(), std.length == k ? std : java.util.Collections.nCopies(k, std[0])
                .stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static double[] checkBias(double[] b, int out, String where) {
        if (b.length != out) {
            throw new IllegalArgumentException(where + ": bias of " + b.length + " values for " + out + " outputs");
        }
        return b;
    }

    private static double[][] transpose(double[][] m) {
        double[][] t = new double[m[0].length][m.length];
        for (int r = 0; r < m.length; r++) {
            for (int c = 0; c < m[0].length; c++) {
                t[c][r] = m[r][c];
            }
        }
        return t;
    }

}
