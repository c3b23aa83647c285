package org.rollspark.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.rollspark.data.LabeledData;
import scala.Tuple2;

/**
 * The shards of a parameter-averaging run, one per worker, and how a function runs on each of them:
 * as Spark tasks over cached partitions ({@link #onSpark}), or as a loop in this JVM over shards held in
 * memory ({@link #inProcess}: a sweep point trained whole inside one Spark task). Either way the results
 * come back in shard order, so a run gives the same bits on both.
 */
abstract class Shards {
    /** What runs on one shard; null when the shard has nothing to contribute. */
    interface Task<R> extends Serializable {
        R call(int shard, LabeledData part);
    }

    /** A value every task reads: a broadcast on Spark, the object itself in process. */
    interface Shared<T> extends Serializable {
        T value();

        /** Frees what sharing took (a broadcast's blocks). */
        void release();
    }

    private final String name;
    private final String fingerprint;
    private final long size;
    private final int count;
    private final int largest;
    private final int numFeatures;

    private Shards(String name, String fingerprint, long size, int count, int largest, int numFeatures) {
        this.name = name;
        this.numFeatures = numFeatures;
        this.fingerprint = fingerprint;
        this.size = size;
        this.count = count;
        this.largest = largest;
    }

    /** The name of the data the shards were cut from. */
    String name() {
        return name;
    }

    String fingerprint() {
        return fingerprint;
    }

    /** Examples in all shards. */
    long size() {
        return size;
    }

    /** The number of shards (workers). */
    int count() {
        return count;
    }

    /** Examples in the largest shard. */
    int largest() {
        return largest;
    }

    int numFeatures() {
        return numFeatures;
    }

    abstract <T> Shared<T> share(T value);

    /** Runs {@code task} on every shard; its non-null results in shard order. */
    abstract <R> List<R> map(String description, Task<R> task);

    /**
     * The non-null results of {@code task} on every shard added up in one fixed tree by shard index
     * ({@link TreeSum}): the same bits on Spark and in process. Floating-point sums depend on their order,
     * and Spark's reduce and treeAggregate merge results in the order tasks finish; in this tree a run gives
     * the same bits whatever the timing, after retried tasks, lost executors or a resume from a checkpoint.
     * On Spark the groups are added on the executors and the driver holds at most {@link TreeSum#FAN_IN}
     * results; in process only one running group sum per tree level is held.
     */
    abstract <R> R reduce(String description, Task<R> task, R zero, Function2<R, R, R> add);

    /**
     * Runs {@code task} on every shard at once as one Spark barrier stage (all tasks start together, and
     * may reach each other through {@link org.apache.spark.BarrierTaskContext}); its non-null results in
     * shard order. Spark only: shards held in process have no such stage.
     */
    abstract <R> List<R> together(String description, Task<R> task);

    /** Shards cached on the executors (one partition each); tasks run as Spark jobs. */
    static Shards onSpark(JavaSparkContext sc, ShardedData data) {
        return new Shards(data.name(), data.fingerprint(), data.size(), data.numShards(), data.largest(), data.numFeatures()) {
            @Override
            <T> Shared<T> share(T value) {
                return new Broadcasted<>(sc.broadcast(value));
            }

            @Override
            <R> List<R> map(String description, Task<R> task) {
                List<R> out = new ArrayList<>();
                results(description, task).collect().forEach(t -> out.add(t._2()));
                return out;
            }

            @Override
            <R> R reduce(String description, Task<R> task, R zero, Function2<R, R, R> add) {
                return TreeSum.onSpark(results(description, task), data.numShards(), zero, add);
            }

            @Override
            <R> List<R> together(String description, Task<R> task) {
                sc.setJobDescription(description);
                TaskThreads.forStage(sc);
                scala.reflect.ClassTag<Tuple2<Integer, R>> tag = scala.reflect.ClassTag$.MODULE$.apply(Tuple2.class);
                List<Tuple2<Integer, R>> results = new ArrayList<>(org.apache.spark.api.java.JavaRDD.fromRDD(
                        data.shards().rdd().barrier().mapPartitions(new OnBarrierPartition<>(task), false, tag), tag).collect());
                results.sort(java.util.Comparator.comparing(Tuple2::_1));
                List<R> out = new ArrayList<>();
                results.forEach(t -> out.add(t._2()));
                return out;
            }

            /** (shard, result) of every shard with a result, computed when the RDD is evaluated. */
            private <R> org.apache.spark.api.java.JavaPairRDD<Integer, R> results(String description, Task<R> task) {
                sc.setJobDescription(description);
                TaskThreads.forStage(sc);
                return org.apache.spark.api.java.JavaPairRDD.fromJavaRDD(data.shards().mapPartitionsWithIndex(
                        new OnPartition<>(task), false));
            }
        };
    }

