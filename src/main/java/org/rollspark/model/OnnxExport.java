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
 * {@code Relu} or {@code LeakyRelu}, the logits as the output. Opset 17, float32, a dynamic batch
 * dimension. This build exports dense networks; graph networks are refused with a clear error.
 */
public final class OnnxExport {
    private OnnxExport() {}

    /** The opset written. */
    public static final int OPSET = 17;

    /** Writes {@code net} to {@code file} (whole or not at all). */
    public static void write(Network net, Path file) throws IOException {
        byte[] bytes = model(net).toByteArray();
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

    /** The ONNX model of a dense network. */
    static Onnx.ModelProto model(Network net) {
        if (!"dense".equals(net.architecture().path("type").asText())) {
            throw new IllegalArgumentException("ONNX export takes dense networks in this build; this one is a "
                    + net.architecture().path("type").asText() + " network (" + net.describe() + ")");
        }
        double alpha = net.architecture().path("alpha").asDouble(0);
        String activation = net.architecture().path("activation").asText("relu");
        double[] params = Host.pull(net.params());
        List<Network.Tensor> tensors = net.tensors();
        int d = net.inputSize();
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("roll-spark " + net.describe());
        g.addInitializer(tensor("input.mean", net.normalization().mean(), new long[] {net.normalization().mean().length}));
        g.addInitializer(tensor("input.std", net.normalization().std(), new long[] {net.normalization().std().length}));
        g.addNode(node("Sub", "normalize.sub", List.of("x", "input.mean"), "x.centred"));
        g.addNode(node("Div", "normalize.div", List.of("x.centred", "input.std"), "x.normalized"));
        String current = "x.normalized";
        int layers = tensors.size() / 2;
        long classes = 0;
        for (int l = 0; l < layers; l++) {
            Network.Tensor w = tensors.get(2 * l);
            Network.Tensor b = tensors.get(2 * l + 1);
            g.addInitializer(tensor(w.name(), slice(params, w), w.shape()));
            g.addInitializer(tensor(b.name(), slice(params, b), b.shape()));
            String out = l == layers - 1 ? "logits" : "layer" + l + ".z";
            g.addNode(node("Gemm", "layer" + l, List.of(current, w.name(), b.name()), out).toBuilder()
                    .addAttribute(Onnx.AttributeProto.newBuilder().setName("transB").setI(1)
                            .setType(Onnx.AttributeProto.AttributeType.INT)).build());
            current = out;
            classes = w.shape()[0];
            if (l < layers - 1) {
                Onnx.NodeProto act = alpha == 0 && activation.equals("relu")
                        ? node("Relu", "layer" + l + ".act", List.of(current), "layer" + l + ".a")
                        : node("LeakyRelu", "layer" + l + ".act", List.of(current), "layer" + l + ".a").toBuilder()
                                .addAttribute(Onnx.AttributeProto.newBuilder().setName("alpha").setF((float) alpha)
                                        .setType(Onnx.AttributeProto.AttributeType.FLOAT)).build();
                g.addNode(act);
                current = "layer" + l + ".a";
            }
        }
        g.addInput(value("x", d));
        g.addOutput(value("logits", classes));
        return Onnx.ModelProto.newBuilder().setIrVersion(8).setProducerName("roll-spark")
                .setProducerVersion(Provenance.VERSION)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET)).setGraph(g).build();
    }

    private static double[] slice(double[] params, Network.Tensor t) {
        return java.util.Arrays.copyOfRange(params, Math.toIntExact(t.offset()), Math.toIntExact(t.offset() + t.size()));
    }

    private static Onnx.NodeProto node(String op, String name, List<String> inputs, String output) {
        return Onnx.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(output).build();
    }

    /** A float32 initializer (raw_data, little endian). */
    private static Onnx.TensorProto tensor(String name, double[] v, long[] dims) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) {
            b.putFloat((float) x);
        }
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name)
                .setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(b.array()));
        for (long dim : dims) {
            t.addDims(dim);
        }
        return t.build();
    }

    /** A float32 (n, size) tensor value with a symbolic batch dimension. */
    private static Onnx.ValueInfoProto value(String name, long size) {
        Onnx.TensorShapeProto shape = Onnx.TensorShapeProto.newBuilder()
                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("n"))
                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(size)).build();
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                Onnx.TypeProto.Tensor.newBuilder().setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE).setShape(shape)))
                .build();
    }
}
