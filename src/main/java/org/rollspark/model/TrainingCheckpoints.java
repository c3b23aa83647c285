package org.rollspark.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.loss.LossValue;
import org.rollspark.net.Network;
import org.rollspark.net.Npy;
import org.rollspark.train.EpochStats;
import org.rollspark.train.Optimizer;
import org.rollspark.util.Host;

/**
 * Resumable training checkpoints in a folder on any Hadoop file system.
 *
 * <p>Each checkpoint is a folder {@code epoch-N} (after epoch N) or {@code epoch-N-round-R} (after R
 * averaging rounds of epoch N): a model folder ({@link ModelIO}: model.json with provenance and the
 * resolved config, one .npy per tensor, loadable by {@code certify --model}) plus the optimiser state
 * ({@code optimizer-K.npy}), the best-so-far parameters ({@code best.npy}), the training state
 * ({@code state.json}: epoch, round, the epoch's running loss, history, best epoch and loss, optimiser
 * steps, config hash) and a {@code _COMPLETE} marker written last. It is staged under a hidden name and
 * renamed into place, so a folder without the marker (a driver killed while writing, or a store
 * without atomic rename) is never picked. Random draws (shard shuffles, sampled coordinates) are
 * functions of the seed, epoch, round and shard, so the position is the whole RNG state.
 */
public final class TrainingCheckpoints {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NAME = Pattern.compile("epoch-(\\d+)(?:-round-(\\d+))?");
    public static final String COMPLETE = "_COMPLETE";

    private final Path dir;
    private final FileSystem fs;
    private final Configuration conf;
    private final SortedMap<String, Object> settings;
    private final Set<String> explicit;
    private final Set<String> outside;

    /**
     * Checkpoints in {@code dir} of a run with these {@link #relevant} settings; {@code explicit} are the
     * keys its job file or command line set, {@code outside} those kept out of the run's identity. A checkpoint resumes only when it was written with the same
     * settings, compared key by key: a setting it does not know (added since) must not be set explicitly.
     */
    public TrainingCheckpoints(String dir, Configuration conf, SortedMap<String, Object> settings, Set<String> explicit,
            Set<String> outside) throws IOException {
        this.dir = new Path(dir);
        this.conf = conf;
        this.fs = RemoteFolders.fs(dir, conf);
        this.settings = Collections.unmodifiableSortedMap(new TreeMap<>(settings));
        this.explicit = Set.copyOf(explicit);
        this.outside = Set.copyOf(outside);
    }

    /**
     * The settings a checkpoint must match to resume: the resolved {@code config} without where output goes
     * ({@code output.*}, {@code sweep.*}), the BLAS kernel ({@code blas.*}: an execution choice; provenance records
     * the kernel) and the keys {@code outside} the run's identity (the trainer names them: how and where rounds run,
     * the epoch count, the checkpoint interval, the files a table was read from; none changes a bit of the epochs
     * trained), plus the training data's fingerprint (the rows themselves).
     */
    public static <V> SortedMap<String, V> relevant(Map<String, ? extends V> config, V dataFingerprint,
            Set<String> outside) {
        SortedMap<String, V> m = new TreeMap<>();
        config.forEach((k, v) -> {
            if (!k.startsWith("output.") && !k.startsWith("sweep.") && !k.startsWith("blas.") && !outside.contains(k)) {
                m.put(k, v);
            }
        });
        m.put("data.fingerprint", dataFingerprint);
        return m;
    }

    /** Where training stands: after {@code round} rounds of {@code epoch} ({@code round = -1}: the whole epoch). */
    public record State(int epoch, int round, LossValue epochLoss, List<EpochStats> history, int bestEpoch, double bestLoss,
            long optimizerSteps) {}

    /** A checkpoint read back: the state, the parameters, the optimiser state and the best-so-far parameters. */
    public record Resume(String name, State state, double[] params, double[][] optimizer, double[] best) {}

    public static String name(int epoch, int round) {
        return round < 0 ? "epoch-" + epoch : "epoch-" + epoch + "-round-" + round;
    }

