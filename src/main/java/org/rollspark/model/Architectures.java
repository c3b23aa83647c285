package org.rollspark.model;

import static org.rollspark.config.Setting.Type.INTS;
import static org.rollspark.config.Setting.Type.OBJECTS;
import static org.rollspark.config.Setting.Type.STRING;
import static org.rollspark.config.Setting.oneOf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.config.Setting;
import org.rollspark.dense.DenseNet;
import org.rollspark.graph.GraphNet;
import org.rollspark.graph.LayerSpecs;
import org.rollspark.net.Activation;
import org.rollspark.net.Init;
import org.rollspark.net.Network;
import org.rollspark.net.Normalization;

/**
 * The architecture factory: builds a {@link Network} from its model.json architecture
 * ({@code {"type": "dense", "sizes": [...], "activation": ..., "alpha": ...}} or {@code {"type":
 * "graph", "input_shape": [...], "layers": [...]}}). The only place that knows every kind of network;
 * a new kind is added here and nowhere else outside its own package.
 */
public final class Architectures {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<String> TYPE = SETTINGS.add(Setting.of("net.type", STRING, "dense",
            "dense: fully connected (net.hidden, net.activation); graph: any layer list (net.inputShape, "
                    + "net.layers; README, \"Architectures\").", oneOf(List.of("dense", "graph"))).main());
    public static final Setting<List<Integer>> HIDDEN = SETTINGS.add(Setting.of("net.hidden", INTS, List.of(300, 300),
            "dense: hidden widths.", v -> {
                if (v.isEmpty() || v.stream().anyMatch(h -> h < 1)) {
                    throw new IllegalArgumentException("must list at least one width >= 1");
                }
            }).main());
    public static final Setting<String> ACTIVATION = SETTINGS.add(Setting.of("net.activation", STRING, "relu",
            "relu, or leaky_relu:ALPHA.", Activation::parse).main());
    public static final Setting<String> INIT = SETTINGS.add(Setting.of("net.init", STRING, "uniform_fan_in",
            "uniform_fan_in (PyTorch's nn.Linear default, the paper's) or he_normal.", Init::parse).main());
    public static final Setting<String> DTYPE = SETTINGS.add(Setting.of("net.dtype", STRING, "float32",
            "float32, or float64 for verification.", oneOf(List.of("float32", "float64"))).main());
    public static final Setting<List<Integer>> INPUT_SHAPE = SETTINGS.add(Setting.of("net.inputShape", INTS, List.of(1, 28, 28),
            "graph nets: the input of one example as [features], [steps, features] (an image's rows as time steps "
                    + "for a recurrent net) or [channels, height, width]; it must hold the data's feature count.",
            v -> {
                if (v.isEmpty() || v.size() > 3 || v.stream().anyMatch(s -> s < 1)) {
                    throw new IllegalArgumentException("must be [features], [steps, features] or [channels, height, width]");
                }
            }).main());
    public static final Setting<String> LAYERS = SETTINGS.add(Setting.of("net.layers", OBJECTS, "[]",
            "graph nets: the layers, e.g. [{type = conv2d, filters = 8, kernel = 3, padding = 1}, {type = relu}, "
                    + "{type = global_avgpool}, {type = dense, units = 10}]; the last must give one output per class.")
            .main());

    private Architectures() {}

