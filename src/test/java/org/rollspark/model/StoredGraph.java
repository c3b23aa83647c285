package org.rollspark.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import onnx.Onnx;

/**
 * An ONNX graph evaluated in float64, one example at a time, straight from the file: every constant the stored
 * value widened exactly, every operator by its ONNX definition written out in loops. It shares no code with
 * {@link OnnxImport} or the networks, so tests can hold the import and the certifier against the function the file
 * computes. Operators: Identity, Constant, Sub, Div, Mul, Add (with broadcasting), Conv, BatchNormalization
 * (inference), Relu, LeakyRelu, AveragePool, GlobalAveragePool, Pad (constant), Flatten, Gemm, MatMul.
 */
final class StoredGraph {
    /** A dense float64 tensor, row-major. */
    record Tensor(double[] v, int[] shape) {
        int size() {
            return v.length;
        }
    }

    /** One evaluation: the inputs of every Relu / LeakyRelu node in graph order (the neurons), and the output. */
    record Pass(List<double[]> neurons, double[] logits) {
        /** Whether each neuron is active ({@code z > 0}), all layers in order. */
        boolean[] pattern() {
            int n = neurons.stream().mapToInt(a -> a.length).sum();
            boolean[] p = new boolean[n];
            int k = 0;
            for (double[] layer : neurons) {
                for (double z : layer) {
                    p[k++] = z > 0;
                }
            }
            return p;
        }
    }

    private final Onnx.GraphProto graph;
    private final Map<String, Tensor> constants = new HashMap<>();