    /** Writes a checkpoint and returns its path. */
    public String write(Network net, Optimizer opt, INDArray best, State st, Map<String, Object> provenance) throws IOException {
        String name = name(st.epoch(), st.round());
        java.nio.file.Path local = Files.createTempDirectory("roll-ckpt-");
        try {
            java.nio.file.Path model = local.resolve("model");
            ModelIO.save(net, model, provenance);
            boolean f64 = net.dataType() == org.nd4j.linalg.api.buffer.DataType.DOUBLE;
            INDArray[] state = opt.state();
            for (int i = 0; i < state.length; i++) {
                Npy.write(model.resolve("optimizer-" + i + ".npy"), Host.pull(state[i]), state[i].shape(), f64);
            }
            if (best != null) {
                Npy.write(model.resolve("best.npy"), Host.pull(best), best.shape(), f64);
            }
            Files.writeString(model.resolve("state.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson(st)));
            Path target = new Path(dir, name);
            RemoteFolders.publish(model, target.toString(), conf, COMPLETE);
            if (st.round() < 0) { // the epoch's round checkpoints are superseded
                for (FileStatus f : list()) {
                    Matcher m = NAME.matcher(f.getPath().getName());
                    if (m.matches() && m.group(2) != null && Integer.parseInt(m.group(1)) <= st.epoch()) {
                        fs.delete(f.getPath(), true);
                    }
                }
            }
            return target.toString();
        } finally {
            ModelIO.deleteTree(local);
        }
    }

    private FileStatus[] list() throws IOException {
        return fs.exists(dir) ? fs.listStatus(dir) : new FileStatus[0];
    }

    /**
     * The newest complete checkpoint (by epoch, then round; an epoch's end after its rounds), or null
     * when there is none. Refuses checkpoints written with another configuration.
     */
    public Resume newest() throws IOException {
        Path pick = null;
        long bestKey = -1;
        for (FileStatus f : list()) {
            Matcher m = NAME.matcher(f.getPath().getName());
            if (!f.isDirectory() || !m.matches() || !fs.exists(new Path(f.getPath(), COMPLETE))) {
                continue;
            }
            long key = Long.parseLong(m.group(1)) * (1L << 32) + (m.group(2) == null ? (1L << 31) : Long.parseLong(m.group(2)));
            if (key > bestKey) {
                bestKey = key;
                pick = f.getPath();
            }
        }
        if (pick == null) {
            return null;
        }
        java.nio.file.Path model = RemoteFolders.fetch(pick.toString(), conf);
        java.nio.file.Path local = model.getParent();
        try {
            JsonNode st = JSON.readTree(model.resolve("state.json").toFile());
            List<String> differ = differences(writtenWith(st, model, outside), JSON.valueToTree(settings), explicit);
            if (!differ.isEmpty()) {
                throw new IllegalArgumentException("checkpoint " + pick + " was written with other settings ("
                        + String.join("; ", differ) + "); choose another output.runId, or delete " + dir);
            }
            Network net = ModelIO.loadNetwork(model, null);
            List<double[]> opt = new ArrayList<>();
            for (int i = 0; Files.exists(model.resolve("optimizer-" + i + ".npy")); i++) {
                opt.add(Npy.read(model.resolve("optimizer-" + i + ".npy")).data());
            }
            double[] best = Files.exists(model.resolve("best.npy")) ? Npy.read(model.resolve("best.npy")).data() : null;
            return new Resume(pick.getName(), fromJson(st), Host.pull(net.params()), opt.toArray(new double[0][]), best);
        } finally {
            ModelIO.deleteTree(local);
        }
    }

    private ObjectNode toJson(State st) {
        ObjectNode o = JSON.createObjectNode();
        o.put("configHash", org.rollspark.Provenance.configHash(settings));
        o.set("settings", JSON.valueToTree(settings));
        o.put("epoch", st.epoch());
        o.put("round", st.round());
        o.set("epochLoss", loss(st.epochLoss()));
        ArrayNode h = o.putArray("history");
        for (EpochStats e : st.history()) {
            ObjectNode x = h.addObject();
            x.put("epoch", e.epoch());
            x.set("train", loss(e.train()));
            x.set("validation", loss(e.validation()));
            x.put("seconds", e.seconds());
            x.put("examplesPerSecond", e.examplesPerSecond());
        }
        o.put("bestEpoch", st.bestEpoch());
        if (Double.isFinite(st.bestLoss())) {
            o.put("bestLoss", st.bestLoss());
        } else {
            o.putNull("bestLoss");
        }
        o.put("optimizerSteps", st.optimizerSteps());
        o.put("rng", "derived from train.seed, epoch, round and shard (no other state)");
        return o;
    }

    /**
     * The settings a checkpoint was written with: its own record, or for checkpoints written before it kept
     * one, the resolved config and data fingerprint of its model's provenance.
     */
    private static JsonNode writtenWith(JsonNode state, java.nio.file.Path model, Set<String> outside)
            throws IOException {
        if (state.has("settings")) {
            return state.get("settings");
        }
        JsonNode prov = JSON.readTree(model.resolve("model.json").toFile()).path("provenance");
        Map<String, JsonNode> config = new TreeMap<>();
        prov.path("config").fields().forEachRemaining(e -> config.put(e.getKey(), e.getValue()));
        return JSON.valueToTree(relevant(config, prov.path("dataFingerprint"), outside));
    }

    /**
     * Where {@code there} (a checkpoint's settings) and {@code here} (this run's) differ, one "key: value there,
     * value here" each. Numbers compare by value (4 and 4.0 agree). A key only here is a setting added since
     * the checkpoint was written and agrees unless this run set it explicitly; a key only there differs.
     */
    static List<String> differences(JsonNode there, JsonNode here, Set<String> explicit) {
        Set<String> keys = new TreeSet<>();
        there.fieldNames().forEachRemaining(keys::add);
        here.fieldNames().forEachRemaining(keys::add);
        List<String> out = new ArrayList<>();
        for (String k : keys) {
            JsonNode a = there.get(k);
            JsonNode b = here.get(k);
            if (a == null && !explicit.contains(k)) {
                continue;
            }
            if (a == null || b == null || !same(a, b)) {
                out.add(k + ": " + (a == null ? "not a setting" : a) + " there, " + (b == null ? "not a setting" : b) + " here");
            }
        }
        return out;
    }

    private static boolean same(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            if (!Double.isFinite(a.doubleValue()) || !Double.isFinite(b.doubleValue())) {
                return Double.compare(a.doubleValue(), b.doubleValue()) == 0;
            }
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        if (a.isContainerNode() && b.isContainerNode() && a.getNodeType() == b.getNodeType() && a.size() == b.size()) {
            if (a.isArray()) {
                for (int i = 0; i < a.size(); i++) {
                    if (!same(a.get(i), b.get(i))) {
                        return false;
                    }
                }
                return true;
            }
            java.util.Iterator<String> names = a.fieldNames();
            while (names.hasNext()) {
                String n = names.next();
                if (!b.has(n) || !same(a.get(n), b.get(n))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }

    private static State fromJson(JsonNode o) {
        List<EpochStats> h = new ArrayList<>();
        for (JsonNode x : o.path("history")) {
            h.add(new EpochStats(x.path("epoch").asInt(), loss(x.path("train")), loss(x.path("validation")),
                    x.path("seconds").asDouble(), x.path("examplesPerSecond").asDouble()));
        }
        return new State(o.path("epoch").asInt(), o.path("round").asInt(), loss(o.path("epochLoss")), h,
                o.path("bestEpoch").asInt(), o.path("bestLoss").isNumber() ? o.path("bestLoss").asDouble()
                        : Double.POSITIVE_INFINITY, o.path("optimizerSteps").asLong());
    }

    private static JsonNode loss(LossValue v) {
        if (v == null) {
            return JSON.nullNode();
        }
        return JSON.createObjectNode().put("total", v.total()).put("crossEntropy", v.crossEntropy())
                .put("rollTerm", v.rollTerm()).put("correct", v.correct()).put("count", v.count());
    }

    private static LossValue loss(JsonNode o) {
        if (o == null || o.isNull() || o.isMissingNode()) {
            return null;
        }
        return new LossValue(o.path("total").asDouble(), o.path("crossEntropy").asDouble(), o.path("rollTerm").asDouble(),
                o.path("correct").asInt(), o.path("count").asInt());
    }
}
