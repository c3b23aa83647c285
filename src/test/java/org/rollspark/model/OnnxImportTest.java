package org.rollspark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import onnx.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.net.Network;
import org.rollspark.region.Certification;
import org.rollspark.region.Norm;
import org.rollspark.region.RegionCertifier;
import org.rollspark.util.Host;

/**
 * ONNX models exported by PyTorch (src/test/resources/onnx/make_fixtures.py, with PyTorch's logits for a
 * few inputs beside each) import with the same logits; refused operators and bad files give errors that
 * name the node or tensor.
 */
class OnnxImportTest {
    static final Path DIR = Path.of("src/test/resources/onnx");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** The imported net's logits for the fixture's inputs, and PyTorch's. */
    static double[][][] logits(String name) throws IOException {
        Network net = OnnxImport.load(DIR.resolve(name + ".onnx")).network();
        JsonNode f = JSON.readTree(DIR.resolve(name + ".json").toFile());
        int n = f.get("inputs").size();
        List<Double> all = new java.util.ArrayList<>();
        flatten(f.get("inputs"), all);
        int d = all.size() / n;
        float[] x = new float[n * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = all.get(i).floatValue();
        }
        INDArray out = net.forward(Nd4j.create(x, new long[] {n, d}), false, null, null).logits();
        double[][][] r = new double[2][n][];
        for (int i = 0; i < n; i++) {
            r[0][i] = Host.pull(out.getRow(i));
            r[1][i] = new double[f.get("logits").get(i).size()];
            for (int k = 0; k < r[1][i].length; k++) {
                r[1][i][k] = f.get("logits").get(i).get(k).asDouble();
            }
        }
        return r;
    }

    private static void flatten(JsonNode v, List<Double> out) {
        if (v.isArray()) {
            v.forEach(c -> flatten(c, out));
        } else {
            out.add(v.asDouble());
        }
    }

    /** Conv (padding, stride), inference batch norm, average and global average pooling, LeakyRelu: a graph net. */
    @Test
    void aConvNetWithBatchNormAndPoolingHasPyTorchsLogits() throws IOException {
        Network net = OnnxImport.load(DIR.resolve("conv_bn_pool.onnx")).network();
        assertEquals("graph", net.architecture().get("type").asText());
        assertEquals("[1, 8, 8]", java.util.Arrays.toString(net.inputShape()));
        double[][][] l = logits("conv_bn_pool");
        for (int i = 0; i < l[0].length; i++) {
            assertArrayEquals(l[1][i], l[0][i], 1e-5, "example " + i);
        }
    }

    /** Residual blocks (identity and 1x1 conv + batch norm shortcuts) become residual layers. */
    @Test
    void residualBlocksHavePyTorchsLogits() throws IOException {
        Network net = OnnxImport.load(DIR.resolve("resnet_blocks.onnx")).network();
        assertTrue(net.architecture().toString().contains("\"residual\""), net.architecture().toString());
        double[][][] l = logits("resnet_blocks");
        for (int i = 0; i < l[0].length; i++) {
            assertArrayEquals(l[1][i], l[0][i], 1e-5, "example " + i);
        }
    }

    @Test
    void anMlpWithItsNormalisationHasPyTorchsLogits() throws IOException {
        OnnxImport.Imported m = OnnxImport.load(DIR.resolve("mlp_relu.onnx"));
        assertEquals("[20, 16, 12, 3]", java.util.Arrays.toString(m.network().architecture().get("sizes").traverse(JSON)
                .readValueAs(int[].class)));
        assertEquals(20, m.network().normalization().mean().length, "Sub / Div became the per-feature normalisation");
        double[][][] l = logits("mlp_relu");
        for (int i = 0; i < l[0].length; i++) {
            assertArrayEquals(l[1][i], l[0][i], 1e-5, "example " + i);
        }
    }

