package org.rollspark.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
 * {@code GlobalAveragePool}, {@code Relu}, {@code LeakyRelu}, scalar-slope {@code PRelu}, and the no-ops
 * {@code Flatten}, {@code Reshape} to (N, -1), {@code Identity}, {@code Dropout} and a zero {@code Pad};
 * a trailing {@code Softmax} / {@code LogSoftmax} is dropped (margins are taken on the logits). Dense
 * layers alternating with one activation on a flat input become the dense fast path, anything else a
 * layer-list (graph) network; two branches from one fork joined by {@code Add} and an activation become a
 * residual block. Every other operator, and other forks, are refused with an error that names the node,
 * the operator and why. Weights come from initializers or Constant nodes
 * (raw_data or typed fields, float32, float64 or int64).
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
            Map.entry("LSTM", "LSTM gates are sigmoids and tanh: not piecewise linear (a ReLU RNN is; train one here)"),
            Map.entry("GRU", "GRU gates are sigmoids and tanh: not piecewise linear (a ReLU RNN is; train one here)"),
            Map.entry("Elu", "ELU is not piecewise linear"), Map.entry("Selu", "SELU is not piecewise linear"),
            Map.entry("Gelu", "GELU is not piecewise linear"), Map.entry("Softplus", "softplus is not piecewise linear"),
            Map.entry("RNN", "recurrent graphs are not imported by this build yet"),
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
            return importGraph(model.getGraph());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** One imported layer: its layer-list spec and its parameters in the layer's order (PyTorch layouts). */
    private record Part(com.fasterxml.jackson.databind.node.ObjectNode spec, List<double[]> params) {
        String type() {
            return spec.get("type").asText();
        }
    }

    private static final com.fasterxml.jackson.databind.node.JsonNodeFactory NODES =
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
        List<Onnx.ValueInfoProto> inputs = new ArrayList<>();
        for (Onnx.ValueInfoProto v : g.getInputList()) {
            if (!init.containsKey(v.getName())) {
                inputs.add(v);
            }
        }
        if (inputs.size() != 1) {
            throw new IllegalArgumentException("the graph has " + inputs.size() + " data inputs; a classifier has one");
        }
        int[] inputShape = inputShape(inputs.get(0));
        Map<String, double[]> constants = new HashMap<>();
        String current = inputs.get(0).getName();
        double[] mean = null;
        double[] scale = null;
        List<Part> parts = new ArrayList<>();
        List<String> notes = new ArrayList<>();
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
                constants.put(n.getOutput(0), values(attribute(n, "value").getT(), where));
                continue;
            }
            if (SHAPE_OPS.contains(op) && !n.getInputList().contains(current)) {
                continue; // computes a shape for a Reshape
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
                    double[] c = constant(other, init, constants, where);
                    if (op.equals("Sub")) {
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
                            || java.util.Arrays.stream(pads).anyMatch(v -> v != 0)) {
                        throw new IllegalArgumentException(where + ": only non-overlapping square pooling (stride = "
                                + "kernel, no padding) is imported");
                    }
                    parts.add(new Part(NODES.objectNode().put("type", "avgpool").put("kernel", k[0]), List.of()));
                    current = n.getOutput(0);
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
                        + "(scalar), Flatten, Reshape (N, -1), Identity, Dropout, a zero Pad, a leading Sub / Div (or Mul) by "
                        + "constants, a trailing Softmax / LogSoftmax");
            }
        }
        if (parts.stream().noneMatch(p -> p.type().equals("dense") || p.type().equals("conv2d"))) {
            throw new IllegalArgumentException("the graph has no Gemm, MatMul or Conv layer");
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
        for (int t = 0; t < tensors.size(); t++) {
            double[] v = values.get(t);
            if (v.length != tensors.get(t).size()) {
                throw new IllegalArgumentException("parameter " + tensors.get(t).name() + " has " + v.length + " values, "
                        + "the layer takes " + tensors.get(t).size() + " (shapes " + java.util.Arrays.toString(inputShape)
                        + " at the input)");
            }
            for (double x : v) {
                if (!Double.isFinite(x)) {
                    throw new IllegalArgumentException("parameter " + tensors.get(t).name() + ": a weight is not finite "
                            + "(NaN or infinity)");
                }
            }
            System.arraycopy(v, 0, flat, Math.toIntExact(tensors.get(t).offset()), v.length);
        }
        return new Imported(shape.withParams(Host.array(flat, DataType.FLOAT, flat.length)), notes);
    }

    /** Operators that only compute shapes for a Reshape. */
    private static final Set<String> SHAPE_OPS = Set.of("Shape", "Gather", "Unsqueeze", "Concat");

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

    /** The shape of one example from the data input's declared dims (the batch dimension left out). */
    private static int[] inputShape(Onnx.ValueInfoProto input) {
        Onnx.TensorShapeProto shape = input.getType().getTensorType().getShape();
        int dims = shape.getDimCount();
        if (dims != 2 && dims != 4) {
            throw new IllegalArgumentException("input '" + input.getName() + "' has " + dims + " dimensions; (N, D) or "
                    + "(N, C, H, W) is imported");
        }
        int[] s = new int[dims - 1];
        long size = 1;
        for (int k = 1; k < dims; k++) {
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
            s[k - 1] = (int) d.getDimValue();
        }
        return s;
    }

    private static long[] attrInts(Onnx.NodeProto n, String name, long[] dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
            }
        }
        return dflt;
    }

    private static String attrString(Onnx.NodeProto n, String name, String dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getS().toStringUtf8();
            }
        }
        return dflt;
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

    private static Onnx.AttributeProto attribute(Onnx.NodeProto n, String name) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("node '" + n.getName() + "' (" + n.getOpType() + ") has no attribute " + name);
    }

    private static double attrFloat(Onnx.NodeProto n, String name, double dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getF();
            }
        }
        return dflt;
    }

    private static long attrInt(Onnx.NodeProto n, String name, long dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return dflt;
    }

    /** A constant's values (an initializer or a Constant node's output); null when {@code where} is null and none. */
    private static double[] constant(String name, Map<String, Onnx.TensorProto> init, Map<String, double[]> constants,
            String where) {
        if (constants.containsKey(name)) {
            return constants.get(name);
        }
        if (init.containsKey(name)) {
            return values(init.get(name), "tensor '" + name + "'");
        }
        if (where == null) {
            return null;
        }
        throw new IllegalArgumentException(where + ": '" + name + "' is not a constant (an initializer or Constant node)");
    }

    private static double[][] matrix(String name, Map<String, Onnx.TensorProto> init, String where) {
        Onnx.TensorProto t = init.get(name);
        if (t == null || t.getDimsCount() != 2) {
            throw new IllegalArgumentException(where + ": the weight '" + name + "' must be a 2-D initializer");
        }
        double[] v = values(t, "tensor '" + name + "'");
        int rows = Math.toIntExact(t.getDims(0));
        int cols = Math.toIntExact(t.getDims(1));
        double[][] m = new double[rows][cols];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(v, r * cols, m[r], 0, cols);
        }
        return m;
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

    /** A tensor's values as doubles: float32, float64 or int64, from raw_data or the typed fields. */
    static double[] values(Onnx.TensorProto t, String what) {
        if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) {
            throw new IllegalArgumentException(what + " is stored in an external-data file; save the model with its "
                    + "weights inside (torch.onnx.export does for models under 2 GB)");
        }
        long n = 1;
        for (long d : t.getDimsList()) {
            if (d < 0) {
                throw new IllegalArgumentException(what + " has a negative dimension " + d);
            }
            n = Math.multiplyExact(n, d);
        }
        if (n > Integer.MAX_VALUE / 8) {
            throw new IllegalArgumentException(what + " declares " + n + " values, more than this importer holds");
        }
        int size = (int) n;
        double[] out = new double[size];
        int type = t.getDataType();
        ByteBuffer raw = t.getRawData().isEmpty() ? null : t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        int width = type == Onnx.TensorProto.DataType.FLOAT_VALUE ? 4 : type == Onnx.TensorProto.DataType.DOUBLE_VALUE
                || type == Onnx.TensorProto.DataType.INT64_VALUE ? 8 : -1;
        if (width < 0) {
            throw new IllegalArgumentException(what + " has ONNX data type " + type + "; float32, float64 and int64 are read");
        }
        int have = raw != null ? raw.remaining() / width : type == Onnx.TensorProto.DataType.FLOAT_VALUE ? t.getFloatDataCount()
                : type == Onnx.TensorProto.DataType.DOUBLE_VALUE ? t.getDoubleDataCount() : t.getInt64DataCount();
        if (have != size || raw != null && raw.remaining() != (long) size * width) {
            throw new IllegalArgumentException(what + " declares dims " + t.getDimsList() + " (" + size + " values) but "
                    + "holds " + have);
        }
        for (int i = 0; i < size; i++) {
            out[i] = switch (type) {
                case Onnx.TensorProto.DataType.FLOAT_VALUE -> raw != null ? raw.getFloat() : t.getFloatData(i);
                case Onnx.TensorProto.DataType.DOUBLE_VALUE -> raw != null ? raw.getDouble() : t.getDoubleData(i);
                default -> raw != null ? raw.getLong() : t.getInt64Data(i);
            };
        }
        return out;
    }
}
