package org.rollspark.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
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
 * networks. This build imports feed-forward dense networks: an optional leading {@code Sub} / {@code Div}
 * (or {@code Mul}) by constants (the input normalisation, so margins come out in raw input units),
 * {@code Flatten}, {@code Reshape} to (N, -1), {@code Identity} and {@code Dropout} (no-ops at inference),
 * {@code Gemm} or {@code MatMul} + {@code Add} layers with {@code Relu}, {@code LeakyRelu} or a
 * scalar-slope {@code PRelu} between them, and a trailing {@code Softmax} / {@code LogSoftmax}, which is
 * dropped: margins are taken on the logits. Every other operator is refused with an error that names the
 * node, the operator and why. Weights come from initializers (raw_data or typed fields, float32 or float64).
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
            Map.entry("LSTM", "LSTM gates are sigmoids and tanh: not piecewise linear; use RNN with Relu"),
            Map.entry("GRU", "GRU gates are sigmoids and tanh: not piecewise linear; use RNN with Relu"),
            Map.entry("Elu", "ELU is not piecewise linear"), Map.entry("Selu", "SELU is not piecewise linear"),
            Map.entry("Gelu", "GELU is not piecewise linear"), Map.entry("Softplus", "softplus is not piecewise linear"),
            Map.entry("Conv", "convolutional graphs are not imported by this build yet (dense networks are)"),
            Map.entry("AveragePool", "pooling graphs are not imported by this build yet (dense networks are)"),
            Map.entry("GlobalAveragePool", "pooling graphs are not imported by this build yet (dense networks are)"),
            Map.entry("BatchNormalization", "batch-norm graphs are not imported by this build yet (dense networks are)"),
            Map.entry("RNN", "recurrent graphs are not imported by this build yet (dense networks are)"));

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
            return importGraph(model.getGraph(), file);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** A dense layer being assembled: weights [out, in] (PyTorch's layout) and bias. */
    private record Layer(double[][] w, double[] b) {}

    private static Imported importGraph(Onnx.GraphProto g, Path file) {
        Map<String, Onnx.TensorProto> init = new HashMap<>();
        for (Onnx.TensorProto t : g.getInitializerList()) {
            init.put(t.getName(), t);
        }
        List<String> inputs = new ArrayList<>();
        for (Onnx.ValueInfoProto v : g.getInputList()) {
            if (!init.containsKey(v.getName())) {
                inputs.add(v.getName());
            }
        }
        if (inputs.size() != 1) {
            throw new IllegalArgumentException("the graph has " + inputs.size() + " data inputs " + inputs
                    + "; a classifier has one");
        }
        // operators that no piecewise-linear import can take are named first, wherever they are
        for (int i = 0; i < g.getNodeCount(); i++) {
            Onnx.NodeProto n = g.getNode(i);
            if (NEVER.contains(n.getOpType())) {
                throw new IllegalArgumentException("node '" + (n.getName().isEmpty() ? "#" + i : n.getName()) + "' ("
                        + n.getOpType() + ") is not supported: " + WHY.get(n.getOpType()));
            }
        }
        Map<String, double[]> constants = new HashMap<>();
        Set<String> shapeInputs = new HashSet<>();
        String current = inputs.get(0);
        double[] mean = null;
        double[] scale = null;
        boolean layerSeen = false;
        List<Layer> layers = new ArrayList<>();
        Activation activation = null;
        boolean afterActivation = true; // at the input, as after an activation: a layer may come
        List<String> notes = new ArrayList<>();
        List<Onnx.NodeProto> nodes = g.getNodeList();
        for (int i = 0; i < nodes.size(); i++) {
            Onnx.NodeProto n = nodes.get(i);
            String op = n.getOpType();
            String where = "node '" + (n.getName().isEmpty() ? "#" + i : n.getName()) + "' (" + op + ")";
            if (op.equals("Constant")) {
                constants.put(n.getOutput(0), values(attribute(n, "value").getT(), where));
                continue;
            }
            // nodes that only compute a shape for a Reshape
            if (op.equals("Shape") || op.equals("Gather") || op.equals("Unsqueeze") || op.equals("Concat")) {
                if (!n.getInputList().contains(current)) {
                    n.getOutputList().forEach(shapeInputs::add);
                    continue;
                }
            }
            if (!n.getInputList().contains(current)) {
                throw new IllegalArgumentException(where + " does not read the running tensor '" + current
                        + "': only a chain of layers is imported (residual and branching graphs are not, by this build)");
            }
            switch (op) {
                case "Identity", "Dropout", "Flatten" -> current = n.getOutput(0);
                case "Reshape" -> {
                    double[] shape = constant(n.getInput(1), init, constants, null);
                    if (shape != null && !(shape.length == 2 && (shape[1] == -1 || shape[0] == -1 || shape[0] == 1))) {
                        throw new IllegalArgumentException(where + ": only a reshape to (N, -1) is imported, not "
                                + java.util.Arrays.toString(shape));
                    }
                    current = n.getOutput(0);
                }
                case "Sub", "Div", "Mul" -> {
                    if (layerSeen) {
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
                        double[] s = c.clone();
                        for (int k = 0; k < s.length; k++) {
                            s[k] = op.equals("Div") ? s[k] : 1.0 / s[k];
                            if (!(s[k] > 0) || !Double.isFinite(s[k])) {
                                throw new IllegalArgumentException(where + ": the input scale must be positive and finite");
                            }
                        }
                        if (op.equals("Div") && !n.getInput(0).equals(current)) {
                            throw new IllegalArgumentException(where + ": a constant divided by the input is not linear");
                        }
                        scale = s;
                    }
                    current = n.getOutput(0);
                }
                case "Gemm" -> {
                    if (!afterActivation) {
                        throw new IllegalArgumentException(where + ": two linear layers with no activation between them");
                    }
                    double a = attrFloat(n, "alpha", 1);
                    double b = attrFloat(n, "beta", 1);
                    if (attrInt(n, "transA", 0) != 0 || a != 1 || b != 1) {
                        throw new IllegalArgumentException(where + ": only Gemm with transA 0, alpha 1 and beta 1 is imported");
                    }
                    double[][] w = matrix(n.getInput(1), init, where);
                    if (attrInt(n, "transB", 0) == 0) {
                        w = transpose(w);
                    }
                    double[] bias = n.getInputCount() > 2 && !n.getInput(2).isEmpty()
                            ? constant(n.getInput(2), init, constants, where) : new double[w.length];
                    layers.add(new Layer(w, checkBias(bias, w.length, where)));
                    layerSeen = true;
                    afterActivation = false;
                    current = n.getOutput(0);
                }
                case "MatMul" -> {
                    if (!afterActivation || !n.getInput(0).equals(current)) {
                        throw new IllegalArgumentException(where + ": only x @ W right after the input or an activation is "
                                + "imported");
                    }
                    double[][] w = transpose(matrix(n.getInput(1), init, where)); // ONNX [in, out] -> [out, in]
                    double[] bias = new double[w.length];
                    String out = n.getOutput(0);
                    if (i + 1 < nodes.size() && nodes.get(i + 1).getOpType().equals("Add")
                            && nodes.get(i + 1).getInputList().contains(out)) {
                        Onnx.NodeProto add = nodes.get(++i);
                        String other = add.getInput(0).equals(out) ? add.getInput(1) : add.getInput(0);
                        bias = checkBias(constant(other, init, constants, "node '" + add.getName() + "' (Add)"), w.length,
                                "node '" + add.getName() + "' (Add)");
                        out = add.getOutput(0);
                    }
                    layers.add(new Layer(w, bias));
                    layerSeen = true;
                    afterActivation = false;
                    current = out;
                }
                case "Relu", "LeakyRelu", "PRelu" -> {
                    if (afterActivation) {
                        throw new IllegalArgumentException(where + ": an activation that does not follow a layer");
                    }
                    double slope = switch (op) {
                        case "Relu" -> 0;
                        case "LeakyRelu" -> attrFloat(n, "alpha", 0.01);
                        default -> {
                            double[] s = constant(n.getInput(1), init, constants, where);
                            for (double v : s) {
                                if (v != s[0]) {
                                    throw new IllegalArgumentException(where + ": only a scalar PRelu slope is imported, "
                                            + "this one has " + s.length + " different values");
                                }
                            }
                            yield s[0];
                        }
                    };
                    Activation act = slope == 0 ? Activation.relu() : Activation.leakyRelu(slope);
                    if (activation != null && !activation.equals(act)) {
                        throw new IllegalArgumentException(where + ": every hidden layer must have the same activation "
                                + "(a dense net has one); this one differs from the first");
                    }
                    activation = act;
                    afterActivation = true;
                    current = n.getOutput(0);
                }
                case "Softmax", "LogSoftmax" -> {
                    if (i != nodes.size() - 1 || !afterActivation && layers.isEmpty()) {
                        throw new IllegalArgumentException(where + ": " + WHY.get(op));
                    }
                    notes.add(where + " dropped: margins and certificates are taken on the logits");
                }
                default -> throw new IllegalArgumentException(where + " is not supported: "
                        + WHY.getOrDefault(op, "not a piecewise-linear layer this importer knows") + ". Supported: Gemm, "
                        + "MatMul + Add, Relu, LeakyRelu, PRelu (scalar), Flatten, Reshape (N, -1), Identity, Dropout, "
                        + "a leading Sub / Div (or Mul) by constants, a trailing Softmax / LogSoftmax");
            }
        }
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("the graph has no Gemm or MatMul layer");
        }
        if (afterActivation) {
            throw new IllegalArgumentException("the graph ends with an activation; the logits must be a layer's output");
        }
        int[] sizes = new int[layers.size() + 1];
        sizes[0] = layers.get(0).w()[0].length;
        for (int l = 0; l < layers.size(); l++) {
            Layer ly = layers.get(l);
            if (ly.w()[0].length != sizes[l]) {
                throw new IllegalArgumentException("layer " + l + " takes " + ly.w()[0].length + " inputs, the layer "
                        + "before gives " + sizes[l]);
            }
            sizes[l + 1] = ly.w().length;
        }
        Normalization norm = normalization(mean == null ? new double[] {0} : mean, scale == null ? new double[] {1} : scale);
        Network shape = Architectures.shape(Architectures.dense(sizes, activation == null ? Activation.relu() : activation),
                norm);
        double[] flat = new double[Math.toIntExact(shape.params().length())];
        List<Network.Tensor> tensors = shape.tensors();
        for (int l = 0; l < layers.size(); l++) {
            Network.Tensor w = tensors.get(2 * l);
            Network.Tensor b = tensors.get(2 * l + 1);
            int at = Math.toIntExact(w.offset());
            for (double[] row : layers.get(l).w()) {
                System.arraycopy(row, 0, flat, at, row.length);
                at += row.length;
            }
            System.arraycopy(layers.get(l).b(), 0, flat, Math.toIntExact(b.offset()), layers.get(l).b().length);
        }
        for (double v : flat) {
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("a weight is not finite (NaN or infinity)");
            }
        }
        return new Imported(shape.withParams(Host.array(flat, DataType.FLOAT, flat.length)), notes);
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
