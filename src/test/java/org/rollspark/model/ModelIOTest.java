package org.rollspark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.Provenance;
import org.rollspark.dense.DenseNet;
import org.rollspark.net.Activation;
import org.rollspark.net.Init;
import org.rollspark.net.Network;
import org.rollspark.net.Normalization;
import org.rollspark.TestNets;
import org.rollspark.util.Host;

class ModelIOTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripGivesIdenticalLogits() throws IOException {
        for (DataType dt : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            DenseNet net = DenseNet.init(new int[] {12, 9, 7, 4}, Activation.leakyRelu(0.05),
                    Normalization.scalar(0.13, 0.31), Init.UNIFORM_FAN_IN, 5, dt);
            Path dir = tmp.resolve("m-" + dt);
            Map<String, Object> prov = Provenance.record(Map.of("lr", 0.01, "epochs", 3), 5, "sha256:abc");
            ModelIO.save(net, dir, prov);
            com.fasterxml.jackson.databind.JsonNode meta = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(dir.resolve("model.json").toFile());
            assertEquals(ModelIO.FORMAT_VERSION, meta.path("formatVersion").asInt());
            assertEquals("layer1.bias", meta.path("tensors").get(3).path("name").asText());
            DenseNet back = (DenseNet) ModelIO.load(dir);
            assertEquals(dt, back.dataType());
            assertArrayEquals(net.sizes(), back.sizes());
            assertEquals(net.activation(), back.activation());
            assertEquals(net.normalization(), back.normalization());
            INDArray x = TestNets.uniform(3, 10, 12, 0, 1, DataType.FLOAT);
            assertArrayEquals(Host.pull(net.logits(x)), Host.pull(back.logits(x)), 0.0);
            assertEquals(Provenance.configHash(Map.of("epochs", 3, "lr", 0.01)),
                    ModelIO.provenance(dir).path("configHash").asText());
            assertEquals("sha256:abc", ModelIO.provenance(dir).path("dataFingerprint").asText());
            // saving again replaces the folder and leaves no temporary siblings
            ModelIO.save(net, dir, prov);
            try (var s = Files.list(tmp)) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".")));
            }
        }
    }

    /**
     * A model folder written without this project's save code, as an exporter from another framework
     * would: hand-built big-endian and Fortran-order .npy files and a JSON file written as text. The
     * loaded network must compute the logits of a plain Java reference forward pass.
     */
    @Test
    void loadsAFolderWrittenByAnotherTool() throws IOException {
        int[] sizes = {3, 4, 2};
        double[][] w0 = {{0.5, -1, 0.25}, {1, 1, 1}, {-0.5, 0.2, 0.1}, {0.3, -0.3, 2}};
        double[] b0 = {0.1, -0.2, 0.3, 0};
        double[][] w1 = {{1, -1, 0.5, 2}, {-2, 0.5, 1, 0}};
        double[] b1 = {0.05, -0.05};
        Path dir = tmp.resolve("external");
        Files.createDirectories(dir);
        writeNpy(dir.resolve("layer0.weight.npy"), w0, true, true); // big-endian, Fortran order
        writeNpy(dir.resolve("layer0.bias.npy"), new double[][] {b0}, false, false);
        writeNpy(dir.resolve("layer1.weight.npy"), w1, false, false);
        writeNpy(dir.resolve("layer1.bias.npy"), new double[][] {b1}, false, false);
        Files.writeString(dir.resolve("model.json"), """
                {"format": "roll-spark-model", "formatVersion": 1,
                 "architecture": {"type": "dense", "sizes": [3, 4, 2], "activation": "leaky_relu", "alpha": 0.1},
                 "normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.5, 1.0]},
                 "dtype": "float64",
                 "layers": [{"weight": "layer0.weight.npy", "bias": "layer0.bias.npy"},
                            {"weight": "layer1.weight.npy", "bias": "layer1.bias.npy"}]}
                """);
        DenseNet net = (DenseNet) ModelIO.load(dir);
        double[] x = {0.9, 0.1, 0.4};
        double[] std = {0.25, 0.5, 1.0};
        double[] h = new double[4];
        for (int o = 0; o < 4; o++) {
            double z = b0[o];
            for (int k = 0; k < 3; k++) {
                z += w0[o][k] * (x[k] - 0.5) / std[k];
            }
            h[o] = z > 0 ? z : (double) 0.1f * z; // a slope is a float32 (Activation)
        }
        double[] f = new double[2];
        for (int o = 0; o < 2; o++) {
            f[o] = b1[o];
            for (int k = 0; k < 4; k++) {
                f[o] += w1[o][k] * h[k];
            }
        }
        assertArrayEquals(f, Host.pull(net.logits(Host.array(x, DataType.DOUBLE, 1, 3))), 1e-12);
        assertArrayEquals(sizes, net.sizes());
        // and it certifies: one hidden layer, so the l2 margin is min_j |z_j| / ||w0_j / std||_2 by hand
        double expected = Double.POSITIVE_INFINITY;
        for (int o = 0; o < 4; o++) {
            double z = b0[o];
            double g2 = 0;
            for (int k = 0; k < 3; k++) {
                z += w0[o][k] * (x[k] - 0.5) / std[k];
                g2 += (w0[o][k] / std[k]) * (w0[o][k] / std[k]);
            }
            expected = Math.min(expected, Math.abs(z) / Math.sqrt(g2));
        }
        org.rollspark.region.Certification c = new org.rollspark.region.RegionCertifier(net)
                .certify(Host.array(x, DataType.DOUBLE, 1, 3));
        assertEquals(expected, c.margin(org.rollspark.region.Norm.L2, 0), 1e-12);
    }

    @Test
    void badFoldersGiveErrorsNamingTheFile() throws IOException {
        DenseNet net = DenseNet.init(new int[] {4, 3, 2}, Activation.relu(), Normalization.identity(),
                Init.UNIFORM_FAN_IN, 1, DataType.FLOAT);
        Path dir = tmp.resolve("bad");
        ModelIO.save(net, dir, Map.of());
        // wrong shape
        writeNpy(dir.resolve("layer1.weight.npy"), new double[][] {{1, 2}, {3, 4}, {5, 6}}, false, false);
        IOException e = assertThrows(IOException.class, () -> ModelIO.load(dir));
        assertTrue(e.getMessage().contains("layer1.weight.npy") && e.getMessage().contains("expected [2, 3]"), e.getMessage());
        // truncated
        writeNpy(dir.resolve("layer1.weight.npy"), new double[][] {{1, 2, 3}, {4, 5, 6}}, false, false);
        byte[] full = Files.readAllBytes(dir.resolve("layer1.weight.npy"));
        Files.write(dir.resolve("layer1.weight.npy"), java.util.Arrays.copyOf(full, full.length - 3));
        e = assertThrows(IOException.class, () -> ModelIO.load(dir));
        assertTrue(e.getMessage().contains("layer1.weight.npy") && e.getMessage().contains("data bytes"), e.getMessage());
        // bad magic
        Files.writeString(dir.resolve("layer1.weight.npy"), "not numpy at all");
        e = assertThrows(IOException.class, () -> ModelIO.load(dir));
        assertTrue(e.getMessage().contains("bad magic"), e.getMessage());
        // missing file
        Files.delete(dir.resolve("layer1.weight.npy"));
        e = assertThrows(IOException.class, () -> ModelIO.load(dir));
        assertTrue(e.getMessage().contains("layer1.weight.npy"), e.getMessage());
        // non-finite weight
        writeNpy(dir.resolve("layer1.weight.npy"), new double[][] {{1, 2, Double.NaN}, {4, 5, 6}}, false, false);
        e = assertThrows(IOException.class, () -> ModelIO.load(dir));
        assertTrue(e.getMessage().contains("not finite") && e.getMessage().contains("index 2"), e.getMessage());
        // not piecewise linear
        Files.writeString(dir.resolve("model.json"), Files.readString(dir.resolve("model.json")).replace("\"relu\"", "\"tanh\""));
        e = assertThrows(IOException.class, () -> ModelIO.load(dir));
        assertTrue(e.getMessage().contains("model.json") && e.getMessage().contains("not piecewise linear"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("nothing")));
        assertThrows(IOException.class, () -> ModelIO.load(tmp.resolve("nothing")));
    }

    /** An independent .npy writer: float64, either byte order, C or Fortran order; 1-row input as 1-D. */
    static void writeNpy(Path file, double[][] m, boolean bigEndian, boolean fortran) throws IOException {
        int rows = m.length;
        int cols = m[0].length;
        String shape = rows == 1 ? "(" + cols + ",)" : "(" + rows + ", " + cols + ")";
        String dict = "{'descr': '" + (bigEndian ? ">f8" : "<f8") + "', 'fortran_order': " + (fortran ? "True" : "False")
                + ", 'shape': " + shape + ", }";
        StringBuilder header = new StringBuilder(dict);
        while ((10 + header.length() + 1) % 16 != 0) {
            header.append(' ');
        }
        header.append('\n');
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + rows * cols * 8);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        b.order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length());
        b.put(header.toString().getBytes(StandardCharsets.US_ASCII));
        b.order(bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        if (fortran) {
            for (int c = 0; c < cols; c++) {
                for (double[] row : m) {
                    b.putDouble(row[c]);
                }
            }
        } else {
            for (double[] row : m) {
                for (double v : row) {
                    b.putDouble(v);
                }
            }
        }
        Files.write(file, b.array());
    }

    /** Graph nets (conv, batch norm, residual; recurrent) round-trip through the folder format with identical logits. */
    @org.junit.jupiter.api.Test
    void graphNetsRoundTrip(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        Object[][] cases = {{org.rollspark.TestNets.RESNET, new int[] {1, 6, 6}}, {org.rollspark.TestNets.RNN, new int[] {5, 3}}};
        for (Object[] c : cases) {
            int[] shape = (int[]) c[1];
            org.rollspark.graph.GraphNet net = org.rollspark.TestNets.graph(4, (String) c[0], shape,
                    org.nd4j.linalg.api.buffer.DataType.FLOAT);
            int d = 1;
            for (int v : shape) {
                d *= v;
            }
            org.nd4j.linalg.api.ndarray.INDArray x = org.rollspark.TestNets.uniform(3, 4, d, 0, 1,
                    org.nd4j.linalg.api.buffer.DataType.FLOAT);
            net.forward(x, true, null, null); // running statistics away from their initial values
            java.nio.file.Path m = dir.resolve("m" + shape.length);
            ModelIO.save(net, m, java.util.Map.of("seed", 4));
            Network back = ModelIO.loadNetwork(m, null);
            org.junit.jupiter.api.Assertions.assertEquals(net.architecture(), back.architecture());
            org.junit.jupiter.api.Assertions.assertArrayEquals(org.rollspark.util.Host.pull(net.logits(x)),
                    org.rollspark.util.Host.pull(back.logits(x)), 0.0);
            org.junit.jupiter.api.Assertions.assertTrue(java.nio.file.Files.exists(m.resolve("0.weight.npy"))
                    || java.nio.file.Files.exists(m.resolve("0.weight_ih.npy")));
        }
    }
}
