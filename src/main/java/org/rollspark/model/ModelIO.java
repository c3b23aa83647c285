package org.rollspark.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.net.Network;
import org.rollspark.net.Normalization;
import org.rollspark.net.Npy;
import org.rollspark.util.Host;

/**
 * Saves and loads any {@link Network} as a folder:
 * <pre>
 * model.json            format, architecture, normalisation, data type, tensor files, provenance
 * NAME.npy              one file per named parameter tensor ({@link Network#tensors()}), PyTorch's layout
 * </pre>
 * Dense nets name their tensors {@code layer<i>.weight} (out, in) and {@code layer<i>.bias}, so a
 * PyTorch stack of nn.Linear saved with {@code np.save("layer%d.weight.npy" % i, lin.weight...)} loads
 * without transposition; graph nets name them by position ({@code 0.weight}, {@code 3.main.0.weight}).
 * model.json lists them under {@code "tensors"}; a dense folder may instead list {@code "layers"}
 * ({@code [{"weight": file, "bias": file}, ...]}, the first release's form), and a tensor with no entry is
 * read from {@code NAME.npy}. The network normalises its input itself, so record the normalisation the
 * model was trained with rather than folding it in. A save is staged in a sibling folder and moved
 * into place: a crash never leaves a half-written model under the target name.
 */
public final class ModelIO {
    public static final String FORMAT = "roll-spark-model";
    /**
     * 2: tensors listed under "tensors" for every architecture (1: dense folders listed "layers";
     * still read). Builds that read only 1 refuse a 2 by name instead of misreading it.
     */
    public static final int FORMAT_VERSION = 2;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ModelIO() {}

