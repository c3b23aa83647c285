package org.rollspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/** The tree of ordered partial sums: the same bits on Spark and in process, and at most FAN_IN results on the driver. */
class TreeSumTest {
    static final AtomicInteger DRIVER_ADDS = new AtomicInteger();

    /** Addition that counts the calls made outside tasks (on the driver). */
    static final Function2<double[], double[], double[]> ADD = (a, b) -> {
        if (TaskContext.get() == null) {
            DRIVER_ADDS.incrementAndGet();
        }
        double[] s = a.clone();
        s[0] += b[0];
        return s;
    };

    /** The tree written out: groups of FAN_IN by index, level after level, then a fold into zero. */
    static double reference(Double[] r) {
        List<Double> level = new ArrayList<>(java.util.Arrays.asList(r));
        for (int l = 0; l < TreeSum.levels(r.length); l++) {
            List<Double> next = new ArrayList<>();
            for (int g = 0; g < level.size(); g += TreeSum.FAN_IN) {
                Double acc = null;
                for (int k = g; k < Math.min(level.size(), g + TreeSum.FAN_IN); k++) {
                    if (level.get(k) != null) {
                        acc = acc == null ? level.get(k) : acc + level.get(k);
                    }
                }
                next.add(acc);
            }
            level = next;
        }
        double acc = 0;
        for (Double v : level) {
            if (v != null) {
                acc += v;
            }
        }
        return acc;
    }

    @Test
    void levelsGrowWithTheLogOfTheShards() {
        assertEquals(0, TreeSum.levels(1));
        assertEquals(0, TreeSum.levels(4));
        assertEquals(1, TreeSum.levels(5));
        assertEquals(1, TreeSum.levels(16));
        assertEquals(2, TreeSum.levels(17));
        assertEquals(3, TreeSum.levels(256));
    }

    @Test
    void sparkAndInProcessGiveTheTreesBits() {
        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("tree").set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            sc.setLogLevel("OFF");
            for (int n : new int[] {3, 7, 16, 37, 200}) {
                java.util.SplittableRandom rng = new java.util.SplittableRandom(n);
                Double[] r = new Double[n];
                for (int i = 0; i < n; i++) {
                    // magnitudes from 1e-8 to 1e8 and some shards without a result: sums that depend on their order
                    r[i] = i % 11 == 5 ? null : (rng.nextDouble() - 0.5) * Math.pow(10, rng.nextInt(-8, 9));
                }
                List<Tuple2<Integer, double[]>> pairs = new ArrayList<>();
                TreeSum.Stream<double[]> stream = new TreeSum.Stream<>(n, new double[1], ADD);
                for (int i = 0; i < n; i++) {
                    if (r[i] != null) {
                        pairs.add(new Tuple2<>(i, new double[] {r[i]}));
                    }
                    stream.add(i, r[i] == null ? null : new double[] {r[i]});
                }
                java.util.Collections.reverse(pairs); // arrival order does not matter
                DRIVER_ADDS.set(0);
                double spark = TreeSum.onSpark(JavaPairRDD.fromJavaRDD(sc.parallelize(pairs, 5)), n, new double[1], ADD)[0];
                assertTrue(DRIVER_ADDS.get() <= TreeSum.FAN_IN, DRIVER_ADDS.get() + " results added on the driver");
                double expected = reference(r);
                assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(spark), n + " shards on Spark");
                assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(stream.finish()[0]),
                        n + " shards in process");
            }
        }
    }
}
