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

    @Test
    void refusedOperatorsNameTheNodeAndWhy() {
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
        // weights in an external file
        assertMessage(with(m, at, w.toBuilder().setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL).build()),
                "external-data file");
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
