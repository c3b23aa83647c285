package org.rollspark.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import onnx.Onnx;
import org.nd4j.shade.protobuf.ByteString;
import org.rollspark.Provenance;
import org.rollspark.net.Network;
import org.rollspark.util.Host;

/**
 * Writes a trained network as an ONNX model that any runtime serves: the input normalisation as leading
 * {@code Sub} / {@code Div} nodes (the model takes raw inputs, as the certificates do), each dense layer
 * as a {@code Gemm} with PyTorch's weight layout ({@code transB = 1}), the hidden activation as
 * {@code Relu} or {@code LeakyRelu}, convolutions, batch norm and pooling as {@code Conv},
 * {@code BatchNormalization}, {@code AveragePool} and {@code GlobalAveragePool}, the logits as the output.
 * residual blocks as their branches joined by {@code Add} and the block's activation, a recurrent layer as
 * {@code Transpose} to (T, N, F), {@code RNN} (Relu or LeakyRelu) and its last state {@code Y_h} squeezed to
 * (N, H). Opset 17, float32, a dynamic batch dimension. Every constant is stored as the network holds it: the
 * parameters and slopes are float32 values (an export of a float64 network that float32 cannot hold is refused), a
 * normalisation that float32 cannot hold is written in float64 between {@code Cast}s; so the file computes the
 * network that was certified, and {@link OnnxImport} reads it back bit for bit. A recurrent network trained on padded sequences is
 * written with a second input, {@code lengths} (int32, one per example), the RNN's {@code sequence_lens}: the
 * state then stops at each sequence's end, as it does here.
 */
public final class OnnxExport {
    private OnnxExport() {}

    /** The opset written. */
    public static final int OPSET = 17;

    /** The name of the sequence-lengths input of recurrent networks exported with lengths. */
    public static final String LENGTHS = "lengths";