    /**
     * Every constant is the stored float32, widened exactly: 0.1307f is 0.13070000708103180, not 0.1307, and a
     * LeakyRelu's alpha 0.05f is 0.05000000074505806. The certified network is the one the file computes.
     */
    @Test
    void storedFloat32ConstantsAreWidenedExactly() throws IOException {
        Network mlp = OnnxImport.load(DIR.resolve("mnist_mlp.onnx")).network();
        for (double m : mlp.normalization().mean()) {
            assertEquals(0.13070000708103180, m, 0.0);
        }
        for (double s : mlp.normalization().std()) {
            assertEquals((double) 0.3081f, s, 0.0);
        }
        Network conv = OnnxImport.load(DIR.resolve("conv_bn_pool.onnx")).network();
        assertTrue(conv.architecture().toString().contains("\"alpha\":" + (double) 0.05f), conv.architecture().toString());
    }

    /** LeakyRelu 0.1 and Dropout at opset 9; the trailing Softmax is dropped: softmax of the logits is PyTorch's. */
    @Test
    void aTrailingSoftmaxIsDroppedWithANote() throws IOException {
        OnnxImport.Imported m = OnnxImport.load(DIR.resolve("mlp_leaky_softmax.onnx"));
        assertTrue(m.notes().size() == 1 && m.notes().get(0).contains("Softmax") && m.notes().get(0).contains("logits"),
                m.notes().toString());
        assertEquals(0.1, m.network().architecture().get("alpha").asDouble(), 1e-7);
        double[][][] l = logits("mlp_leaky_softmax");
        for (int i = 0; i < l[0].length; i++) {
            double[] z = l[0][i];
            double max = java.util.Arrays.stream(z).max().orElseThrow();
            double sum = java.util.Arrays.stream(z).map(v -> Math.exp(v - max)).sum();
            double[] p = java.util.Arrays.stream(z).map(v -> Math.exp(v - max) / sum).toArray();
            assertArrayEquals(l[1][i], p, 1e-5, "example " + i);
        }
    }

