package org.rollspark.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.graph.GraphNet;
import org.rollspark.graph.Layer;
import org.rollspark.util.Host;

/**
 * Saves and loads a {@link DenseNet} as a folder:
 * <pre>
 * model.json            format, architecture, normalisation, data type, layer files, provenance
 * layer0.weight.npy     (out, in) like PyTorch's nn.Linear.weight
 * layer0.bias.npy       (out,)
 * ...                   one pair per dense layer, the output layer last
 * </pre>
 * Weights trained elsewhere load if written in this layout: for a PyTorch stack of nn.Linear,
 * {@code np.save("layer%d.weight.npy" % i, lin.weight.detach().numpy())} needs no transposition
 * (a Keras/TF Dense kernel is (in, out): transpose it). The network normalises its input itself, so
 * record the normalisation the model was trained with in model.json rather than folding it in.
 * A save writes into a temporary sibling folder and renames it into place: a crash never leaves
 * a half-written model under the target name.
 */
public final class ModelIO {
    public static final String FORMAT = "roll-spark-model";
    public static final int FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ModelIO() {}

    /**
     * Saves any network: dense nets as one weight and bias .npy per layer ({@code layers}), graph nets
     * as one .npy per named parameter tensor ({@code tensors}); model.json holds the architecture.
     */
    public static void save(Network net, Path dir, Map<String, Object> provenance) throws IOException {
        if (net instanceof DenseNet d) {
            save(d, dir, provenance);
            return;
        }
        GraphNet g = (GraphNet) net;
        writeFolder(net, dir, provenance, (tmp, root, f64) -> {
            ArrayNode tensors = root.putArray("tensors");
            for (Map.Entry<String, Layer.Param> e : g.namedTensors().entrySet()) {
                String file = e.getKey() + ".npy";
                Npy.write(tmp.resolve(file), Host.pull(g.tensor(e.getValue())), e.getValue().shape(), f64);
                ObjectNode t = tensors.addObject();
                t.put("name", e.getKey());
                t.put("file", file);
            }
        });
    }

    /** Writes a model's tensors and its model.json's entries for them into a staging folder. */
    private interface TensorWriter {
        void write(Path tmp, ObjectNode root, boolean f64) throws IOException;
    }

