package org.rollspark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.net.Activation;
import org.rollspark.net.Network;
import org.rollspark.net.Normalization;
import org.rollspark.region.Certification;
import org.rollspark.region.Norm;
import org.rollspark.region.RegionCertifier;
import org.rollspark.util.Host;

/**
 * Exported models run in ONNX Runtime with the project's logits, and import back to the same network:
 * a ROLL-trained 2-D model (docs/results/models), a LeakyReLU net with a per-feature normalisation, and
 * the PyTorch fixture after an import.
 */
class OnnxExportTest {
    @TempDir
    Path tmp;

    /** ONNX Runtime's logits for x (n, d). */
    static float[][] runtime(Path onnx, float[] x, int n, int[] shape) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] dims = new long[shape.length + 1];
        dims[0] = n;
        for (int i = 0; i < shape.length; i++) {
            dims[i + 1] = shape[i];
        }
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), dims);
                OrtSession.Result r = s.run(Map.of("x", in))) {
            return (float[][]) r.get(0).getValue();
        }
    }

    static void check(Network net, Path file, long seed) throws Exception {
        OnnxExport.write(net, file);
        int n = 32;
        int d = net.inputSize();
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, n, d).muli(2).subi(0.5);
        float[] xs = x.data().asFloat();
        float[][] ort = runtime(file, xs, n, net.inputShape());
        INDArray ours = net.forward(x, false, null, null).logits();
        for (int i = 0; i < n; i++) {
            double[] row = Host.pull(ours.getRow(i));
            for (int k = 0; k < row.length; k++) {
                assertEquals(row[k], ort[i][k], 1e-5 * Math.max(1, Math.abs(row[k])), "example " + i + " logit " + k);
            }
        }
        // export, then import: the same logits and certificates (float32 weights and normalisation round-trip)
        Network back = OnnxImport.load(file).network();
        Certification a = new RegionCertifier(net).certify(x);
        Certification b = new RegionCertifier(back).certify(x);
        INDArray theirs = back.forward(x, false, null, null).logits();
        assertArrayEquals(Host.pull(ours), Host.pull(theirs), 1e-5);
        for (int i = 0; i < n; i++) {
            assertEquals(a.pattern(i).hash(), b.pattern(i).hash(), "example " + i);
            assertEquals(a.pred(i), b.pred(i));
            for (Norm p : Norm.values()) {
                assertEquals(a.margin(p, i), b.margin(p, i), 1e-6 * a.margin(p, i), p + " margin of example " + i);
            }
        }
    }

    @Test
    void aRollTrainedModelRunsInOnnxRuntimeWithTheSameLogits() throws Exception {
        Network roll = ModelIO.load(Path.of("docs/results/models/figure1-sweep-a705b19d7e88"));
        check(roll, tmp.resolve("roll.onnx"), 1);
    }

    @Test
    void leakyNetsWithPerFeatureNormalisationExportToo() throws Exception {
        double[] mean = new double[12];
        double[] std = new double[12];
        for (int i = 0; i < 12; i++) {
            mean[i] = 0.25 * i;
            std[i] = 0.5 + 0.125 * i;
        }
        Network net = Architectures.init(Architectures.dense(new int[] {12, 9, 7, 4}, Activation.leakyRelu(0.125)),
                new Normalization(mean, std), org.rollspark.net.Init.HE_NORMAL, 3, DataType.FLOAT);
        check(net, tmp.resolve("leaky.onnx"), 2);
        check(OnnxImport.load(Path.of("src/test/resources/onnx/mlp_relu.onnx")).network(), tmp.resolve("again.onnx"), 3);
    }

    /** Conv, batch norm with running statistics, pooling and dense layers of a layer-list network. */
    @Test
    void convNetsExportToo() throws Exception {
        check(OnnxImport.load(Path.of("src/test/resources/onnx/conv_bn_pool.onnx")).network(), tmp.resolve("conv.onnx"), 4);
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ArrayNode layers = json.createArrayNode();
        layers.add(json.createObjectNode().put("type", "conv2d").put("filters", 3).put("kernel", 3).put("padding", 1));
        layers.add(json.createObjectNode().put("type", "batchnorm"));
        layers.add(json.createObjectNode().put("type", "leaky_relu").put("alpha", 0.1));
        layers.add(json.createObjectNode().put("type", "avgpool").put("kernel", 2));
        layers.add(json.createObjectNode().put("type", "conv2d").put("filters", 2).put("kernel", 3).put("stride", 2)
                .put("padding", 1).put("bias", false));
        layers.add(json.createObjectNode().put("type", "relu"));
        layers.add(json.createObjectNode().put("type", "dense").put("units", 4));
        Network net = Architectures.init(Architectures.graph(new int[] {2, 6, 6}, layers), Normalization.scalar(0.5, 0.25),
                org.rollspark.net.Init.HE_NORMAL, 5, DataType.FLOAT);
        check(net, tmp.resolve("graph.onnx"), 5);
    }

    /** Residual blocks (identity and conv shortcuts), imported from PyTorch and exported again. */
    @Test
    void residualNetsExportToo() throws Exception {
        check(OnnxImport.load(Path.of("src/test/resources/onnx/resnet_blocks.onnx")).network(), tmp.resolve("res.onnx"), 6);
    }

    @Test
    void recurrentNetworksAreRefusedClearly() {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ArrayNode layers = json.createArrayNode();
        layers.add(json.createObjectNode().put("type", "rnn").put("hidden", 4));
        layers.add(json.createObjectNode().put("type", "dense").put("units", 3));
        Network net = Architectures.init(Architectures.graph(new int[] {5, 2}, layers), Normalization.identity(),
                org.rollspark.net.Init.HE_NORMAL, 1, DataType.FLOAT);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OnnxExport.write(net, tmp.resolve("r.onnx")));
        assertTrue(e.getMessage().contains("recurrent"), e.getMessage());
    }
}
