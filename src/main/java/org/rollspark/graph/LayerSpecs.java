package org.rollspark.graph;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.rollspark.net.Activation;

/**
 * The JSON layer list of a graph architecture (README, "Architectures"): parsed into {@link Layer}s
 * with every shape checked, unknown keys and unsupported layers refused with the path of the
 * offending entry ({@code layers[3].main[0]}).
 */
public final class LayerSpecs {
    private LayerSpecs() {}

    /** The input shape of a model.json graph architecture. */
    public static int[] inputShape(JsonNode arch) {
        JsonNode n = arch.path("input_shape");
        if (!n.isArray() || n.isEmpty() || n.size() > 3) {
            throw new IllegalArgumentException("architecture.input_shape must be [features], [steps, features] or"
                    + " [channels, height, width]");
        }
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).canConvertToInt() || n.get(i).asInt() < 1) {
                throw new IllegalArgumentException("architecture.input_shape[" + i + "] = " + n.get(i)
                        + " is not a positive integer");
            }
            out[i] = n.get(i).asInt();
        }
        return out;
    }

    private static final Set<String> COMMON = Set.of("type");

    static List<Layer> build(JsonNode specs, int[] in, String where) {
        if (specs == null || !specs.isArray()) {
            throw new IllegalArgumentException("architecture: '" + where + "' must be a list of layers");
        }
        List<Layer> layers = new ArrayList<>();
        int[] shape = in;
        int i = 0;
        for (JsonNode spec : specs) {
            Layer l = layer(spec, shape, where + "[" + i++ + "]");
            layers.add(l);
            shape = l.outShape();
        }
        return layers;
    }

    private static Layer layer(JsonNode spec, int[] in, String where) {
        if (!spec.isObject() || !spec.hasNonNull("type")) {
            throw new IllegalArgumentException("architecture: " + where + " must be an object with a 'type'");
        }
        String type = spec.get("type").asText().toLowerCase(java.util.Locale.ROOT);
        try {
            return switch (type) {
                case "dense", "linear" -> {
                    keys(spec, "units", "bias");
                    yield new Dense(in, need(spec, "units"), spec.path("bias").asBoolean(true));
                }
                case "conv2d", "conv" -> {
                    keys(spec, "filters", "kernel", "stride", "padding", "bias");
                    yield new Conv2d(in, need(spec, "filters"), spec.path("kernel").asInt(3), spec.path("stride").asInt(1),
                            spec.path("padding").asInt(0), spec.path("bias").asBoolean(true));
                }
                case "avgpool", "avg_pool", "avgpool2d" -> {
                    keys(spec, "kernel");
                    yield AvgPool.window(in, need(spec, "kernel"));
                }
                case "global_avgpool", "global_avg_pool" -> {
                    keys(spec);
                    yield AvgPool.global(in);
                }
                case "batchnorm", "batch_norm", "bn" -> {
                    keys(spec, "eps", "momentum");
                    yield new BatchNorm(in, spec.path("eps").asDouble(BatchNorm.DEFAULT_EPS),
                            spec.path("momentum").asDouble(BatchNorm.DEFAULT_MOMENTUM));
                }
                case "act", "activation" -> {
                    keys(spec, "activation");
                    yield new Act(in, Activation.parse(spec.path("activation").asText("relu")));
                }
                case "relu", "leaky_relu" -> {
                    keys(spec, "alpha");
                    yield new Act(in, type.equals("relu") ? Activation.relu()
                            : Activation.leakyRelu(spec.path("alpha").asDouble(0.01)));
                }
                case "residual" -> {
                    keys(spec, "main", "shortcut", "activation");
                    List<Layer> main = build(spec.get("main"), in, where + ".main");
                    if (main.isEmpty()) {
                        throw new IllegalArgumentException("the main branch is empty");
                    }
                    List<Layer> shortcut = spec.has("shortcut") ? build(spec.get("shortcut"), in, where + ".shortcut")
                            : List.of();
                    yield new Residual(in, new Sequence(in, main), new Sequence(in, shortcut),
                            Activation.parse(spec.path("activation").asText("relu")));
                }
                case "rnn", "recurrent" -> {
                    keys(spec, "hidden", "activation", "recurrent_init");
                    String ri = spec.path("recurrent_init").asText("uniform");
                    if (!ri.equals("uniform") && !ri.equals("identity")) {
                        throw new IllegalArgumentException("recurrent_init '" + ri + "': use uniform or identity");
                    }
                    yield new Recurrent(in, need(spec, "hidden"), Activation.parse(spec.path("activation").asText("relu")),
                            ri.equals("identity"));
                }
                case "maxpool", "max_pool", "maxpool2d" -> throw new IllegalArgumentException(
                        "max pooling is not supported: it is piecewise linear but adds one constraint per (winner, loser)"
                                + " pair to every region; use avgpool, as the paper does for its ResNet");
                case "lstm", "gru", "sigmoid", "tanh", "softplus", "elu", "gelu" -> throw new IllegalArgumentException(
                        "'" + type + "' is not piecewise linear, so it has no linear regions to certify;"
                                + " use relu or leaky_relu units");
                default -> throw new IllegalArgumentException("unknown layer type '" + type + "' (known: dense, conv2d,"
                        + " avgpool, global_avgpool, batchnorm, act, relu, leaky_relu, residual, rnn)");
            };
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("architecture: " + where + " (" + type + "): " + e.getMessage(), e);
        }
    }

    private static int need(JsonNode spec, String key) {
        if (!spec.hasNonNull(key) || !spec.get(key).canConvertToInt()) {
            throw new IllegalArgumentException("needs an integer '" + key + "'");
        }
        return spec.get(key).asInt();
    }

    private static void keys(JsonNode spec, String... allowed) {
        Set<String> ok = new java.util.HashSet<>(COMMON);
        ok.addAll(Arrays.asList(allowed));
        for (Iterator<String> it = spec.fieldNames(); it.hasNext();) {
            String k = it.next();
            if (!ok.contains(k)) {
                throw new IllegalArgumentException("unknown key '" + k + "' (allowed: " + String.join(", ", allowed) + ")");
            }
        }
    }
}