    /**
     * Saves a network's folder with the given provenance in model.json: staged next to {@code dir}
     * (header, one .npy per tensor, provenance), then committed into place ({@link Staging#commit}),
     * replacing an older one; nothing half-written is left on failure.
     */
    public static void save(Network net, Path dir, Map<String, Object> provenance) throws IOException {
        Path target = dir.toAbsolutePath();
        Files.createDirectories(target.getParent());
        Path staging = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".tmp-");
        try {
            Path tmp = Files.createDirectory(staging.resolve(target.getFileName()));
            boolean f64 = net.dataType() == DataType.DOUBLE;
            ObjectNode root = header(net, f64);
            ArrayNode tensors = root.putArray("tensors");
            for (Network.Tensor t : net.tensors()) {
                String file = t.name() + ".npy";
                INDArray slice = net.params().get(NDArrayIndex.interval(t.offset(), t.offset() + t.size()));
                Npy.write(tmp.resolve(file), Host.pull(slice), t.shape(), f64);
                tensors.addObject().put("name", t.name()).put("file", file);
            }
            root.set("provenance", JSON.valueToTree(provenance == null ? Map.of() : provenance));
            JSON.writeValue(tmp.resolve("model.json").toFile(), root);
            Staging.commit(Staging.local(), staging.toString(), Map.of(target.getFileName().toString(), target.toString()));
        } finally {
            deleteTree(staging);
        }
    }

    private static ObjectNode header(Network net, boolean f64) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("formatVersion", FORMAT_VERSION);
        root.set("architecture", net.architecture());
        ObjectNode norm = root.putObject("normalization");
        ArrayNode mean = norm.putArray("mean");
        ArrayNode std = norm.putArray("std");
        for (double v : net.normalization().mean()) {
            mean.add(v);
        }
        for (double v : net.normalization().std()) {
            std.add(v);
        }
        root.put("dtype", f64 ? "float64" : "float32");
        return root;
    }

    /** Deletes a local folder and everything in it (nothing when it does not exist). */
    public static void deleteTree(Path p) throws IOException {
        Staging.local().deleteTree(p.toString());
    }

    /** Loads a model folder in the data type recorded in its model.json. */
    public static Network load(Path dir) throws IOException {
        return loadNetwork(dir, null);
    }

    /** Loads any model folder, converting to {@code type} when it is not null. */
    public static Network loadNetwork(Path dir, DataType type) throws IOException {
        Path meta = dir.resolve("model.json");
        if (!Files.isRegularFile(meta)) {
            throw new IOException(dir + ": not a model folder (no model.json)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(meta.toFile());
        } catch (IOException e) {
            throw new IOException(meta + ": not valid JSON (" + e.getMessage() + ")", e);
        }
        if (!FORMAT.equals(root.path("format").asText())) {
            throw new IOException(meta + ": format is '" + root.path("format").asText() + "', expected '" + FORMAT + "'");
        }
        int version = root.path("formatVersion").asInt(-1);
        if (version < 1 || version > FORMAT_VERSION) {
            throw new IOException(meta + ": formatVersion " + version + " is not supported (this build reads 1.."
                    + FORMAT_VERSION + ")");
        }
        Normalization norm;
        Network shape;
        try {
            norm = new Normalization(doubles(root.path("normalization").path("mean"), meta, "normalization.mean"),
                    doubles(root.path("normalization").path("std"), meta, "normalization.std"));
            shape = Architectures.shape(root.path("architecture"), norm);
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IOException(meta + ": " + e.getMessage(), e);
        }
        DataType dt = type != null ? type : "float64".equals(root.path("dtype").asText()) ? DataType.DOUBLE : DataType.FLOAT;
        Map<String, String> files = tensorFiles(root, meta);
        double[] flat = new double[Math.toIntExact(shape.params().length())];
        for (Network.Tensor t : shape.tensors()) {
            String file = files.getOrDefault(t.name(), t.name() + ".npy");
            if (!files.containsKey(t.name()) && !Files.exists(dir.resolve(file))) {
                throw new IOException(meta + ": no file for parameter tensor '" + t.name() + "' (expected " + file + ")");
            }
            double[] v = readArray(dir, file, t.shape());
            System.arraycopy(v, 0, flat, Math.toIntExact(t.offset()), v.length);
        }
        return shape.withParams(Host.array(flat, dt, flat.length));
    }

    /** Tensor name to file, from {@code "tensors"} or a dense folder's {@code "layers"} list. */
    private static Map<String, String> tensorFiles(JsonNode root, Path meta) throws IOException {
        Map<String, String> files = new java.util.HashMap<>();
        for (JsonNode t : root.path("tensors")) {
            files.put(t.path("name").asText(), t.path("file").asText());
        }
        JsonNode layers = root.path("layers");
        if (layers.isArray()) {
            JsonNode sizes = root.path("architecture").path("sizes");
            if (sizes.isArray() && layers.size() != sizes.size() - 1) {
                throw new IOException(meta + ": 'layers' must list " + (sizes.size() - 1) + " dense layers");
            }
            for (int l = 0; l < layers.size(); l++) {
                for (String part : new String[] {"weight", "bias"}) {
                    String name = "layer" + l + "." + part;
                    files.put(name, layers.get(l).path(part).asText(name + ".npy"));
                }
            }
        }
        return files;
    }

    /** The provenance recorded in a model folder's model.json. */
    public static JsonNode provenance(Path dir) throws IOException {
        return JSON.readTree(dir.resolve("model.json").toFile()).path("provenance");
    }

    /**
     * Saves a model folder at a location on any Hadoop file system (local paths directly; others
     * written locally, then published with a staged copy and a rename).
     */
    public static void save(Network net, String location, org.apache.hadoop.conf.Configuration conf,
            Map<String, Object> provenance) throws IOException {
        Path local = RemoteFolders.localPath(location);
        if (local != null) {
            save(net, local, provenance);
            return;
        }
        Path tmp = Files.createTempDirectory("roll-model-");
        try {
            save(net, tmp.resolve("model"), provenance);
            RemoteFolders.publish(tmp.resolve("model"), location, conf, null);
        } finally {
            deleteTree(tmp);
        }
    }

    /** A model folder's network and provenance, from a location on any Hadoop file system. */
    public record Loaded(Network network, JsonNode provenance) {}

    /**
     * A model folder (on any Hadoop file system) or a local ONNX file ({@code .onnx}: an empty provenance; the
     * import's notes go to {@code notes}).
     */
    public static Loaded loadAny(String location, org.apache.hadoop.conf.Configuration conf,
            java.util.function.Consumer<String> notes) throws IOException {
        if (location.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx")) {
            OnnxImport.Imported m = OnnxImport.load(Path.of(location));
            m.notes().forEach(notes);
            return new Loaded(m.network(), com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode());
        }
        return load(location, conf);
    }

    public static Loaded load(String location, org.apache.hadoop.conf.Configuration conf) throws IOException {
        Path local = RemoteFolders.localPath(location);
        if (local != null) {
            return new Loaded(loadNetwork(local, null), provenance(local));
        }
        Path copy = RemoteFolders.fetch(location, conf);
        try {
            return new Loaded(loadNetwork(copy, null), provenance(copy));
        } catch (IOException e) {
            throw new IOException(location + ": " + e.getMessage(), e);
        } finally {
            deleteTree(copy.getParent());
        }
    }

    private static double[] readArray(Path dir, String name, long[] expected) throws IOException {
        Path file = dir.resolve(name).normalize();
        if (!file.startsWith(dir.normalize())) {
            throw new IOException(dir.resolve("model.json") + ": layer file '" + name + "' is outside the model folder");
        }
        Npy.Array a = Npy.read(file);
        if (!java.util.Arrays.equals(a.shape(), expected)) {
            throw new IOException(file + ": shape " + java.util.Arrays.toString(a.shape()) + ", expected "
                    + java.util.Arrays.toString(expected) + " (PyTorch's layouts: dense (out, in), conv (out, in, kH, kW))");
        }
        double[] d = a.data();
        for (int i = 0; i < d.length; i++) {
            if (!Double.isFinite(d[i])) {
                throw new IOException(file + ": value " + d[i] + " at flat index " + i + " is not finite");
            }
        }
        return d;
    }

    private static double[] doubles(JsonNode node, Path meta, String key) throws IOException {
        if (node.isNumber()) {
            return new double[] {node.asDouble()};
        }
        if (!node.isArray() || node.isEmpty()) {
            throw new IOException(meta + ": '" + key + "' must be a number or a list of numbers");
        }
        double[] out = new double[node.size()];
        for (int i = 0; i < out.length; i++) {
            if (!node.get(i).isNumber()) {
                throw new IOException(meta + ": '" + key + "'[" + i + "] is not a number");
            }
            out[i] = node.get(i).asDouble();
        }
        return out;
    }
}
