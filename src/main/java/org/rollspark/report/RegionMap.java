package org.rollspark.report;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.net.Network;
import org.rollspark.region.Certification;
import org.rollspark.region.RegionCertifier;
import org.rollspark.spark.NetState;

/**
 * The linear regions of a network on 2-D inputs over a square grid, certified on the executors: each
 * grid point's activation pattern (numbered in order of first appearance, row by row from the bottom)
 * and prediction, and the decision boundary between grid points.
 *
 * @param region the region number of each grid point, row-major from (lo, lo)
 * @param regions how many distinct regions the grid meets
 * @param boundary midpoints between horizontally or vertically adjacent grid points predicted differently
 */
record RegionMap(int[] region, int regions, List<double[]> boundary) {

    /** The map of {@code net} over [lo, hi]^2 with {@code side} points per side. */
    static RegionMap compute(SparkSession spark, Network net, double lo, double hi, int side) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        sc.setJobDescription("roll report: the region map of a 2-D model");
        int rows = Math.max(1, side / 8);
        List<int[]> blocks = new ArrayList<>();
        for (int r = 0; r < side; r += rows) {
            blocks.add(new int[] {r, Math.min(side, r + rows)});
        }
        NetState state = NetState.of(net);
        double step = (hi - lo) / (side - 1);
        List<Object[]> parts = new ArrayList<>(sc.parallelize(blocks, blocks.size()).map(b -> {
            org.rollspark.spark.TaskThreads.apply(); // the executor's BLAS check before it computes
            Network n = state.toNet();
            int count = (b[1] - b[0]) * side;
            float[] xy = new float[2 * count];
            for (int r = b[0], k = 0; r < b[1]; r++) {
                for (int c = 0; c < side; c++, k++) {
                    xy[2 * k] = (float) (lo + c * step);
                    xy[2 * k + 1] = (float) (lo + r * step);
                }
            }
            Certification cert = new RegionCertifier(n).certify(Nd4j.create(xy, new long[] {count, 2}));
            String[] hash = new String[count];
            int[] pred = new int[count];
            for (int i = 0; i < count; i++) {
                hash[i] = cert.pattern(i).hash();
                pred[i] = cert.pred(i);
            }
            return new Object[] {b[0], hash, pred};
        }).collect());
        int[] region = new int[side * side];
        int[] pred = new int[side * side];
        Map<String, Integer> numbers = new HashMap<>();
        parts.sort((a, b) -> Integer.compare((Integer) a[0], (Integer) b[0]));
        for (Object[] p : parts) {
            int at = (Integer) p[0] * side;
            String[] hash = (String[]) p[1];
            int[] pr = (int[]) p[2];
            for (int i = 0; i < hash.length; i++) {
                region[at + i] = numbers.computeIfAbsent(hash[i], h -> numbers.size());
                pred[at + i] = pr[i];
            }
        }
        List<double[]> boundary = new ArrayList<>();
        for (int r = 0; r < side; r++) {
            for (int c = 0; c < side; c++) {
                int i = r * side + c;
                if (c + 1 < side && pred[i] != pred[i + 1]) {
                    boundary.add(new double[] {lo + (c + 0.5) * step, lo + r * step});
                }
                if (r + 1 < side && pred[i] != pred[i + side]) {
                    boundary.add(new double[] {lo + c * step, lo + (r + 0.5) * step});
                }
            }
        }
        return new RegionMap(region, numbers.size(), boundary);
    }
}
