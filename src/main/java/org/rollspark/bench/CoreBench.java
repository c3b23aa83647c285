package org.rollspark.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.loss.RollLoss;
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.net.Gradient;
import org.rollspark.region.RegionCertifier;
import org.rollspark.train.Optimizer;
import org.rollspark.train.Sgd;

/**
 * Benchmark of the core hot paths on the paper's MNIST net (784-300-300-300-300-10 ReLU, float32,
 * batch 64, random inputs in [0, 1]): (a) a vanilla training step, (b) an exact ROLL training step
 * (lambda 2, C 0.25, gamma 100), (c) certification of a batch (eps_1, eps_2, eps_inf with binding
 * neurons). Each figure is the median over repetitions of examples per second; the thread count is
 * set from outside (OMP_NUM_THREADS and OPENBLAS_NUM_THREADS; see jobs/bench.sh).
 *
 * <p>Usage: {@code CoreBench [reps] [seconds-per-rep] [vanilla|roll|certify]}; prints a table and one
 * JSON line. {@code CoreBench 0 0 certify-mnist [dir]} certifies the real MNIST test set instead.
 */
public final class CoreBench {
    static final int[] SIZES = {784, 300, 300, 300, 300, 10};
    static final int BATCH = 64;

    private CoreBench() {}

    public static void main(String[] args) throws java.io.IOException {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 2.0;
        String only = args.length > 2 ? args[2] : "all";
        if (only.equals("certify-mnist")) {
            certifyMnist(java.nio.file.Path.of(args.length > 3 ? args[3] : "data/full/mnist"));
            return;
        }
        if (only.startsWith("graph:")) {
            graph(java.nio.file.Path.of(only.substring("graph:".length())), reps, seconds);
            return;
        }
        DenseNet net = DenseNet.init(SIZES, Activation.relu(), Normalization.mnist(), Init.UNIFORM_FAN_IN, 1, DataType.FLOAT);
        INDArray x = BenchData.uniform(2, BATCH, SIZES[0]);
        int[] y = BenchData.labels(3, BATCH, 10);
        Gradient grad = net.newGradient();
        Optimizer opt = new Sgd(net.params().length(), DataType.FLOAT, 1e-4, 0.5, true);
        RollLoss vanilla = RollLoss.vanilla();
        RollLoss roll = RollLoss.roll(2, 0.25);
        RegionCertifier certifier = new RegionCertifier(net);
        RegionCertifier certifierL2 = new RegionCertifier(net).withNorms(java.util.EnumSet.of(org.rollspark.region.Norm.L2));

        double sum = 0;
        for (int l = 0; l + 1 < SIZES.length; l++) {
            sum += (double) SIZES[l] * SIZES[l + 1];
        }
        int h = SIZES[1];
        double vanillaFlops = 6 * sum - 2.0 * SIZES[0] * SIZES[1];
        // chain forward: one (r x H x H) GEMM per hidden layer after the first, r = H_1; backward two
        double rollFlops = vanillaFlops + 3 * 3 * 2.0 * h * h * h;
        double certFlops = 3 * 2.0 * SIZES[0] * h * h;
        double certL2Flops = 3 * 2.0 * h * h * h; // the chain on the r = H_1 rows of the first layer's row space

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("threads", System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"));
        if (only.equals("all") || only.equals("vanilla")) {
            result.put("vanilla", measure("vanilla step", reps, seconds, vanillaFlops, () -> {
                vanilla.valueAndGradient(net, x, y, grad, 0);
                opt.step(net.params(), grad.flat());
            }));
        }
        if (only.equals("all") || only.equals("roll")) {
            result.put("roll", measure("exact ROLL step", reps, seconds, rollFlops, () -> {
                roll.valueAndGradient(net, x, y, grad, 0);
                opt.step(net.params(), grad.flat());
            }));
        }
        if (only.equals("all") || only.equals("certify")) {
            result.put("certify", measure("certify (3 margins)", reps, seconds, certFlops, () -> certifier.certify(x)));
        }
        if (only.equals("all") || only.equals("certify") || only.equals("certify-l2")) {
            result.put("certify_l2", measure("certify (l2 alone)", reps, seconds, certL2Flops, () -> certifierL2.certify(x)));
        }
        org.rollspark.blas.OpenBlas.Info blas = org.rollspark.blas.OpenBlas.info(); // the library that ran, as loaded
        result.put("blas_config", blas.config());
        result.put("blas_core", blas.coreType());
        StringBuilder json = new StringBuilder("{");
        for (Map.Entry<String, Object> e : result.entrySet()) {
            json.append(json.length() > 1 ? ", " : "").append('"').append(e.getKey()).append("\": ");
            json.append(e.getValue() instanceof String s ? '"' + s + '"' : e.getValue());
        }
        System.out.println(json.append('}'));
    }

    /**
     * The graph net of a job file (e.g. conf/mnist-resnet.conf) on MNIST-shaped batches of 64: a vanilla
     * training step, a training step with the job's ROLL loss (sampled when loss.samples > 0), their
     * ratio measured in the same run, certification of a batch, and the peak resident memory.
     */
    static void graph(java.nio.file.Path conf, int reps, double seconds) {
        org.rollspark.cli.JobConfig cfg = org.rollspark.cli.JobConfig.load(conf, List.of());
        org.rollspark.net.Network net = cfg.network(SIZES[0], 10);
        INDArray x = BenchData.uniform(2, BATCH, SIZES[0]);
        int[] y = BenchData.labels(3, BATCH, 10);
        RollLoss roll = cfg.loss();
        RollLoss vanilla = RollLoss.vanilla();
        Gradient g = roll.gradientFor(net);
        Optimizer opt = new Sgd(net.params().length(), DataType.FLOAT, 1e-4, 0.5, true);
        long[] step = {0};
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("net", conf.toString());
        result.put("threads", System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"));
        List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < reps; r++) {
            // alternate the two steps so that both see the same machine state; the ratio of each pair
            double v = Double.parseDouble(measure("vanilla step", 1, seconds, 0, () -> {
                vanilla.valueAndGradient(net, x, y, g, step[0]++);
                opt.step(net.params(), g.flat());
            }));
            double s = Double.parseDouble(measure("ROLL step (" + roll.sampling().spec() + ")", 1, seconds, 0, () -> {
                roll.valueAndGradient(net, x, y, g, step[0]++);
                opt.step(net.params(), g.flat());
            }));
            ratios.add(v / s);
        }
        double[] sorted = ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        System.out.printf(Locale.ROOT, "ROLL step / vanilla step time: median %.2f (min %.2f, max %.2f over %d pairs)%n",
                sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1], sorted.length);
        result.put("ratio", String.format(Locale.ROOT, "%.2f", sorted[sorted.length / 2]));
        RegionCertifier cert = new RegionCertifier(net);
        INDArray few = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 16), org.nd4j.linalg.indexing.NDArrayIndex.all());
        result.put("certify", measure("certify 16 (3 margins)", 1, seconds, 0, 16, () -> cert.certify(few)));
        result.put("peak_rss_mb", peakRssMb());
        System.out.println("peak resident memory: " + result.get("peak_rss_mb") + " MB");
    }

    /** The process's peak resident set (VmHWM), in MB; -1 where /proc is not there. */
    static long peakRssMb() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /**
     * Certifies the MNIST test set (t10k files in {@code dir}) with the paper's net: all three region
     * margins, decision margins, certified radii, patterns and Jacobian hashes; prints examples/s.
     */
    static void certifyMnist(java.nio.file.Path dir) throws java.io.IOException {
        org.rollspark.data.LabeledData test = org.rollspark.data.LabeledData.fromIdx("t10k",
                dir.resolve("t10k-images-idx3-ubyte"), dir.resolve("t10k-labels-idx1-ubyte"), Integer.MAX_VALUE);
        DenseNet net = DenseNet.init(SIZES, Activation.relu(), Normalization.mnist(), Init.UNIFORM_FAN_IN, 1, DataType.FLOAT);
        INDArray x = test.allFeatures();
        new RegionCertifier(net).certify(x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 256),
                org.nd4j.linalg.indexing.NDArrayIndex.all())); // warm-up
        long t0 = System.nanoTime();
        org.rollspark.region.Certification c = new RegionCertifier(net).certify(x);
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "certified %d MNIST test images in %.1f s: %.1f ex/s (threads %s); %d distinct "
                + "patterns, %d distinct Jacobians%n", c.size(), secs, c.size() / secs,
                System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"), c.distinctPatterns(), c.distinctJacobians());
    }

    /** Runs {@code step} (one batch) for about {@code seconds} per repetition; returns the median ex/s. */
    static String measure(String name, int reps, double seconds, double flopsPerExample, Runnable step) {
        return measure(name, reps, seconds, flopsPerExample, BATCH, step);
    }

    /** As above for steps of {@code examples} examples each. */
    static String measure(String name, int reps, double seconds, double flopsPerExample, int examples, Runnable step) {
        long warm = System.nanoTime();
        while (System.nanoTime() - warm < seconds * 1e9) {
            step.run();
        }
        List<Double> rates = new ArrayList<>();
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            int n = 0;
            do {
                step.run();
                n++;
            } while (System.nanoTime() - t0 < seconds * 1e9);
            rates.add(n * examples / ((System.nanoTime() - t0) / 1e9));
        }
        double[] s = rates.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double median = s[s.length / 2];
        double gflops = median * flopsPerExample / 1e9;
        System.out.printf(Locale.ROOT, "%-22s median %10.1f ex/s  (min %.1f, max %.1f over %d reps)  ~%.1f GFLOP/s%n",
                name, median, s[0], s[s.length - 1], reps, gflops);
        return String.format(Locale.ROOT, "%.1f", median);
    }
}
