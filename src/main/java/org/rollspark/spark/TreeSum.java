package org.rollspark.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.function.Function2;
import scala.Tuple2;

/**
 * Per-shard results added up in one fixed tree: groups of {@link #FAN_IN} adjacent shards, then groups of
 * those groups, until at most {@code FAN_IN} partial sums are left, which the driver adds to the zero in
 * order. Each group adds its members in index order, so the bits are the same whatever order tasks finish
 * in, after retries, and wherever a level is computed: on the executors ({@link #onSpark}) or in one JVM
 * ({@link Stream}). The driver holds at most {@code FAN_IN} results, whatever the worker count.
 */
final class TreeSum {
    /** Members per group; with at most this many shards the driver adds the results itself (no shuffle). */
    static final int FAN_IN = 4;

    private TreeSum() {}

    /** Levels of groups formed before the driver's final fold, for shards indexed 0..n-1. */
    static int levels(int n) {
        int l = 0;
        for (long c = n; c > FAN_IN; c = (c + FAN_IN - 1) / FAN_IN) {
            l++;
        }
        return l;
    }

    /** {@code add(a, b)}, its checked exceptions unchecked. */
    static <R> R call(Function2<R, R, R> add, R a, R b) {
        try {
            return add.call(a, b);
        } catch (Exception e) {
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }

    /**
     * The sum of (shard index, result) pairs of {@code n} shards, the groups formed on the executors (one
     * shuffle per level), the last at most {@code FAN_IN} partial sums folded here into {@code zero}.
     */
    static <R> R onSpark(JavaPairRDD<Integer, R> results, int n, R zero, Function2<R, R, R> add) {
        JavaPairRDD<Integer, R> level = results;
        long count = n;
        for (int l = 0; l < levels(n); l++) {
            count = (count + FAN_IN - 1) / FAN_IN;
            level = level.mapToPair(t -> new Tuple2<>(t._1() / FAN_IN, t))
                    .groupByKey(new HashPartitioner((int) Math.max(1, Math.min(count, Integer.MAX_VALUE))))
                    .mapValues(new GroupSum<>(add));
        }
        List<Tuple2<Integer, R>> top = new ArrayList<>(level.collect());
        top.sort(Comparator.comparing(Tuple2::_1));
        R acc = zero;
        for (Tuple2<Integer, R> t : top) {
            acc = call(add, acc, t._2());
        }
        return acc;
    }

    /** One group's members added in index order, the first one the accumulator. */
    private static final class GroupSum<R> implements org.apache.spark.api.java.function.Function<Iterable<Tuple2<Integer, R>>, R> {
        private static final long serialVersionUID = 1L;
        private final Function2<R, R, R> add;

        GroupSum(Function2<R, R, R> add) {
            this.add = add;
        }

        @Override
        public R call(Iterable<Tuple2<Integer, R>> members) {
            List<Tuple2<Integer, R>> sorted = new ArrayList<>();
            members.forEach(sorted::add);
            sorted.sort(Comparator.comparing(Tuple2::_1));
            R acc = null;
            for (Tuple2<Integer, R> t : sorted) {
                acc = acc == null ? t._2() : TreeSum.call(add, acc, t._2());
            }
            return acc;
        }
    }

    /**
     * The same tree fed one shard at a time in index order, holding one running group sum per level: the
     * bits of {@link #onSpark} for the same results.
     */
    static final class Stream<R> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final int levels;
        private final Function2<R, R, R> add;
        private final List<R> acc = new ArrayList<>();
        private final int[] group;
        private R top;

        Stream(int n, R zero, Function2<R, R, R> add) {
            this.levels = levels(n);
            this.add = add;
            this.group = new int[levels];
            for (int l = 0; l < levels; l++) {
                acc.add(null);
            }
            this.top = zero;
        }

        /** Adds shard {@code index}'s result (indices must come in increasing order; a null result is no result). */
        void add(int index, R r) {
            if (r != null) {
                push(0, index, r);
            }
        }

        private void push(int level, int index, R r) {
            if (level == levels) {
                top = call(add, top, r);
                return;
            }
            int g = index / FAN_IN;
            if (acc.get(level) != null && group[level] != g) {
                flush(level);
            }
            group[level] = g;
            acc.set(level, acc.get(level) == null ? r : call(add, acc.get(level), r));
        }

        private void flush(int level) {
            R r = acc.get(level);
            acc.set(level, null);
            push(level + 1, group[level], r);
        }

        /** The total. */
        R finish() {
            for (int l = 0; l < levels; l++) {
                if (acc.get(l) != null) {
                    flush(l);
                }
            }
            return top;
        }
    }
}