    /** Margins of the imported net equal those of the same net saved as a model folder and loaded back. */
    @Test
    void marginsMatchTheSameNetLoadedFromNpy() throws IOException {
        Network onnx = OnnxImport.load(DIR.resolve("mlp_relu.onnx")).network();
        ModelIO.save(onnx, tmp.resolve("m"), Map.of());
        Network npy = ModelIO.load(tmp.resolve("m"));
        INDArray x = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 16, 20);
        Certification a = new RegionCertifier(onnx).certify(x);
        Certification b = new RegionCertifier(npy).certify(x);
        for (int i = 0; i < 16; i++) {
            for (Norm p : Norm.values()) {
                assertEquals(a.margin(p, i), b.margin(p, i), 0.0);
            }
            assertEquals(a.pattern(i).hash(), b.pattern(i).hash());
        }
    }

    /**
     * ReLU RNNs exported by PyTorch (two biases per layer) have PyTorch's logits: the last state read from
     * h_n (Slice + Squeeze, opset 9) behind a per-feature normalisation broadcast over the steps, from y at
     * the last step (Squeeze, Transpose, Gather, opset 14), and from a time-major (T, N, F) model (opset 17).
     */
    @Test
    void reluRnnsFromPyTorchHaveItsLogits() throws IOException {
        for (String name : List.of("rnn_relu", "rnn_relu_last_step", "rnn_relu_time_major")) {
            OnnxImport.Imported m = OnnxImport.load(DIR.resolve(name + ".onnx"));
            assertTrue(m.network().architecture().toString().contains("\"rnn\""), m.network().architecture().toString());
            assertEquals("[4, 5]", java.util.Arrays.toString(m.network().inputShape()), name);
            assertEquals(name.endsWith("time_major"), m.notes().stream().anyMatch(s -> s.contains("time-major")),
                    m.notes().toString());
            double[][][] l = logits(name);
            for (int i = 0; i < l[0].length; i++) {
                assertArrayEquals(l[1][i], l[0][i], 1e-5, name + " example " + i);
            }
        }
        assertEquals(20, OnnxImport.load(DIR.resolve("rnn_relu.onnx")).network().normalization().mean().length,
                "the (5,) mean broadcast over 4 steps");
    }

    /** Slicing the RNN's state: a unit step to the end is the last state; any other stride is refused. */
    @Test
    void onlyAUnitStepSliceSelectsTheLastState() throws IOException {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(DIR.resolve("rnn_relu.onnx")));
        for (long step : new long[] {1, 2}) {
            Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
            int at = 0;
            while (!g.getNode(at).getOpType().equals("Slice")) {
                at++;
            }
            // the opset 10+ form: starts, ends, axes and steps as inputs
            String[] names = {"s.starts", "s.ends", "s.axes", "s.steps"};
            long[] values = {-1, Long.MAX_VALUE, 0, step};
            Onnx.NodeProto.Builder slice = g.getNode(at).toBuilder().clearAttribute();
            for (int k = 0; k < 4; k++) {
                slice.addInput(names[k]);
                g.addInitializer(Onnx.TensorProto.newBuilder().setName(names[k])
                        .setDataType(Onnx.TensorProto.DataType.INT64_VALUE).addDims(1).addInt64Data(values[k]));
            }
            g.setNode(at, slice);
            Onnx.ModelProto changed = m.toBuilder().setGraph(g)
                    .setOpsetImport(0, m.getOpsetImport(0).toBuilder().setVersion(13)).build();
            Path file = Files.write(tmp.resolve("slice" + step + ".onnx"), changed.toByteArray());
            if (step == 1) {
                assertTrue(OnnxImport.load(file).network().architecture().toString().contains("\"rnn\""));
            } else {
                assertMessage(file, "reads the RNN's output: only its last hidden state is imported");
            }
        }
    }

    @Test
    void refusedOperatorsNameTheNodeAndWhy() {
        IOException tanh = assertThrows(IOException.class, () -> OnnxImport.load(DIR.resolve("rnn_tanh.onnx")));
        assertTrue(tanh.getMessage().contains("(RNN)") && tanh.getMessage().contains("activation [Tanh] is not piecewise linear"),
                tanh.getMessage());
        IOException sig = assertThrows(IOException.class, () -> OnnxImport.load(DIR.resolve("mlp_sigmoid.onnx")));
        assertTrue(sig.getMessage().contains("(Sigmoid) is not supported") && sig.getMessage().contains("no linear regions")
                && sig.getMessage().contains("mlp_sigmoid.onnx"), sig.getMessage());
        IOException pool = assertThrows(IOException.class, () -> OnnxImport.load(DIR.resolve("conv_maxpool.onnx")));
        assertTrue(pool.getMessage().contains("(MaxPool) is not supported") && pool.getMessage().contains("use AveragePool")
                && pool.getMessage().contains("node '"), pool.getMessage());
    }

    @Test
    void badFilesAreClearErrors() throws IOException {
        byte[] good = Files.readAllBytes(DIR.resolve("mlp_relu.onnx"));
        Path cut = Files.write(tmp.resolve("cut.onnx"), java.util.Arrays.copyOf(good, good.length / 2));
        IOException c = assertThrows(IOException.class, () -> OnnxImport.load(cut));
        assertTrue(c.getMessage().startsWith(cut + ": not an ONNX model"), c.getMessage());
        Path text = Files.writeString(tmp.resolve("text.onnx"), "this is not a model\n");
        IOException t = assertThrows(IOException.class, () -> OnnxImport.load(text));
        assertTrue(t.getMessage().contains("not an ONNX model"), t.getMessage());

        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(good);
        Onnx.TensorProto w = m.getGraph().getInitializerList().stream().filter(x -> x.getDimsCount() == 2).findFirst()
                .orElseThrow();
        int at = m.getGraph().getInitializerList().indexOf(w);
        // a NaN weight
        ByteBuffer nan = ByteBuffer.wrap(w.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        nan.putFloat(0, Float.NaN);
        assertMessage(with(m, at, w.toBuilder().setRawData(org.nd4j.shade.protobuf.ByteString.copyFrom(nan.array())).build()),
                "not finite");
        // dims that disagree with the data
        assertMessage(with(m, at, w.toBuilder().setDims(0, w.getDims(0) + 1).build()), "'" + w.getName() + "' declares dims");
        // weights in an external file that is not named
        assertMessage(with(m, at, w.toBuilder().setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL).build()),
                "'" + w.getName() + "' is stored externally but names no location");
    }

    /** Gemm, then {@code op} on its output, then Gemm: every refused operator names its node and why. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
        "MaxPool|use AveragePool", "Sigmoid|no linear regions", "Tanh|no linear regions", "LSTM|not piecewise linear",
        "GRU|not piecewise linear", "Elu|not piecewise linear", "Selu|not piecewise linear", "Gelu|not piecewise linear",
        "Softplus|not piecewise linear", "Softmax|inside the graph", "LogSoftmax|inside the graph",
        "Add|neither a layer's bias nor the join", "Mul|only before the first layer", "HardSwish|not a piecewise-linear "
                + "layer this importer knows", "Gather|not a piecewise-linear layer", "Transpose|in front of an RNN"})
    void everyRefusedOperatorSaysWhy(String op, String why) throws IOException {
        Onnx.ModelProto good = Onnx.ModelProto.parseFrom(Files.readAllBytes(DIR.resolve("mlp_relu.onnx")));
        Onnx.GraphProto.Builder g = good.getGraph().toBuilder();
        int relu = 0;
        while (!g.getNode(relu).getOpType().equals("Relu")) {
            relu++;
        }
        Onnx.NodeProto r = g.getNode(relu);
        Onnx.NodeProto.Builder bad = r.toBuilder().setOpType(op).setName("the_" + op.toLowerCase());
        if (op.equals("Add") || op.equals("Mul") || op.equals("Gather")) {
            bad.addInput("two"); // x + 2, x * 2, x[2]
            g.addInitializer(Onnx.TensorProto.newBuilder().setName("two").setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE)
                    .addFloatData(2));
        }
        g.setNode(relu, bad);
        Path file = Files.write(tmp.resolve(op + ".onnx"), good.toBuilder().setGraph(g).build().toByteArray());
        IOException e = assertThrows(IOException.class, () -> OnnxImport.load(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("node 'the_" + op.toLowerCase()
                + "' (" + op + ")") && e.getMessage().contains(why), e.getMessage());
    }

    /** Opsets 9 to 19 read; older ones refused; newer ones read with a note; the fixture at opset 18 and 19. */
    @Test
    void opsetsNineToNineteenAreRead() throws IOException {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(DIR.resolve("mlp_relu.onnx")));
        for (int v : new int[] {18, 19, 21, 8}) {
            Onnx.ModelProto at = m.toBuilder().setOpsetImport(0, m.getOpsetImport(0).toBuilder().setVersion(v)).build();
            Path file = Files.write(tmp.resolve("v" + v + ".onnx"), at.toByteArray());
            if (v == 8) {
                assertMessage(file, "opset 8 is older than this importer reads (9 to 19)");
                continue;
            }
            OnnxImport.Imported i = OnnxImport.load(file);
            assertEquals(v > 19, i.notes().stream().anyMatch(s -> s.contains("newer")), i.notes().toString());
        }
    }

    /** Weights in an external-data file next to the model are read; locations that leave its folder are refused. */
    @Test
    void externalDataFilesAreReadInsideTheModelsFolder() throws Exception {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(DIR.resolve("mlp_relu.onnx")));
        Path dir = Files.createDirectories(tmp.resolve("ext"));
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        data.write(new byte[] {1, 2, 3}); // an offset other than 0
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        for (int k = 0; k < g.getInitializerCount(); k++) {
            Onnx.TensorProto t = g.getInitializer(k);
            byte[] raw = t.getRawData().toByteArray();
            g.setInitializer(k, t.toBuilder().clearRawData().setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", "weights.bin")).addExternalData(entry("offset", "" + data.size()))
                    .addExternalData(entry("length", "" + raw.length)));
            data.write(raw);
        }
        Files.write(dir.resolve("weights.bin"), data.toByteArray());
        Onnx.ModelProto ext = m.toBuilder().setGraph(g).build();
        Path file = Files.write(dir.resolve("model.onnx"), ext.toByteArray());
        Network a = OnnxImport.load(file).network();
        Network b = OnnxImport.load(DIR.resolve("mlp_relu.onnx")).network();
        assertArrayEquals(Host.pull(b.params()), Host.pull(a.params()), 0.0);
        assertArrayEquals(b.normalization().mean(), a.normalization().mean(), 0.0);

        Files.write(tmp.resolve("weights.bin"), data.toByteArray());
        for (String[] bad : new String[][] {{"../weights.bin", "leaves the model's folder"},
                {tmp.resolve("weights.bin").toString(), "leaves the model's folder"}, {"none.bin", "does not exist"}}) {
            Onnx.GraphProto.Builder h = ext.getGraph().toBuilder();
            h.setInitializer(0, h.getInitializer(0).toBuilder().setExternalData(0, entry("location", bad[0])));
            assertMessage(Files.write(dir.resolve("bad.onnx"), ext.toBuilder().setGraph(h).build().toByteArray()), bad[1]);
        }
        Onnx.GraphProto.Builder h = ext.getGraph().toBuilder();
        h.setInitializer(0, h.getInitializer(0).toBuilder().setExternalData(1, entry("offset", "" + data.size())));
        assertMessage(Files.write(dir.resolve("bad.onnx"), ext.toBuilder().setGraph(h).build().toByteArray()),
                "lies outside");
    }

    private static Onnx.StringStringEntryProto entry(String k, String v) {
        return Onnx.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    /** Input dims that cannot be resolved or would need too much memory are refused, naming the input. */
    @Test
    void unresolvableOrHugeInputsAreRefused() throws IOException {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(DIR.resolve("mlp_relu.onnx")));
        Onnx.ValueInfoProto x = m.getGraph().getInput(0);
        Onnx.TensorShapeProto.Builder shape = x.getType().getTensorType().getShape().toBuilder();
        for (Object[] c : new Object[][] {{Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("d").build(),
                "dimension 1 is not a fixed size"}, {Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(1L << 40)
                .build(), "more than this importer allows"}}) {
            shape.setDim(1, (Onnx.TensorShapeProto.Dimension) c[0]);
            Onnx.ValueInfoProto.Builder y = x.toBuilder();
            y.getTypeBuilder().getTensorTypeBuilder().setShape(shape);
            Onnx.ModelProto changed = m.toBuilder().setGraph(m.getGraph().toBuilder().setInput(0, y)).build();
            assertMessage(Files.write(tmp.resolve("dims.onnx"), changed.toByteArray()), (String) c[1]);
        }
    }

    private Path with(Onnx.ModelProto m, int at, Onnx.TensorProto t) throws IOException {
        Onnx.ModelProto changed = m.toBuilder().setGraph(m.getGraph().toBuilder().setInitializer(at, t)).build();
        return Files.write(tmp.resolve("changed-" + System.nanoTime() + ".onnx"), changed.toByteArray());
    }

    private static void assertMessage(Path file, String part) {
        IOException e = assertThrows(IOException.class, () -> OnnxImport.load(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(part), e.getMessage());
    }
}
