package org.rollspark.blas;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rollspark.dense.DenseNet;
import org.rollspark.loss.RollLoss;
import org.rollspark.net.Activation;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.region.RegionCertifier;
import org.rollspark.util.Host;

/**
 * One core type, probed in a JVM of its own (OpenBLAS reads {@code OPENBLAS_CORETYPE} once, when it loads, so
 * {@link KernelChoice} starts one per candidate): the {@link SelfTest}, then, if it passed, the three hot paths
 * timed on the paper's net (784-300-300-300-300-10, float32, one thread): a vanilla step on 64 examples, an exact
 * ROLL step on 16 and the certification of 16, each as its best repetition (noise only slows a fixed piece of work
 * down). Prints one JSON line on stdout.
 */
public final class KernelProbe {
    private KernelProbe() {}

    static final int[] SIZES = {784, 300, 300, 300, 300, 10};

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 0.6;
        ObjectNode out = new ObjectMapper().createObjectNode();
        String requested = KernelCheck.requested();
        out.put("requested", requested);
        OpenBlas.Info info = OpenBlas.info();
        out.put("core", info.coreType());
        out.put("config", info.config());
        SelfTest.Result r = SelfTest.run();
        out.put("passed", r.passed());
        out.putPOJO("failures", r.failures());
        out.put("stepError", r.stepError());
        if (r.passed()) {
            DenseNet net = DenseNet.init(SIZES, Activation.relu(), Normalization.mnist(), Init.UNIFORM_FAN_IN, 1,
                    DataType.FLOAT);
            SplittableRandom rnd = new SplittableRandom(3);
            double[] x = new double[64 * 784];
            Arrays.setAll(x, i -> rnd.nextDouble());
            int[] y = new int[64];
            Arrays.setAll(y, i -> rnd.nextInt(10));
            INDArray batch = Host.array(x, DataType.FLOAT, 64, 784);
            INDArray g = Nd4j.create(DataType.FLOAT, net.params().length());
            RollLoss vanilla = RollLoss.vanilla();
            RollLoss roll = RollLoss.roll(2, 0.25);
            INDArray chunk = batch.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 16),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()).dup();
            RegionCertifier certifier = new RegionCertifier(net);
            out.put("vanilla", rate(64, seconds, () -> vanilla.valueAndGradient(net, batch, y, g)));
            int[] y16 = Arrays.copyOf(y, 16);
            out.put("roll", rate(16, seconds, () -> roll.valueAndGradient(net, chunk, y16, g)));
            out.put("certify", rate(16, seconds, () -> certifier.certify(chunk, null)));
        }
        System.out.println(out);
    }

    /**
     * Examples per second of the fastest of the repetitions over about {@code seconds}, after one warm-up (at least
     * three; just one without a warm-up when {@code seconds} is 0, for tests).
     */
    private static double rate(int examples, double seconds, Runnable work) {
        if (seconds > 0) {
            work.run();
        }
        java.util.List<Double> times = new java.util.ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        do {
            long t = System.nanoTime();
            work.run();
            times.add((System.nanoTime() - t) / 1e9);
        } while (seconds > 0 && (System.nanoTime() < end || times.size() < 3));
        return examples / java.util.Collections.min(times);
    }
}
