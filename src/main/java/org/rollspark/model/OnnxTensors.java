package org.rollspark.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import onnx.Onnx;

/**
 * Reading an ONNX graph's tensors and attributes: initializers (inline or in external-data files inside the
 * model's folder), Constant nodes, and node attributes, with errors that name the tensor or node.
 */
final class OnnxTensors {
    private OnnxTensors() {}

    /**
     * The graph with every initializer stored in an external-data file read into raw_data. A location must name
     * a file inside the model's folder (no absolute path, no way out through {@code ..} or a link), and offset
     * and length must lie inside that file.
     */
    static Onnx.GraphProto inlineExternal(Onnx.GraphProto g, Path file) throws IOException {
        Onnx.GraphProto.Builder b = null;
        Path dir = file.toAbsolutePath().getParent();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            Onnx.TensorProto t = g.getInitializer(i);
            if (t.getDataLocation() != Onnx.TensorProto.DataLocation.EXTERNAL) {
                continue;
            }
            String what = "tensor '" + t.getName() + "'";
            Map<String, String> kv = new HashMap<>();
            t.getExternalDataList().forEach(e -> kv.put(e.getKey(), e.getValue()));
            String location = kv.get("location");
            if (location == null || location.isEmpty()) {
                throw new IllegalArgumentException(what + " is stored externally but names no location");
            }
            Path data = dir.resolve(location).normalize();
            if (Path.of(location).isAbsolute() || !data.startsWith(dir)
                    || Files.exists(data) && !data.toRealPath().startsWith(dir.toRealPath())) {
                throw new IllegalArgumentException(what + ": external-data location '" + location + "' leaves the model's "
                        + "folder " + dir);
            }
            if (!Files.isRegularFile(data)) {
                throw new IllegalArgumentException(what + ": external-data file " + data + " does not exist");
            }
            long size = Files.size(data);
            long offset;
            long length;
            try {
                offset = Long.parseLong(kv.getOrDefault("offset", "0"));
                length = kv.containsKey("length") ? Long.parseLong(kv.get("length")) : size - offset;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + ": external-data offset or length is not a number: " + kv);
            }
            if (offset < 0 || length < 0 || offset + length > size || length > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(what + ": external data at offset " + offset + ", length " + length
                        + " lies outside " + data + " (" + size + " bytes)");
            }
            byte[] bytes = new byte[Math.toIntExact(length)];
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(data)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining() && ch.read(buf, offset + buf.position()) >= 0) {
                    // reads until full (the bounds were checked against the file's size)
                }
            }
            if (b == null) {
                b = g.toBuilder();
            }
            b.setInitializer(i, t.toBuilder().clearExternalData().setDataLocation(Onnx.TensorProto.DataLocation.DEFAULT)
                    .setRawData(org.nd4j.shade.protobuf.ByteString.copyFrom(bytes)).build());
        }
        return b == null ? g : b.build();
    }

    /** A Constant node's tensor: {@code value}, or one of the scalar and list forms (opset 12 and later). */
    static Onnx.TensorProto constantTensor(Onnx.NodeProto n, String where) {
        Onnx.AttributeProto a = n.getAttributeCount() == 1 ? n.getAttribute(0) : null;
        if (a == null) {
            throw new IllegalArgumentException(where + ": a Constant needs exactly one value attribute");
        }
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(n.getOutput(0));
        switch (a.getName()) {
            case "value" -> {
                return a.getT();
            }
            case "value_float" -> t.setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE).addFloatData(a.getF());
            case "value_floats" -> t.setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE).addAllFloatData(a.getFloatsList())
                    .addDims(a.getFloatsCount());
            case "value_int" -> t.setDataType(Onnx.TensorProto.DataType.INT64_VALUE).addInt64Data(a.getI());
            case "value_ints" -> t.setDataType(Onnx.TensorProto.DataType.INT64_VALUE).addAllInt64Data(a.getIntsList())
                    .addDims(a.getIntsCount());
            default -> throw new IllegalArgumentException(where + ": a Constant with '" + a.getName() + "' is not read "
                    + "(value, value_float(s) and value_int(s) are)");
        }
        return t.build();
    }

    static long[] longs(double[] v) {
        return java.util.Arrays.stream(v).mapToLong(d -> (long) d).toArray();
    }

    static long[] attrInts(Onnx.NodeProto n, String name, long[] dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
            }
        }
        return dflt;
    }

    static String attrString(Onnx.NodeProto n, String name, String dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getS().toStringUtf8();
            }
        }
        return dflt;
    }

    static Onnx.AttributeProto attribute(Onnx.NodeProto n, String name) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("node '" + n.getName() + "' (" + n.getOpType() + ") has no attribute " + name);
    }

    /**
     * A float attribute, widened exactly: the value the file stores (0.05f is 0.05000000074505806), which is what
     * every runtime computes with and so what a certificate must be about.
     */
    static double attrFloat(Onnx.NodeProto n, String name, double dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getF();
            }
        }
        return dflt;
    }

    static long attrInt(Onnx.NodeProto n, String name, long dflt) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return dflt;
    }

    /** A constant's values (an initializer or a Constant node's output); null when {@code where} is null and none. */
    static double[] constant(String name, Map<String, Onnx.TensorProto> init, Map<String, double[]> constants,
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

    static double[][] matrix(String name, Map<String, Onnx.TensorProto> init, String where) {
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