    /** Shards held in this JVM; tasks run one after another in shard order, in the calling thread. */
    static Shards inProcess(LabeledData[] parts, String name, String fingerprint) {
        long size = 0;
        int largest = 0;
        int features = 0;
        for (LabeledData p : parts) {
            size += p.size();
            largest = Math.max(largest, p.size());
            features = p.numFeatures();
        }
        return new Shards(name, fingerprint, size, parts.length, largest, features) {
            @Override
            <T> Shared<T> share(T value) {
                return new Held<>(value);
            }

            @Override
            <R> List<R> map(String description, Task<R> task) {
                List<R> out = new ArrayList<>();
                for (int i = 0; i < parts.length; i++) {
                    R r = call(task, i);
                    if (r != null) {
                        out.add(r);
                    }
                }
                return out;
            }

            @Override
            <R> R reduce(String description, Task<R> task, R zero, Function2<R, R, R> add) {
                TreeSum.Stream<R> sum = new TreeSum.Stream<>(parts.length, zero, add);
                for (int i = 0; i < parts.length; i++) {
                    sum.add(i, call(task, i));
                }
                return sum.finish();
            }

            @Override
            <R> List<R> together(String description, Task<R> task) {
                throw new UnsupportedOperationException("shards held in process run no barrier stage");
            }

            /** Runs one shard's task, first stopping if the Spark task running this loop was cancelled. */
            private <R> R call(Task<R> task, int shard) {
                TaskContext context = TaskContext.get();
                if (context != null) {
                    context.killTaskIfInterrupted();
                }
                return task.call(shard, parts[shard]);
            }
        };
    }

    /** A task on one cached shard: its (shard, result), or nothing when the result is null. */
    private static final class OnPartition<R> implements Function2<Integer, Iterator<LabeledData>, Iterator<Tuple2<Integer, R>>> {
        private static final long serialVersionUID = 1L;
        private final Task<R> task;

        OnPartition(Task<R> task) {
            this.task = task;
        }

        @Override
        public Iterator<Tuple2<Integer, R>> call(Integer shard, Iterator<LabeledData> it) throws InterruptedException {
            TaskThreads.apply();
            R r = it.hasNext() ? task.call(shard, it.next()) : null;
            TaskContext context = TaskContext.get();
            if (ParameterAveragingTrainer.failFirstAttempts && context != null && context.attemptNumber() == 0) {
                throw new IllegalStateException("injected failure of task attempt 0 (test)");
            }
            if (ParameterAveragingTrainer.reverseFinishOrder) {
                Thread.sleep(4L * (64 - Math.min(64, shard))); // later shards finish first (test)
            }
            return r == null ? Collections.emptyIterator() : Collections.singletonList(new Tuple2<>(shard, r)).iterator();
        }
    }

    /** A task of a barrier stage on one cached shard: its (shard, result), or nothing when the result is null. */
    private static final class OnBarrierPartition<R> extends scala.runtime.AbstractFunction1<scala.collection.Iterator<LabeledData>,
            scala.collection.Iterator<Tuple2<Integer, R>>> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Task<R> task;

        OnBarrierPartition(Task<R> task) {
            this.task = task;
        }

        @Override
        public scala.collection.Iterator<Tuple2<Integer, R>> apply(scala.collection.Iterator<LabeledData> it) {
            TaskThreads.apply();
            int shard = org.apache.spark.BarrierTaskContext.get().partitionId();
            R r = it.hasNext() ? task.call(shard, it.next()) : null;
            List<Tuple2<Integer, R>> out = r == null ? List.of() : List.of(new Tuple2<>(shard, r));
            return scala.collection.JavaConverters.asScalaIteratorConverter(out.iterator()).asScala();
        }
    }

    private static final class Broadcasted<T> implements Shared<T> {
        private static final long serialVersionUID = 1L;
        private final Broadcast<T> broadcast;

        Broadcasted(Broadcast<T> broadcast) {
            this.broadcast = broadcast;
        }

        @Override
        public T value() {
            return broadcast.value();
        }

        @Override
        public void release() {
            broadcast.destroy();
        }
    }

    private static final class Held<T> implements Shared<T> {
        private static final long serialVersionUID = 1L;
        private final T value;

        Held(T value) {
            this.value = value;
        }

        @Override
        public T value() {
            return value;
        }

        @Override
        public void release() {
        }
    }
}