    /** Writes {@code net} to {@code file} (whole or not at all), with a {@link #LENGTHS} input or without. */
    public static void write(Network net, Path file, boolean lengths) throws IOException {
        byte[] bytes = model(net, lengths).toByteArray();
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            Files.write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The ONNX model of a network: dense, or a layer list of conv / batch norm / pooling / dense layers. */
    static Onnx.ModelProto model(Network net, boolean lengths) {
        String type = net.architecture().path("type").asText();
        double[] params = Host.pull(net.params());
        List<Network.Tensor> tensors = net.tensors();
        int[] shape = net.inputShape();
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("roll-spark " + net.describe());
        long[] normDims = net.normalization().isScalar() ? new long[] {1}
                : java.util.Arrays.stream(shape).asLongStream().toArray();
        for (int i = 0; i < params.length; i++) {
            if ((float) params[i] != params[i]) {
                throw new IllegalArgumentException("ONNX export: parameter " + tensorOf(tensors, i) + " holds " + params[i]
                        + ", which float32 cannot hold exactly (a net.dtype = float64 network): a float32 ONNX model "
                        + "would be another function than the one certified here");
            }
        }
        if (net.normalization().isFloat32()) {
            g.addInitializer(tensor("input.mean", net.normalization().mean(), normDims, false));
            g.addInitializer(tensor("input.std", net.normalization().std(), normDims, false));
            g.addNode(node("Sub", "normalize.sub", List.of("x", "input.mean"), "x.centred"));
            g.addNode(node("Div", "normalize.div", List.of("x.centred", "input.std"), "x.normalized"));
        } else {
            // constants float32 cannot hold (a model folder from before they were float32, an imported Mul): the
            // normalisation in float64 between Casts, so the file computes what is certified
            g.addInitializer(tensor("input.mean", net.normalization().mean(), normDims, true));
            g.addInitializer(tensor("input.std", net.normalization().std(), normDims, true));
            g.addNode(cast("normalize.widen", "x", "x.float64", Onnx.TensorProto.DataType.DOUBLE_VALUE));
            g.addNode(node("Sub", "normalize.sub", List.of("x.float64", "input.mean"), "x.centred"));
            g.addNode(node("Div", "normalize.div", List.of("x.centred", "input.std"), "x.normalized64"));
            g.addNode(cast("normalize.narrow", "x.normalized64", "x.normalized", Onnx.TensorProto.DataType.FLOAT_VALUE));
        }
        Chain c = new Chain(g, params, tensors);
        c.current = "x.normalized";
        if (lengths) {
            c.lengths = LENGTHS;
        }
        if (type.equals("dense")) {
            double alpha = net.architecture().path("alpha").asDouble(0);
            int layers = tensors.size() / 2;
            for (int l = 0; l < layers; l++) {
                c.gemm("layer" + l, true, false);
                if (l < layers - 1) {
                    c.activation("layer" + l + ".act", alpha);
                }
            }
        } else {
            if (!(net instanceof org.rollspark.graph.GraphNet graph)) {
                throw new IllegalArgumentException("ONNX export: a " + type + " network is not exported by this build");
            }
            emit(c, graph.builtLayers(), "layer", new boolean[] {shape.length == 3});
        }
        if (lengths && !c.recurrent) { // known once the layers are written, whichever name their specs use
            throw new IllegalArgumentException("ONNX export: sequence lengths are an input of recurrent networks only; "
                    + "this one has no rnn layer");
        }
        if (c.next != tensors.size()) {
            throw new IllegalArgumentException("ONNX export: " + (tensors.size() - c.next) + " parameter tensors left over");
        }
        g.addNode(node("Identity", "logits", List.of(c.current), "logits"));
        g.addInput(value("x", shape));
        if (lengths) {
            g.addInput(value(LENGTHS, new int[0], Onnx.TensorProto.DataType.INT32_VALUE));
        }
        g.addOutput(value("logits", new int[] {net.outputSize()}));
        return Onnx.ModelProto.newBuilder().setIrVersion(8).setProducerName("roll-spark")
                .setProducerVersion(Provenance.VERSION)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET)).setGraph(g).build();
    }

    /** Writes a layer list; {@code image[0]}: whether the running tensor is still (C, H, W). */
    private static void emit(Chain c, com.fasterxml.jackson.databind.JsonNode layers, String prefix, boolean[] image) {
        for (int l = 0; l < layers.size(); l++) {
            com.fasterxml.jackson.databind.JsonNode spec = layers.get(l);
            String name = prefix + l;
            switch (spec.get("type").asText()) { // the layer's canonical spec: one name per kind, every option set
                case "dense" -> {
                    c.gemm(name, spec.get("bias").asBoolean(), image[0]);
                    image[0] = false;
                }
                case "conv2d" -> c.conv(name, spec.get("kernel").asInt(), spec.get("stride").asInt(),
                        spec.get("padding").asInt(), spec.get("bias").asBoolean());
                case "batchnorm" -> c.batchNorm(name, spec.get("eps").asDouble());
                case "avgpool" -> c.pool(name, spec.get("kernel").asInt());
                case "global_avgpool" -> c.op("GlobalAveragePool", name);
                case "act" -> c.activation(name, org.rollspark.net.Activation.parse(spec.get("activation").asText()).alpha());
                case "rnn" -> c.rnn(name, spec.get("hidden").asInt(),
                        org.rollspark.net.Activation.parse(spec.get("activation").asText()).alpha());
                case "residual" -> {
                    String in = c.current;
                    emit(c, spec.get("main"), name + ".main.", image);
                    String main = c.current;
                    c.current = in;
                    emit(c, spec.get("shortcut"), name + ".shortcut.", image);
                    c.g.addNode(c.add("Add", name + ".join", List.of(main, c.current)));
                    c.activation(name + ".act",
                            org.rollspark.net.Activation.parse(spec.get("activation").asText()).alpha());
                }
                default -> throw new IllegalArgumentException("ONNX export: layer " + name + " (" + spec.path("type").asText()
                        + ") is not exported by this build");
            }
        }
    }

    /** The graph being written: the running tensor and the next parameter tensor (the layers' order). */
    private static final class Chain {
        final Onnx.GraphProto.Builder g;
        final double[] params;
        final List<Network.Tensor> tensors;
        String current;
        int next;
        /** The sequence-lengths input the RNN reads, or null (every sequence full length). */
        String lengths;
        /** Whether a recurrent layer was written. */
        boolean recurrent;

        Chain(Onnx.GraphProto.Builder g, double[] params, List<Network.Tensor> tensors) {
            this.g = g;
            this.params = params;
            this.tensors = tensors;
        }

        /** Adds the next parameter tensor as an initializer; its name. */
        String param() {
            return param(tensors.get(next).shape());
        }

        /** Adds the next parameter tensor as an initializer of the given dims (same values); its name. */
        String param(long[] dims) {
            Network.Tensor t = tensors.get(next++);
            g.addInitializer(tensor(t.name(), slice(params, t), dims, false));
            return t.name();
        }

        /**
         * A recurrent layer reading (N, T, F): to time-major, ONNX's RNN with W (1, H, F), R (1, H, H) and
         * B (1, 2H) = [b, 0], then Y_h (1, N, H) squeezed to (N, H).
         */
        void rnn(String name, int hidden, double alpha) {
            recurrent = true;
            g.addNode(add("Transpose", name + ".time_major", List.of(current)).addAttribute(ints("perm", 1, 0, 2)));
            String w = param(new long[] {1, hidden, tensors.get(next).shape()[1]});
            String r = param(new long[] {1, hidden, hidden});
            Network.Tensor bt = tensors.get(next++);
            double[] b = java.util.Arrays.copyOf(slice(params, bt), 2 * hidden);
            g.addInitializer(tensor(bt.name(), b, new long[] {1, 2L * hidden}, false));
            Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType("RNN").setName(name)
                    .addAllInput(List.of(current, w, r, bt.name(), lengths == null ? "" : lengths))
                    .addOutput("").addOutput(name + ".state")
                    .addAttribute(ints("hidden_size", hidden))
                    .addAttribute(Onnx.AttributeProto.newBuilder().setName("activations")
                            .addStrings(ByteString.copyFromUtf8(alpha == 0 ? "Relu" : "LeakyRelu"))
                            .setType(Onnx.AttributeProto.AttributeType.STRINGS));
            if (alpha != 0) {
                n.addAttribute(Onnx.AttributeProto.newBuilder().setName("activation_alpha").addFloats((float) alpha)
                        .setType(Onnx.AttributeProto.AttributeType.FLOATS));
            }
            g.addNode(n);
            g.addInitializer(Onnx.TensorProto.newBuilder().setName(name + ".axes")
                    .setDataType(Onnx.TensorProto.DataType.INT64_VALUE).addDims(1).addInt64Data(0));
            current = name + ".state";
            g.addNode(add("Squeeze", name + ".last", List.of(current, name + ".axes")));
        }

        Onnx.NodeProto.Builder add(String op, String name, List<String> inputs) {
            Onnx.NodeProto.Builder n = node(op, name, inputs, name + ".out").toBuilder();
            current = name + ".out";
            return n;
        }

        void op(String op, String name) {
            g.addNode(add(op, name, List.of(current)));
        }

        void gemm(String name, boolean bias, boolean flatten) {
            if (flatten) {
                op("Flatten", name + ".flatten");
            }
            List<String> in = new java.util.ArrayList<>(List.of(current, param()));
            if (bias) {
                in.add(param());
            }
            g.addNode(add("Gemm", name, in).addAttribute(ints("transB", 1)));
        }

        void conv(String name, int kernel, int stride, int padding, boolean bias) {
            List<String> in = new java.util.ArrayList<>(List.of(current, param()));
            if (bias) {
                in.add(param());
            }
            g.addNode(add("Conv", name, in).addAttribute(ints("kernel_shape", kernel, kernel))
                    .addAttribute(ints("strides", stride, stride)).addAttribute(ints("pads", padding, padding, padding, padding)));
        }

        void batchNorm(String name, double eps) {
            List<String> in = new java.util.ArrayList<>(List.of(current));
            for (int k = 0; k < 4; k++) {
                in.add(param()); // gamma, beta, running mean, running var: ONNX's scale, B, mean, var
            }
            g.addNode(add("BatchNormalization", name, in).addAttribute(Onnx.AttributeProto.newBuilder().setName("epsilon")
                    .setF((float) eps).setType(Onnx.AttributeProto.AttributeType.FLOAT)));
        }

        void pool(String name, int kernel) {
            g.addNode(add("AveragePool", name, List.of(current)).addAttribute(ints("kernel_shape", kernel, kernel))
                    .addAttribute(ints("strides", kernel, kernel)));
        }

        void activation(String name, double alpha) {
            Onnx.NodeProto.Builder n = add(alpha == 0 ? "Relu" : "LeakyRelu", name, List.of(current));
            if (alpha != 0) {
                n.addAttribute(Onnx.AttributeProto.newBuilder().setName("alpha").setF((float) alpha)
                        .setType(Onnx.AttributeProto.AttributeType.FLOAT));
            }
            g.addNode(n);
        }
    }

    private static Onnx.AttributeProto ints(String name, long... v) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name);
        if (v.length == 1) {
            return a.setI(v[0]).setType(Onnx.AttributeProto.AttributeType.INT).build();
        }
        for (long x : v) {
            a.addInts(x);
        }
        return a.setType(Onnx.AttributeProto.AttributeType.INTS).build();
    }

    private static double[] slice(double[] params, Network.Tensor t) {
        return java.util.Arrays.copyOfRange(params, Math.toIntExact(t.offset()), Math.toIntExact(t.offset() + t.size()));
    }

    private static Onnx.NodeProto node(String op, String name, List<String> inputs, String output) {
        return Onnx.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(output).build();
    }

    private static Onnx.NodeProto cast(String name, String input, String output, int to) {
        return node("Cast", name, List.of(input), output).toBuilder().addAttribute(Onnx.AttributeProto.newBuilder()
                .setName("to").setI(to).setType(Onnx.AttributeProto.AttributeType.INT)).build();
    }

    /** The name of the parameter tensor that holds flat index {@code i}. */
    private static String tensorOf(List<Network.Tensor> tensors, int i) {
        return tensors.stream().filter(t -> i >= t.offset() && i < t.offset() + t.size()).map(Network.Tensor::name)
                .findFirst().orElse("#" + i);
    }

    /** A float32 or float64 initializer (raw_data, little endian). */
    private static Onnx.TensorProto tensor(String name, double[] v, long[] dims, boolean float64) {
        ByteBuffer b = ByteBuffer.allocate((float64 ? 8 : 4) * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) {
            if (float64) {
                b.putDouble(x);
            } else {
                b.putFloat((float) x);
            }
        }
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name)
                .setDataType(float64 ? Onnx.TensorProto.DataType.DOUBLE_VALUE : Onnx.TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(b.array()));
        for (long dim : dims) {
            t.addDims(dim);
        }
        return t.build();
    }

    /** A float32 (n, shape...) tensor value with a symbolic batch dimension. */
    private static Onnx.ValueInfoProto value(String name, int[] shape) {
        return value(name, shape, Onnx.TensorProto.DataType.FLOAT_VALUE);
    }

    /** A (n, shape...) tensor value of the given element type with a symbolic batch dimension. */
    private static Onnx.ValueInfoProto value(String name, int[] shape, int elemType) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder()
                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("n"));
        for (int d : shape) {
            s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                Onnx.TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(s)))
                .build();
    }
}
