package org.rollspark.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.rollspark.Provenance;
import org.rollspark.config.Setting;
import org.rollspark.loss.RollLoss;
import org.rollspark.spark.SparkTrainConfig;
import org.rollspark.train.TrainConfig;

/**
 * A hyper-parameter grid over job settings, e.g. {@code {"loss.lambda": [0.5, 1, 2], "loss.c": [0.25, 1]}}:
 * every combination of the listed values, each a {@link Point} whose settings are checked like any
 * other job settings (type, the setting's own check, cross-setting checks) before anything runs. The
 * vanilla baseline, with the same seed, data, split and shards, comes with every grid.
 */
public final class SweepGrid {
    /** One combination: its position, the swept settings and a short hash of them (a stable point id). */
    public record Point(int index, Map<String, Object> settings, String id) {}

    private final List<Point> points;
    private final Point baseline;

    private SweepGrid(List<Point> points, Point baseline) {
        this.points = points;
        this.baseline = baseline;
    }

    /**
     * What a grid may sweep: what is trained per point (the data, its split and shards are loaded once, with
     * data.seed). train.seed is sweepable: a seed study trains the same settings from several initialisations
     * and data orders on the same split, and the selection then picks the best run, as the paper's authors did.
     */
    static boolean sweepable(String key) {
        return (key.startsWith("loss.") && !key.equals(RollLoss.TYPE.key())) || key.startsWith("train.")
                || key.startsWith("net.") || key.equals(TrainConfig.BATCH_SIZE.key())
                || key.equals(SparkTrainConfig.AVERAGING_FREQUENCY.key());
    }

    /**
     * The grid of {@code values} (setting key to the values it takes) over {@code base}. Values are
     * taken as their settings read them (1 and 1.0 are the same lambda), so point ids do not depend on
     * how a value was written.
     *
     * @throws IllegalArgumentException for an empty grid, a key that is not a setting or may not be
     *     swept, a key or value listed twice, an empty value list, a value its setting refuses, or more
     *     than {@code maxPoints} points; the message names the key and the value
     */
    public static SweepGrid of(Map<String, ? extends List<?>> values, JobConfig base, int maxPoints) {
        if (values.isEmpty()) {
            throw new IllegalArgumentException("the sweep grid is empty: list at least one setting and its values");
        }
        Map<String, List<?>> grid = new TreeMap<>(); // keys in a fixed order, whatever the file's
        long count = 1;
        for (Map.Entry<String, ? extends List<?>> e : values.entrySet()) {
            String key = e.getKey().startsWith("roll.") ? e.getKey().substring(5) : e.getKey();
            if (Settings.ROLL.get(key) == null) {
                throw new IllegalArgumentException("the sweep grid names roll." + key + ", which is not a setting");
            }
            if (!sweepable(key)) {
                throw new IllegalArgumentException("the sweep grid may not sweep roll." + key + ": it sweeps loss.*, train.*"
                        + " and net.* settings (not loss.type: the vanilla baseline comes with every grid),"
                        + " spark.batchSizePerWorker and spark.averagingFrequency; the data, its split and shards"
                        + " (data.*, data.seed included) are the same for every point");
            }
            if (grid.containsKey(key)) {
                throw new IllegalArgumentException("the sweep grid lists roll." + key + " twice");
            }
            if (e.getValue().isEmpty()) {
                throw new IllegalArgumentException("the sweep grid lists no values for roll." + key);
            }
            Setting<?> setting = Settings.ROLL.get(key);
            List<Object> resolved = new ArrayList<>();
            for (Object v : e.getValue()) {
                if (v == null) {
                    throw new IllegalArgumentException("the sweep grid lists a null value for roll." + key);
                }
                Object r;
                try {
                    r = base.with(Map.of(key, v)).get(setting);
                } catch (IllegalArgumentException | com.typesafe.config.ConfigException x) {
                    throw new IllegalArgumentException("sweep grid value " + v + " of roll." + key + ": " + x.getMessage(), x);
                }
                if (resolved.contains(r)) {
                    throw new IllegalArgumentException("the sweep grid lists the value " + v + " of roll." + key + " twice");
                }
                resolved.add(r);
            }
            grid.put(key, resolved);
            count *= e.getValue().size();
            if (count > maxPoints) {
                throw new IllegalArgumentException("the sweep grid has more than " + maxPoints
                        + " points (sweep.maxPoints); narrow it or raise the limit");
            }
        }
        List<Point> points = new ArrayList<>();
        List<String> keys = new ArrayList<>(grid.keySet());
        Collections.reverse(keys); // the last key varies fastest, the first slowest
        for (int i = 0; i < count; i++) {
            Map<String, Object> settings = new TreeMap<>();
            int rest = i;
            for (String k : keys) {
                List<?> vs = grid.get(k);
                settings.put(k, vs.get(rest % vs.size()));
                rest /= vs.size();
            }
            points.add(point(i, settings, base));
        }
        return new SweepGrid(List.copyOf(points), point(-1, Map.of(RollLoss.TYPE.key(), "vanilla"), base));
    }

    /** A point whose settings pass every check of {@code base.with(settings)}. */
    private static Point point(int index, Map<String, Object> settings, JobConfig base) {
        try {
            base.with(settings);
        } catch (IllegalArgumentException | com.typesafe.config.ConfigException e) {
            throw new IllegalArgumentException("sweep point " + settings + ": " + e.getMessage(), e);
        }
        return new Point(index, Map.copyOf(settings), Provenance.configHash(settings).substring(0, 12));
    }

    /** The grid's points, the first key (in key order) varying slowest. */
    public List<Point> points() {
        return points;
    }

    /** The vanilla model every grid is compared with. */
    public Point baseline() {
        return baseline;
    }
}
