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
        return runtime(onnx, x, n, shape, null);
    }

    /** ONNX Runtime's logits for x (n, d), with the sequences' lengths as the second input where not null. */
    static float[][] runtime(Path onnx, float[] x, int n, int[] shape, int[] lengths) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] dims = new long[shape.length + 1];
        dims[0] = n;
        for (int i = 0; i < shape.length; i++) {
            dims[i + 1] = shape[i];
        }
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), dims);
                OnnxTensor len = lengths == null ? null : OnnxTensor.createTensor(env, java.nio.IntBuffer.wrap(lengths),
                        new long[] {n});
                OrtSession.Result r = s.run(lengths == null ? Map.of("x", in)
                        : Map.of("x", in, OnnxExport.LENGTHS, len))) {
            return (float[][]) r.get(0).getValue();
        }
    }

    static void check(Network net, Path file, long seed) throws Exception {
        check(net, file, seed, false);
    }

    /**
     * Exports {@code net}, runs it in ONNX Runtime against the project's logits, imports it back and compares
     * logits and certificates; with {@code padded}, sequences of random lengths (zero past their end).
     */
    static void check(Network net, Path file, long seed, boolean padded) throws Exception {
        OnnxExport.write(net, file, padded);
        int n = 32;
        int d = net.inputSize();
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, n, d).muli(2).subi(0.5);
        int[] lengths = null;
        if (padded) {
            int steps = net.inputShape()[0];
            java.util.Random r = new java.util.Random(seed);
            lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = i < 2 ? steps - i : 1 + r.nextInt(steps);
                for (int k = lengths[i] * (d / steps); k < d; k++) {
                    x.putScalar(i, k, 0);
                }
            }
        }
        float[] xs = x.data().asFloat();
        float[][] ort = runtime(file, xs, n, net.inputShape(), lengths);
        INDArray ours = net.forward(x, false, lengths, null).logits();
        for (int i = 0; i < n; i++) {
            double[] row = Host.pull(ours.getRow(i));
            for (int k = 0; k < row.length; k++) {
                assertEquals(row[k], ort[i][k], 1e-5 * Math.max(1, Math.abs(row[k])), "example " + i + " logit " + k);
            }
        }
        // export, then import: the same network, bit for bit (parameters, normalisation, slopes), so the same
        // logits and certificates
        Network back = OnnxImport.load(file).network();
        assertArrayEquals(Host.pull(net.params()), Host.pull(back.params()), 0.0, "float32 parameters come back exactly");
        assertEquals(net.normalization(), back.normalization(), "the normalisation comes back exactly");
        Certification a = new RegionCertifier(net).certify(x, lengths);
        Certification b = new RegionCertifier(back).certify(x, lengths);
        INDArray theirs = back.forward(x, false, lengths, null).logits();
        assertArrayEquals(Host.pull(ours), Host.pull(theirs), 0.0);
        for (int i = 0; i < n; i++) {
            assertEquals(a.pattern(i).hash(), b.pattern(i).hash(), "example " + i);
            assertEquals(a.pred(i), b.pred(i));
            for (Norm p : Norm.values()) {
                assertEquals(a.margin(p, i), b.margin(p, i), 0.0, p + " margin of example " + i);
            }
        }
    }

    /**
     * A normalisation float32 cannot hold (0.1307 as a double, as model folders from before float32 constants
     * store it) is written in float64 between Casts: ONNX Runtime computes with it, and the import reads it back
     * bit for bit. One float32 can (Normalization.float32) is written as float32 Sub / Div.
     */
    @Test
    void aNormalisationFloat32CannotHoldIsWrittenInFloat64() throws Exception {
        Network decimal = Architectures.init(Architectures.dense(new int[] {784, 16, 10}, Activation.leakyRelu(0.01)),
                Normalization.scalar(0.1307, 0.3081), org.rollspark.net.Init.HE_NORMAL, 11, DataType.FLOAT);
        assertTrue(!decimal.normalization().isFloat32());
        check(decimal, tmp.resolve("decimal.onnx"), 11);
        onnx.Onnx.ModelProto m = onnx.Onnx.ModelProto.parseFrom(java.nio.file.Files.readAllBytes(tmp.resolve("decimal.onnx")));
        assertEquals(java.util.List.of("Cast", "Sub", "Div", "Cast"), m.getGraph().getNodeList().subList(0, 4).stream()
                .map(onnx.Onnx.NodeProto::getOpType).toList());
        Network float32 = Architectures.shape(decimal.architecture(), Normalization.mnist()).withParams(decimal.params());
        check(float32, tmp.resolve("float32.onnx"), 12);
        m = onnx.Onnx.ModelProto.parseFrom(java.nio.file.Files.readAllBytes(tmp.resolve("float32.onnx")));
        assertEquals(java.util.List.of("Sub", "Div", "Gemm"), m.getGraph().getNodeList().subList(0, 3).stream()
                .map(onnx.Onnx.NodeProto::getOpType).toList());
        assertEquals(onnx.Onnx.TensorProto.DataType.FLOAT_VALUE, m.getGraph().getInitializer(0).getDataType());
    }

    /** A float64 network whose parameters float32 cannot hold is refused: the file would be another function. */
    @Test
    void aFloat64NetworkFloat32CannotHoldIsRefused() {
        assertRefused(DataType.DOUBLE, false, "float32 cannot hold exactly");
    }

    /** Exporting a small dense net of {@code type} is refused with a message holding {@code why}; no file is left. */
    private void assertRefused(DataType type, boolean lengths, String why) {
        Network net = Architectures.init(Architectures.dense(new int[] {4, 3, 2}, Activation.relu()),
                Normalization.identity(), org.rollspark.net.Init.HE_NORMAL, 1, type);
        Path file = tmp.resolve("refused.onnx");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxExport.write(net, file,
                lengths));
        assertTrue(e.getMessage().contains(why), e.getMessage());
        assertTrue(!java.nio.file.Files.exists(file));
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

    /** A recurrent net of {@code steps} x 3 inputs: rnn (the given activation, IRNN-initialised), ReLU, dense. */
    static Network recurrent(String activation, Normalization norm, long seed) {
        return recurrent("rnn", activation, norm, seed);
    }

    /** The same with the recurrent layer's type spelt {@code type} (rnn, or its alias recurrent). */
    static Network recurrent(String type, String activation, Normalization norm, long seed) {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ArrayNode layers = json.createArrayNode();
        layers.add(json.createObjectNode().put("type", type).put("hidden", 6).put("activation", activation)
                .put("recurrent_init", "identity"));
        layers.add(json.createObjectNode().put("type", "dense").put("units", 5));
        layers.add(json.createObjectNode().put("type", "relu"));
        layers.add(json.createObjectNode().put("type", "dense").put("units", 3));
        Network net = Architectures.init(Architectures.graph(new int[] {7, 3}, layers), norm, org.rollspark.net.Init.HE_NORMAL,
                seed, DataType.FLOAT);
        // a nonzero recurrent bias, so the exported B carries something
        double[] p = Host.pull(net.params());
        for (Network.Tensor t : net.tensors()) {
            if (t.name().endsWith("bias")) {
                for (long k = t.offset(); k < t.offset() + t.size(); k++) {
                    p[(int) k] = 0.05 * ((k % 5) - 2);
                }
            }
        }
        return net.withParams(Host.array(p, DataType.FLOAT, p.length));
    }

    /** Recurrent layers as ONNX RNN: full-length sequences, and padded ones with a lengths input (sequence_lens). */
    @Test
    void recurrentNetsExportWithAndWithoutLengths() throws Exception {
        double[] mean = new double[21];
        double[] std = new double[21];
        for (int i = 0; i < 21; i++) {
            mean[i] = i / 64.0; // float32-exact, so the normalisation round-trips exactly
            std[i] = 0.5 + i / 32.0;
        }
        check(recurrent("relu", new Normalization(mean, std), 7), tmp.resolve("rnn.onnx"), 7);
        check(recurrent("leaky_relu:0.05", Normalization.scalar(0.125, 0.5), 8), tmp.resolve("rnn-leaky.onnx"), 8);
        check(recurrent("relu", Normalization.identity(), 9), tmp.resolve("rnn-padded.onnx"), 9, true);
        // the layer's alias: the export's own vocabulary decides that the net is recurrent, not a string search
        check(recurrent("recurrent", "relu", Normalization.identity(), 10), tmp.resolve("recurrent-padded.onnx"), 10, true);
    }

    @Test
    void lengthsAreAnInputOfRecurrentNetsOnly() {
        assertRefused(DataType.FLOAT, true, "recurrent networks only");
    }
}