    /**
     * A freshly initialised network for {@code features} inputs and {@code classes} outputs, as the settings say: {@code
     * net.type = dense} (net.hidden, net.activation) or {@code graph} (net.inputShape, net.layers, whose last dense
     * layer must have one unit per class); with train.initModel set, that network (ONNX file or model folder) to
     * fine-tune, as it is (the net.* settings do not apply).
     */
    public static Network network(Setting.Values v, int features, int classes, Normalization normalization) {
        String init = v.get(org.rollspark.train.TrainConfig.INIT_MODEL);
        long seed = v.get(org.rollspark.train.TrainConfig.SEED);
        if (!init.isEmpty()) {
            return pretrained(init, features, classes).castTo(dataType(v));
        }
        if (v.get(TYPE).equals("dense")) {
            List<Integer> h = v.get(HIDDEN);
            int[] sizes = new int[h.size() + 2];
            sizes[0] = features;
            for (int i = 0; i < h.size(); i++) {
                sizes[i + 1] = h.get(i);
            }
            sizes[sizes.length - 1] = classes;
            return init(dense(sizes, Activation.parse(v.get(ACTIVATION))), normalization, Init.parse(v.get(INIT)), seed,
                    dataType(v));
        }
        int[] shape = v.get(INPUT_SHAPE).stream().mapToInt(Integer::intValue).toArray();
        int size = 1;
        for (int d : shape) {
            size *= d;
        }
        if (size != features) {
            throw new IllegalArgumentException(INPUT_SHAPE + " " + java.util.Arrays.toString(shape) + " holds " + size
                    + " values but the data has " + features + " features per example");
        }
        ArrayNode layers;
        try {
            layers = (ArrayNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(v.get(LAYERS));
        } catch (java.io.IOException | ClassCastException e) {
            throw new IllegalArgumentException(LAYERS + " must be a list of layer objects: " + e.getMessage(), e);
        }
        Network net;
        try {
            net = init(graph(shape, layers), normalization, Init.parse(v.get(INIT)), seed, dataType(v));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(LAYERS + ": " + e.getMessage(), e);
        }
        if (net.outputSize() != classes) {
            throw new IllegalArgumentException(LAYERS + ": the last layer gives " + net.outputSize()
                    + " outputs but the data has " + classes + " classes");
        }
        return net;
    }

    /** The type the network computes in (net.dtype). */
    public static DataType dataType(Setting.Values v) {
        return v.get(DTYPE).equals("float64") ? DataType.DOUBLE : DataType.FLOAT;
    }

    /** The network of train.initModel; its input size and classes must be the data's. */
    private static Network pretrained(String location, int features, int classes) {
        Network net;
        try {
            net = location.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx") ? OnnxImport.load(java.nio.file.Path.of(
                    location)).network() : ModelIO.load(location, new org.apache.hadoop.conf.Configuration()).network();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        if (net.inputSize() != features || net.outputSize() != classes) {
            throw new IllegalArgumentException(org.rollspark.train.TrainConfig.INIT_MODEL + " " + location + " takes "
                    + net.inputSize() + " inputs and gives " + net.outputSize() + " classes; the data have " + features
                    + " and " + classes);
        }
        return net;
    }

    /** The model.json architecture of a dense net. */
    public static ObjectNode dense(int[] sizes, Activation activation) {
        return DenseNet.architecture(sizes, activation);
    }

    /** The model.json architecture of a graph net. */
    public static ObjectNode graph(int[] inputShape, ArrayNode layers) {
        return GraphNet.architecture(inputShape, layers);
    }

    /**
     * A network over the given flat parameter vector (used as is).
     *
     * @throws IllegalArgumentException for an unknown type or an invalid architecture, naming the key
     */
    public static Network of(JsonNode arch, Normalization normalization, INDArray params) {
        return switch (type(arch)) {
            case "dense" -> DenseNet.of(DenseNet.sizesOf(arch), DenseNet.activationOf(arch), normalization, params);
            default -> GraphNet.of(LayerSpecs.inputShape(arch), layers(arch), normalization, params);
        };
    }

    /** Number of parameters of an architecture. */
    private static long numParams(JsonNode arch) {
        return switch (type(arch)) {
            case "dense" -> DenseNet.numParams(DenseNet.sizesOf(arch));
            default -> GraphNet.numParams(LayerSpecs.inputShape(arch), layers(arch));
        };
    }

    /** A freshly initialised network (seeded). */
    public static Network init(JsonNode arch, Normalization normalization, Init init, long seed, DataType type) {
        return switch (type(arch)) {
            case "dense" -> DenseNet.init(DenseNet.sizesOf(arch), DenseNet.activationOf(arch), normalization, init, seed, type);
            default -> GraphNet.init(LayerSpecs.inputShape(arch), layers(arch), normalization, init, seed, type);
        };
    }

    /** A zero-parameter network of an architecture, for its shapes and tensor names. */
    public static Network shape(JsonNode arch, Normalization normalization) {
        return of(arch, normalization, org.nd4j.linalg.factory.Nd4j.zeros(DataType.DOUBLE, numParams(arch)));
    }

    private static String type(JsonNode arch) {
        String type = arch.path("type").asText();
        if (!type.equals("dense") && !type.equals("graph")) {
            throw new IllegalArgumentException("architecture.type '" + type + "' is not supported (dense or graph)");
        }
        return type;
    }

    private static ArrayNode layers(JsonNode arch) {
        if (!arch.path("layers").isArray()) {
            throw new IllegalArgumentException("architecture.layers must be a list of layers");
        }
        return (ArrayNode) arch.path("layers");
    }
}
