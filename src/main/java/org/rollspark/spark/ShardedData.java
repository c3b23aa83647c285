package org.rollspark.spark;

import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.rollspark.data.LabeledData;

/**
 * A dataset living on the executors: one {@link LabeledData} shard per partition of a cached RDD,
 * with what the driver needs to know about it (size, example shape, classes, fingerprint) but not
 * the examples themselves.
 */
public final class ShardedData {
    private final String name;
    private final JavaRDD<LabeledData> shards;
    private final long size;
    private final int largest;
    private final int[] shape;
    private final int classes;
    private final boolean lengths;
    private final String fingerprint;

    ShardedData(String name, JavaRDD<LabeledData> shards, long size, int largest, int[] shape, int classes, boolean lengths,
            String fingerprint) {
        this.name = name;
        this.shards = shards;
        this.size = size;
        this.largest = largest;
        this.shape = shape.clone();
        this.classes = classes;
        this.lengths = lengths;
        this.fingerprint = fingerprint;
    }

    /**
     * Driver-side data cut into {@code parts} balanced seeded shards ({@link LabeledData#shards}) and
     * cached on the executors. The lineage is cut (local checkpoint), so later tasks reference the
     * cached blocks instead of carrying the data again.
     */
    public static ShardedData of(JavaSparkContext sc, LabeledData data, int parts, long seed) {
        int n = Math.max(1, Math.min(parts, data.size()));
        LabeledData[] pieces = data.shards(n, seed);
        sc.setJobDescription("roll: distribute " + n + " shards of " + data.name());
        JavaRDD<LabeledData> rdd = sc.parallelize(Arrays.asList(pieces), n).persist(StorageLevel.MEMORY_AND_DISK());
        rdd.rdd().localCheckpoint();
        rdd.count();
        int largest = 0;
        for (LabeledData p : pieces) {
            largest = Math.max(largest, p.size());
        }
        return new ShardedData(data.name(), rdd, data.size(), largest, data.shape(), data.numClasses(), data.hasLengths(),
                data.fingerprint());
    }

    /** Wraps cached shards (one per partition); sizes are counted on the executors. */
    static ShardedData of(String name, JavaRDD<LabeledData> shards, int[] shape, int classes, boolean lengths,
            String fingerprint) {
        List<Integer> sizes = shards.map(LabeledData::size).collect();
        long size = 0;
        int largest = 0;
        for (int s : sizes) {
            size += s;
            largest = Math.max(largest, s);
        }
        return new ShardedData(name, shards, size, largest, shape, classes, lengths, fingerprint);
    }

    public String name() {
        return name;
    }

    public JavaRDD<LabeledData> shards() {
        return shards;
    }

    public int numShards() {
        return shards.getNumPartitions();
    }

    public long size() {
        return size;
    }

    /** Examples in the largest shard. */
    public int largest() {
        return largest;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int numFeatures() {
        int d = 1;
        for (int s : shape) {
            d *= s;
        }
        return d;
    }

    public int numClasses() {
        return classes;
    }

    /** True for padded sequences with per-example lengths. */
    public boolean hasLengths() {
        return lengths;
    }

    public String fingerprint() {
        return fingerprint;
    }

    /** Up to n examples of the first shard (a small probe fetched to the driver). */
    public LabeledData sample(int n) {
        return shards.first().head(n);
    }

    /** Drops the cached shards from the executors. */
    public void unpersist() {
        shards.unpersist(false);
    }
}
