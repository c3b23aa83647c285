package org.rollspark.spark;

import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.blas.KernelCheck;

/**
 * How many threads each task's ND4J (libnd4j's OpenMP and thread pool) and OpenBLAS use: the cores the task
 * owns. By default both use every core of the machine, so two tasks on two cores run four threads and
 * slow each other down (measured: docs/BENCHMARKS.md). A task owns its executor's cores divided by the
 * executor's task slots ({@code cores / spark.task.cpus}), which is {@code spark.task.cpus} when it
 * divides the cores. The driver computes it and hands it to the tasks as a job-local property; each task
 * applies it before computing. It depends on the cluster's shape and settings only, never on how many
 * tasks a stage has: ND4J's reductions add in a different order with a different thread count, so a
 * count that followed the stage would change a run's bits with its worker count.
 * {@code spark.roll.threadsPerTask = N} fixes it.
 */
public final class TaskThreads {
    /** The job-local property that carries the count to the tasks. */
    static final String PROPERTY = "roll.threadsPerTask";
    /** The Spark setting that fixes the count (default: the cores a task slot owns). */
    public static final String SETTING = "spark.roll.threadsPerTask";

    private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();
    private static volatile int applied = -1;

    private TaskThreads() {}

    /** The count and where it came from, for the log. */
    record Choice(int threads, int coresPerExecutor, int slots, int taskCpus, boolean fixed) {
        String describe() {
            return fixed ? String.format(Locale.ROOT, "%d (%s)", threads, SETTING)
                    : String.format(Locale.ROOT, "%d (%d cores per executor in %d task slots, spark.task.cpus %d)", threads,
                            coresPerExecutor, slots, taskCpus);
        }
    }

    /** The threads of a task on an executor of {@code coresPerExecutor} cores: the cores over its task slots; at least 1. */
    static Choice choose(int coresPerExecutor, int taskCpus, int fixed) {
        int slots = Math.max(1, coresPerExecutor / Math.max(1, taskCpus));
        if (fixed > 0) {
            return new Choice(fixed, coresPerExecutor, slots, taskCpus, true);
        }
        return new Choice(Math.max(1, coresPerExecutor / slots), coresPerExecutor, slots, taskCpus, false);
    }

    /** Cores of one executor, from the master URL ({@code local[N]}: N) or the settings and the running context. */
    static int executorCores(JavaSparkContext sc) {
        SparkConf conf = sc.getConf();
        String master = conf.get("spark.master", "local[*]");
        if (master.startsWith("local")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("local(?:-cluster)?\\[([^,\\]]+)").matcher(master);
            String n = m.lookingAt() ? m.group(1).trim() : "1";
            int cores = n.equals("*") ? Runtime.getRuntime().availableProcessors() : parse(n, 1);
            return Math.max(1, cores);
        }
        int executors = Math.max(1, sc.sc().getExecutorIds().size());
        return conf.contains("spark.executor.cores") ? parse(conf.get("spark.executor.cores"), 1)
                : Math.max(1, sc.defaultParallelism() / executors);
    }

    private static int parse(String s, int dflt) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    /** Sizes the tasks of the next jobs this thread submits and logs the choice once per count. */
    public static int forStage(JavaSparkContext sc) {
        SparkConf conf = sc.getConf();
        Choice c = choose(executorCores(sc), parse(conf.get("spark.task.cpus", "1"), 1), parse(conf.get(SETTING, "0"), 0));
        sc.setLocalProperty(PROPERTY, Integer.toString(c.threads()));
        if (sc.master().startsWith("local")) {
            set(c.threads()); // the driver shares its JVM, and so ND4J's settings, with the tasks
        }
        if (LOGGED.add(c.toString())) {
            org.slf4j.LoggerFactory.getLogger("org.rollspark.threads").info("ND4J / OpenBLAS threads per task: "
                    + c.describe());
        }
        return c.threads();
    }

    /**
     * In a task, before it computes: the executor's BLAS check (once per executor JVM; {@link KernelCheck}), then
     * ND4J's and OpenBLAS's threads sized to the stage's count (nothing when none was set).
     */
    public static void apply() {
        KernelCheck.ensure(TaskThreads::executor);
        TaskContext context = TaskContext.get();
        String v = context == null ? null : context.getLocalProperty(PROPERTY);
        if (v != null) {
            set(parse(v, 0));
        }
    }

    /** "executor 3 on host-a" (in local mode: "executor driver on ..."), for the BLAS check's log and errors. */
    static String executor() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "an unknown host";
        }
        return "executor " + (env == null ? "?" : env.executorId()) + " on " + host;
    }

    /** Sets the threads of ND4J and OpenBLAS in this JVM (process-wide: every task of a stage sets the same). */
    static synchronized void set(int threads) {
        if (threads < 1 || threads == applied) {
            return;
        }
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
        applied = threads;
    }
}