    /**
     * Stages a model folder next to {@code dir} (header, tensors, provenance), then moves it into place
     * atomically, replacing an older one; nothing half-written is left on failure.
     */
    private static void writeFolder(Network net, Path dir, Map<String, Object> provenance, TensorWriter tensors)
            throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + ".tmp-");
        try {
            boolean f64 = net.dataType() == DataType.DOUBLE;
            ObjectNode root = header(net, f64);
            tensors.write(tmp, root, f64);
            root.set("provenance", JSON.valueToTree(provenance == null ? Map.of() : provenance));
            JSON.writeValue(tmp.resolve("model.json").toFile(), root);
            replace(tmp, dir);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
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

    public static void save(DenseNet net, Path dir, Map<String, Object> provenance) throws IOException {
        writeFolder(net, dir, provenance, (tmp, root, f64) -> {
            ArrayNode layers = root.putArray("layers");
            for (int l = 0; l < net.numLayers(); l++) {
                String w = "layer" + l + ".weight.npy";
                String b = "layer" + l + ".bias.npy";
                Npy.write(tmp.resolve(w), Host.pull(net.weight(l)), net.weight(l).shape(), f64);
                Npy.write(tmp.resolve(b), Host.pull(net.bias(l)), new long[] {net.sizes()[l + 1]}, f64);
                ObjectNode layer = layers.addObject();
                layer.put("weight", w);
                layer.put("bias", b);
            }
        });
    }

    private static void replace(Path tmp, Path dir) throws IOException {
        Path old = null;
        if (Files.exists(dir)) {
            old = Files.createTempDirectory(dir.toAbsolutePath().getParent(), "." + dir.getFileName() + ".old-");
            Files.delete(old);
            Files.move(dir, old);
        }
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, dir);
        }
        if (old != null) {
            deleteTree(old);
        }
    }

    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    /** Loads a dense model folder in the data type recorded in its model.json. */
    public static DenseNet load(Path dir) throws IOException {
        return load(dir, null);
    }

    /** Loads a dense model folder, converting to {@code type} when it is not null. */
    public static DenseNet load(Path dir, DataType type) throws IOException {
        Network n = loadNetwork(dir, type);
        if (n instanceof DenseNet d) {
            return d;
        }
        throw new IOException(dir.resolve("model.json") + ": a " + n.describe() + " model, not a dense one");
    }

    /** Loads any model folder (dense or graph), converting to {@code type} when it is not null. */
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
        JsonNode arch = root.path("architecture");
        String kind = arch.path("type").asText();
        if (!"dense".equals(kind) && !"graph".equals(kind)) {
            throw new IOException(meta + ": architecture.type '" + kind + "' is not supported (dense or graph)");
        }
        Normalization norm;
        try {
            norm = new Normalization(doubles(root.path("normalization").path("mean"), meta, "normalization.mean"),
                    doubles(root.path("normalization").path("std"), meta, "normalization.std"));
        } catch (IllegalArgumentException e) {
            throw new IOException(meta + ": " + e.getMessage(), e);
        }
        DataType dt = type != null ? type : "float64".equals(root.path("dtype").asText()) ? DataType.DOUBLE : DataType.FLOAT;
        if ("graph".equals(kind)) {
            return loadGraph(dir, meta, root, arch, norm, dt);
        }
        int[] sizes = ints(arch.path("sizes"), meta, "architecture.sizes");
        Activation act;
        try {
            act = new Activation(arch.path("activation").asText(), arch.path("alpha").asDouble(0));
        } catch (IllegalArgumentException e) {
            throw new IOException(meta + ": " + e.getMessage(), e);
        }
        JsonNode layers = root.path("layers");
        if (!layers.isArray() || layers.size() != sizes.length - 1) {
            throw new IOException(meta + ": 'layers' must list " + (sizes.length - 1) + " dense layers");
        }
        double[] flat = new double[Math.toIntExact(DenseNet.numParams(sizes))];
        int off = 0;
        for (int l = 0; l < sizes.length - 1; l++) {
            JsonNode layer = layers.get(l);
            double[] w = readArray(dir, layer.path("weight").asText("layer" + l + ".weight.npy"),
                    new long[] {sizes[l + 1], sizes[l]});
            double[] b = readArray(dir, layer.path("bias").asText("layer" + l + ".bias.npy"), new long[] {sizes[l + 1]});
            System.arraycopy(w, 0, flat, off, w.length);
            off += w.length;
            System.arraycopy(b, 0, flat, off, b.length);
            off += b.length;
        }
        try {
            return DenseNet.of(sizes, act, norm, Host.array(flat, dt, flat.length));
        } catch (IllegalArgumentException e) {
            throw new IOException(meta + ": " + e.getMessage(), e);
        }
    }

    private static Network loadGraph(Path dir, Path meta, JsonNode root, JsonNode arch, Normalization norm, DataType dt)
            throws IOException {
        GraphNet shape;
        try {
            shape = GraphNet.of(GraphNet.inputShapeOf(arch), (ArrayNode) arch.path("layers"), norm,
                    org.nd4j.linalg.factory.Nd4j.zeros(DataType.DOUBLE, Network.numParams(arch)));
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IOException(meta + ": " + e.getMessage(), e);
        }
        java.util.Map<String, String> files = new java.util.HashMap<>();
        for (JsonNode t : root.path("tensors")) {
            files.put(t.path("name").asText(), t.path("file").asText());
        }
        double[] flat = new double[Math.toIntExact(shape.params().length())];
        for (Map.Entry<String, Layer.Param> e : shape.namedTensors().entrySet()) {
            String file = files.getOrDefault(e.getKey(), e.getKey() + ".npy");
            if (!files.containsKey(e.getKey()) && !Files.exists(dir.resolve(file))) {
                throw new IOException(meta + ": no file for parameter tensor '" + e.getKey() + "' (expected " + file + ")");
            }
            double[] v = readArray(dir, file, e.getValue().shape());
            System.arraycopy(v, 0, flat, Math.toIntExact(e.getValue().offset()), v.length);
        }
        return shape.withParams(Host.array(flat, dt, flat.length));
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
        Path local = org.rollspark.util.RemoteFolders.localPath(location);
        if (local != null) {
            save(net, local, provenance);
            return;
        }
        Path tmp = Files.createTempDirectory("roll-model-");
        try {
            save(net, tmp.resolve("model"), provenance);
            org.rollspark.util.RemoteFolders.publish(tmp.resolve("model"), location, conf, null);
        } finally {
            deleteTree(tmp);
        }
    }

    /** A model folder's network and provenance, from a location on any Hadoop file system. */
    public record Loaded(Network network, JsonNode provenance) {}

    public static Loaded load(String location, org.apache.hadoop.conf.Configuration conf) throws IOException {
        Path local = org.rollspark.util.RemoteFolders.localPath(location);
        if (local != null) {
            Network n = loadNetwork(local, null);
            return new Loaded(n, provenance(local));
        }
        Path copy = org.rollspark.util.RemoteFolders.fetch(location, conf);
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

    private static int[] ints(JsonNode node, Path meta, String key) throws IOException {
        if (!node.isArray() || node.isEmpty()) {
            throw new IOException(meta + ": '" + key + "' must be a list of integers");
        }
        int[] out = new int[node.size()];
        for (int i = 0; i < out.length; i++) {
            if (!node.get(i).canConvertToInt() || node.get(i).asInt() < 1) {
                throw new IOException(meta + ": '" + key + "'[" + i + "] = " + node.get(i) + " is not a positive integer");
            }
            out[i] = node.get(i).asInt();
        }
        return out;
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