    StoredGraph(Path file) throws IOException {
        graph = Onnx.ModelProto.parseFrom(Files.readAllBytes(file)).getGraph();
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            constants.put(t.getName(), tensor(t));
        }
    }

    /** The graph on one example of {@code shape} (no batch dimension) given as raw input values. */
    Pass run(double[] x, int... shape) {
        Map<String, Tensor> env = new HashMap<>(constants);
        int[] full = new int[shape.length + 1];
        full[0] = 1;
        System.arraycopy(shape, 0, full, 1, shape.length);
        env.put(graph.getInput(0).getName(), new Tensor(x.clone(), full));
        List<double[]> neurons = new ArrayList<>();
        for (Onnx.NodeProto n : graph.getNodeList()) {
            Tensor a = n.getInputCount() > 0 ? env.get(n.getInput(0)) : null;
            Tensor out = switch (n.getOpType()) {
                case "Identity" -> a;
                case "Constant" -> tensor(n.getAttribute(0).getT());
                case "Sub" -> broadcast(a, env.get(n.getInput(1)), (p, q) -> p - q);
                case "Div" -> broadcast(a, env.get(n.getInput(1)), (p, q) -> p / q);
                case "Mul" -> broadcast(a, env.get(n.getInput(1)), (p, q) -> p * q);
                case "Add" -> broadcast(a, env.get(n.getInput(1)), Double::sum);
                case "Relu", "LeakyRelu" -> {
                    neurons.add(a.v().clone());
                    double alpha = n.getOpType().equals("Relu") ? 0 : floatAttr(n, "alpha", 0.01f);
                    yield new Tensor(Arrays.stream(a.v()).map(z -> z > 0 ? z : alpha * z).toArray(), a.shape());
                }
                case "Conv" -> conv(n, a, env.get(n.getInput(1)), n.getInputCount() > 2 ? env.get(n.getInput(2)) : null);
                case "BatchNormalization" -> batchNorm(n, a, env.get(n.getInput(1)), env.get(n.getInput(2)),
                        env.get(n.getInput(3)), env.get(n.getInput(4)));
                case "AveragePool" -> averagePool(n, a);
                case "GlobalAveragePool" -> globalAveragePool(a);
                case "Pad" -> pad(n, a, n.getInputCount() > 1 ? env.get(n.getInput(1)) : null);
                case "Flatten" -> {
                    int axis = (int) intAttr(n, "axis", 1);
                    int rows = 1;
                    for (int i = 0; i < axis; i++) {
                        rows *= a.shape()[i];
                    }
                    yield new Tensor(a.v(), new int[] {rows, a.size() / rows});
                }
                case "Gemm" -> gemm(a, env.get(n.getInput(1)), n.getInputCount() > 2 ? env.get(n.getInput(2)) : null,
                        intAttr(n, "transA", 0) != 0, intAttr(n, "transB", 0) != 0, floatAttr(n, "alpha", 1f),
                        floatAttr(n, "beta", 1f));
                case "MatMul" -> gemm(a, env.get(n.getInput(1)), null, false, false, 1, 1);
                default -> throw new IllegalArgumentException("StoredGraph does not evaluate " + n.getOpType());
            };
            env.put(n.getOutput(0), out);
        }
        return new Pass(neurons, env.get(graph.getOutput(0).getName()).v());
    }

    /** A tensor's values widened exactly: float32 and float64 from raw_data or the typed fields, int64 as doubles. */
    static Tensor tensor(Onnx.TensorProto t) {
        int[] shape = t.getDimsList().stream().mapToInt(Long::intValue).toArray();
        int n = Arrays.stream(shape).reduce(1, (p, q) -> p * q);
        double[] v = new double[n];
        ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            v[i] = switch (t.getDataType()) {
                case Onnx.TensorProto.DataType.FLOAT_VALUE -> raw.hasRemaining() ? raw.getFloat() : t.getFloatData(i);
                case Onnx.TensorProto.DataType.DOUBLE_VALUE -> raw.hasRemaining() ? raw.getDouble() : t.getDoubleData(i);
                case Onnx.TensorProto.DataType.INT64_VALUE -> raw.hasRemaining() ? raw.getLong() : t.getInt64Data(i);
                default -> throw new IllegalArgumentException("tensor " + t.getName() + " of type " + t.getDataType());
            };
        }
        return new Tensor(v, shape);
    }

    private static double floatAttr(Onnx.NodeProto n, String name, float dflt) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst()
                .map(a -> (double) a.getF()).orElse((double) dflt);
    }

    private static long intAttr(Onnx.NodeProto n, String name, long dflt) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst()
                .map(Onnx.AttributeProto::getI).orElse(dflt);
    }

    private static long[] intsAttr(Onnx.NodeProto n, String name, long... dflt) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst()
                .map(a -> a.getIntsList().stream().mapToLong(Long::longValue).toArray()).orElse(dflt);
    }

    /** Numpy-style broadcasting of two tensors. */
    private static Tensor broadcast(Tensor a, Tensor b, java.util.function.DoubleBinaryOperator f) {
        int rank = Math.max(a.shape().length, b.shape().length);
        int[] shape = new int[rank];
        int[] sa = align(a.shape(), rank);
        int[] sb = align(b.shape(), rank);
        for (int d = 0; d < rank; d++) {
            if (sa[d] != sb[d] && sa[d] != 1 && sb[d] != 1) {
                throw new IllegalArgumentException("shapes " + Arrays.toString(a.shape()) + " and "
                        + Arrays.toString(b.shape()) + " do not broadcast");
            }
            shape[d] = Math.max(sa[d], sb[d]);
        }
        int n = Arrays.stream(shape).reduce(1, (p, q) -> p * q);
        double[] out = new double[n];
        int[] idx = new int[rank];
        for (int i = 0; i < n; i++) {
            int rem = i;
            for (int d = rank - 1; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            out[i] = f.applyAsDouble(a.v()[offset(idx, sa)], b.v()[offset(idx, sb)]);
        }
        return new Tensor(out, shape);
    }

    private static int[] align(int[] s, int rank) {
        int[] out = new int[rank];
        Arrays.fill(out, 1);
        System.arraycopy(s, 0, out, rank - s.length, s.length);
        return out;
    }

    private static int offset(int[] idx, int[] shape) {
        int o = 0;
        for (int d = 0; d < shape.length; d++) {
            o = o * shape[d] + (shape[d] == 1 ? 0 : idx[d]);
        }
        return o;
    }

    /** ONNX Conv, NCHW, group 1: out[f, i, j] = b[f] + sum w[f, c, u, v] x[c, i s - pt + u d, j s - pl + v d]. */
    private static Tensor conv(Onnx.NodeProto n, Tensor x, Tensor w, Tensor b) {
        if (intAttr(n, "group", 1) != 1) {
            throw new IllegalArgumentException("StoredGraph evaluates group 1 convolutions");
        }
        int c = x.shape()[1];
        int h = x.shape()[2];
        int wd = x.shape()[3];
        int f = w.shape()[0];
        int kh = w.shape()[2];
        int kw = w.shape()[3];
        long[] s = intsAttr(n, "strides", 1, 1);
        long[] p = intsAttr(n, "pads", 0, 0, 0, 0);
        long[] dl = intsAttr(n, "dilations", 1, 1);
        int oh = (int) ((h + p[0] + p[2] - dl[0] * (kh - 1) - 1) / s[0] + 1);
        int ow = (int) ((wd + p[1] + p[3] - dl[1] * (kw - 1) - 1) / s[1] + 1);
        double[] out = new double[f * oh * ow];
        for (int o = 0; o < f; o++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    double sum = b == null ? 0 : b.v()[o];
                    for (int ch = 0; ch < c; ch++) {
                        for (int u = 0; u < kh; u++) {
                            long r = i * s[0] - p[0] + u * dl[0];
                            for (int v = 0; v < kw; v++) {
                                long q = j * s[1] - p[1] + v * dl[1];
                                if (r >= 0 && r < h && q >= 0 && q < wd) {
                                    sum += w.v()[((o * c + ch) * kh + u) * kw + v] * x.v()[(int) ((ch * h + r) * wd + q)];
                                }
                            }
                        }
                    }
                    out[(o * oh + i) * ow + j] = sum;
                }
            }
        }
        return new Tensor(out, new int[] {1, f, oh, ow});
    }

    /** Inference batch norm: scale (x - mean) / sqrt(var + epsilon) + bias, epsilon the stored float32. */
    private static Tensor batchNorm(Onnx.NodeProto n, Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor var) {
        double eps = floatAttr(n, "epsilon", 1e-5f);
        int c = x.shape()[1];
        int plane = x.size() / c;
        double[] out = new double[x.size()];
        for (int ch = 0; ch < c; ch++) {
            for (int k = 0; k < plane; k++) {
                int at = ch * plane + k;
                out[at] = scale.v()[ch] * (x.v()[at] - mean.v()[ch]) / Math.sqrt(var.v()[ch] + eps) + bias.v()[ch];
            }
        }
        return new Tensor(out, x.shape());
    }

    private static Tensor averagePool(Onnx.NodeProto n, Tensor x) {
        if (intAttr(n, "ceil_mode", 0) != 0) {
            throw new IllegalArgumentException("StoredGraph evaluates AveragePool with ceil_mode 0");
        }
        long[] k = intsAttr(n, "kernel_shape");
        long[] s = intsAttr(n, "strides", 1, 1);
        long[] p = intsAttr(n, "pads", 0, 0, 0, 0);
        boolean includePad = intAttr(n, "count_include_pad", 0) != 0;
        int c = x.shape()[1];
        int h = x.shape()[2];
        int w = x.shape()[3];
        int oh = (int) ((h + p[0] + p[2] - k[0]) / s[0] + 1);
        int ow = (int) ((w + p[1] + p[3] - k[1]) / s[1] + 1);
        double[] out = new double[c * oh * ow];
        for (int ch = 0; ch < c; ch++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    double sum = 0;
                    int count = 0;
                    for (int u = 0; u < k[0]; u++) {
                        for (int v = 0; v < k[1]; v++) {
                            long r = i * s[0] - p[0] + u;
                            long q = j * s[1] - p[1] + v;
                            if (r >= 0 && r < h && q >= 0 && q < w) {
                                sum += x.v()[(int) ((ch * h + r) * w + q)];
                                count++;
                            } else if (includePad) {
                                count++;
                            }
                        }
                    }
                    out[(ch * oh + i) * ow + j] = sum / count;
                }
            }
        }
        return new Tensor(out, new int[] {1, c, oh, ow});
    }

    private static Tensor globalAveragePool(Tensor x) {
        int c = x.shape()[1];
        int plane = x.size() / c;
        double[] out = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int k = 0; k < plane; k++) {
                sum += x.v()[ch * plane + k];
            }
            out[ch] = sum / plane;
        }
        return new Tensor(out, new int[] {1, c, 1, 1});
    }

    /** Constant padding of an NCHW tensor (pads as ONNX orders them: begins of every axis, then ends). */
    private static Tensor pad(Onnx.NodeProto n, Tensor x, Tensor padsInput) {
        long[] pads = padsInput != null ? Arrays.stream(padsInput.v()).mapToLong(d -> (long) d).toArray()
                : intsAttr(n, "pads");
        if (n.getAttributeList().stream().anyMatch(a -> a.getName().equals("mode") && !a.getS().toStringUtf8()
                .equals("constant")) || n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
            throw new IllegalArgumentException("StoredGraph evaluates zero constant padding only");
        }
        int rank = x.shape().length;
        int[] shape = new int[rank];
        for (int d = 0; d < rank; d++) {
            shape[d] = (int) (x.shape()[d] + pads[d] + pads[d + rank]);
        }
        int total = Arrays.stream(shape).reduce(1, (p, q) -> p * q);
        double[] out = new double[total];
        int[] idx = new int[rank];
        for (int i = 0; i < x.size(); i++) {
            int rem = i;
            for (int d = rank - 1; d >= 0; d--) {
                idx[d] = rem % x.shape()[d] + (int) pads[d];
                rem /= x.shape()[d];
            }
            int o = 0;
            for (int d = 0; d < rank; d++) {
                o = o * shape[d] + idx[d];
            }
            out[o] = x.v()[i];
        }
        return new Tensor(out, shape);
    }

    /** alpha op(a) op(b) + beta c for 2-D a and b, c broadcast over the rows. */
    private static Tensor gemm(Tensor a, Tensor b, Tensor c, boolean ta, boolean tb, double alpha, double beta) {
        int m = ta ? a.shape()[1] : a.shape()[0];
        int k = ta ? a.shape()[0] : a.shape()[1];
        int n = tb ? b.shape()[0] : b.shape()[1];
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int l = 0; l < k; l++) {
                    double av = ta ? a.v()[l * m + i] : a.v()[i * k + l];
                    double bv = tb ? b.v()[j * k + l] : b.v()[l * n + j];
                    sum += av * bv;
                }
                out[i * n + j] = alpha * sum + (c == null ? 0 : beta * c.v()[c.size() == n ? j : c.size() == 1 ? 0
                        : i * n + j]);
            }
        }
        return new Tensor(out, new int[] {m, n});
    }
}
