package org.rollspark.blas;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rollspark.dense.DenseNet;
import org.rollspark.loss.LossValue;
import org.rollspark.loss.RollLoss;
import org.rollspark.net.Activation;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.util.Blas;
import org.rollspark.util.Host;

/**
 * What the hot paths ask of the BLAS, checked against plain double loops before it is trusted:
 * <ul>
 * <li>products: float32 and float64, every transposition, at the shapes of a training step of the paper's net
 * (batch 64, 784 inputs, 300 hidden units, 10 classes) and a small odd one, through {@link Blas#gemm} (straight
 * into OpenBLAS) and through ND4J (a column-major operand, and a strided view of a wider matrix). Each entry checked
 * (the edge rows and columns and a spread of the interior: {@link #checked}) must lie within
 * {@code 2 k u sum_l |a_il| |b_lj|} of the exact product (u the unit roundoff): the worst case of any
 * summation order, so a correct BLAS never fails it, and a kernel that loses precision (the 0.9 % gradient error
 * of OpenBLAS 0.3.19's Cooperlake kernels on AVX-512 CPUs) does;</li>
 * <li>training steps in float32 against the same steps in float64: an exact ROLL step (lambda 2, C 0.25) of a
 * 784-300-300-10 ReLU net on 8 examples (gradient within 1e-4 relative; a correct kernel gives about 1e-6), and the
 * four steps of {@code RollLossGradientTest} on its 60-40-30-30-10 net and 32 examples (vanilla and ROLL, ReLU and
 * LeakyReLU, mean and top-40 % aggregation; within 1e-5, as that test asks); losses within 1e-5.</li>
 * </ul>
 * About a second on a JVM that just started, 0.4 s once it is warm, on one core.
 */
public final class SelfTest {
    private SelfTest() {}

    /** The product shapes (m, n, k): the step's forward, weight-gradient and input-gradient products, and an odd one. */
    static final int[][] SHAPES = {{64, 300, 784}, {64, 300, 300}, {64, 10, 300}, {300, 784, 64}, {300, 300, 64},
        {32, 40, 60}, {40, 60, 32}, {32, 10, 30}, {13, 7, 5}};
    static final double STEP_GRADIENT_TOLERANCE = 1e-4;
    static final double SMALL_STEP_GRADIENT_TOLERANCE = 1e-5;
    static final double STEP_LOSS_TOLERANCE = 1e-5;

    /**
     * The outcome.
     *
     * @param failures one line per failed check (empty when the BLAS passed)
     * @param stepError the float32 step's relative gradient error against float64
     * @param seconds how long the test took
     */
    public record Result(List<String> failures, double stepError, double seconds) {
        public boolean passed() {
            return failures.isEmpty();
        }
    }

    /** Runs every check in this JVM (with the BLAS it has loaded). */
    public static Result run() {
        return run(Faults.active());
    }

    /** {@link #run()}, with the float32 products perturbed as a wrong kernel's would be when {@code fault}. */
    static Result run(boolean fault) {
        long t0 = System.nanoTime();
        List<String> failures = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(20190507);
        for (int[] s : SHAPES) {
            for (int t = 0; t < 4; t++) {
                products(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, r, fault, failures);
            }
        }
        double stepError = step(new int[] {784, 300, 300, 10}, Activation.relu(), RollLoss.roll(2, 0.25), 8,
                STEP_GRADIENT_TOLERANCE, failures);
        // RollLossGradientTest's four steps: a kernel this passes passes that test too
        int[] small = {60, 40, 30, 30, 10};
        stepError = Math.max(stepError, step(small, Activation.relu(), RollLoss.vanilla(), 32,
                SMALL_STEP_GRADIENT_TOLERANCE, failures));
        stepError = Math.max(stepError, step(small, Activation.leakyRelu(0.1), RollLoss.vanilla(), 32,
                SMALL_STEP_GRADIENT_TOLERANCE, failures));
        stepError = Math.max(stepError, step(small, Activation.relu(), RollLoss.roll(2, 0.25), 32,
                SMALL_STEP_GRADIENT_TOLERANCE, failures));
        stepError = Math.max(stepError, step(small, Activation.leakyRelu(0.1), new RollLoss(1, 0.5,
                org.rollspark.loss.Aggregation.top(40)), 32, SMALL_STEP_GRADIENT_TOLERANCE, failures));
        return new Result(List.copyOf(failures), stepError, (System.nanoTime() - t0) / 1e9);
    }

    /** One shape and transposition: the exact product once, then float32 and float64 through each path. */
    private static void products(int m, int n, int k, boolean ta, boolean tb, SplittableRandom r, boolean fault,
            List<String> failures) {
        double[] a = values(m * k, r);
        double[] b = values(k * n, r);
        // op(A) by rows and op(B) by columns, so each entry is a dot product of two contiguous rows
        double[] rowsA = new double[m * k];
        double[] colsB = new double[n * k];
        for (int i = 0; i < m; i++) {
            for (int l = 0; l < k; l++) {
                rowsA[i * k + l] = ta ? a[l * m + i] : a[i * k + l];
            }
        }
        for (int j = 0; j < n; j++) {
            for (int l = 0; l < k; l++) {
                colsB[j * k + l] = tb ? b[j * k + l] : b[l * n + j];
            }
        }
        double[] exact = new double[m * n];
        double[] scale = new double[m * n]; // 0: an entry not checked
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                if (!checked(i, j, m, n)) {
                    continue;
                }
                // float32 values: each product is exact in double; Neumaier's compensated sum keeps the total within
                // a few units of double rounding, far inside the bound even for float64 products
                double sum = 0;
                double carry = 0;
                double abs = 0;
                for (int l = 0; l < k; l++) {
                    double p = rowsA[i * k + l] * colsB[j * k + l];
                    double t = sum + p;
                    carry += Math.abs(sum) >= Math.abs(p) ? (sum - t) + p : (p - t) + sum;
                    sum = t;
                    abs += Math.abs(p);
                }
                exact[i * n + j] = sum + carry;
                scale[i * n + j] = abs;
            }
        }
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            double u = type == DataType.FLOAT ? 0x1p-24 : 0x1p-53;
            INDArray av = Host.array(a, type, ta ? k : m, ta ? m : k);
            INDArray bv = Host.array(b, type, tb ? n : k, tb ? k : n);
            String what = String.format(Locale.ROOT, "%s product (%d x %d) * (%d x %d)%s%s", type == DataType.FLOAT
                    ? "float32" : "float64", m, k, k, n, ta ? ", A transposed" : "", tb ? ", B transposed" : "");
            INDArray c = Nd4j.createUninitialized(type, m, n);
            Blas.gemm(av, ta, bv, tb, c, 1.0, 0.0);
            boolean wrong = fault && type == DataType.FLOAT;
            compare(what + " through OpenBLAS", c, wrong, exact, scale, k, u, failures);
            if (!ta && !tb && m > 16) {
                // ND4J's own path: a column-major operand, and a strided view (rows longer than the matrix)
                INDArray c2 = Nd4j.createUninitialized(type, m, n);
                Blas.gemm(av.dup('f'), false, bv, false, c2, 1.0, 0.0);
                compare(what + " through ND4J (column-major A)", c2, wrong, exact, scale, k, u, failures);
                INDArray wide = Nd4j.zeros(type, m, k + 3);
                wide.get(NDArrayIndex.all(), NDArrayIndex.interval(0, k)).assign(av);
                INDArray c3 = Nd4j.createUninitialized(type, m, n);
                Blas.gemm(wide.get(NDArrayIndex.all(), NDArrayIndex.interval(0, k)), false, bv, false, c3, 1.0, 0.0);
                compare(what + " (A a strided view)", c3, wrong, exact, scale, k, u, failures);
            }
        }
    }

    private static void compare(String what, INDArray c, boolean wrong, double[] exact, double[] scale, int k, double u,
            List<String> failures) {
        double[] got = Host.pull(c);
        if (wrong) {
            for (int i = 0; i < got.length; i++) {
                got[i] *= 1 + 1e-3;
            }
        }
        double worst = 0;
        int at = -1;
        for (int i = 0; i < got.length; i++) {
            if (scale[i] == 0) {
                continue; // not checked
            }
            double bound = 2 * k * u * scale[i] + Double.MIN_NORMAL;
            double ratio = Math.abs(got[i] - exact[i]) / bound;
            if (!(ratio <= worst)) { // NaN counts as the worst
                worst = Double.isNaN(ratio) ? Double.POSITIVE_INFINITY : ratio;
                at = i;
            }
        }
        if (worst > 1) {
            failures.add(String.format(Locale.ROOT, "%s: entry %d is %s, exact %.9g (error %.3g times the bound of any "
                    + "correct summation)", what, at, got[at], exact[at], worst));
        }
    }

    /**
     * The entries checked against the exact product: the first two and last two rows and columns (where a kernel's
     * edge tiles are) and every 11th entry (its interior tiles; a kernel that loses precision loses it everywhere).
     * About a tenth of a large product, so the reference loops stay short on a cold JVM.
     */
    static boolean checked(int i, int j, int m, int n) {
        return i < 2 || i >= m - 2 || j < 2 || j >= n - 2 || (i * n + j) % 11 == 0;
    }

    /** Float32 values in [-1, 1). */
    private static double[] values(int n, SplittableRandom r) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (2 * r.nextDouble() - 1);
        }
        return v;
    }

    /** A float32 training step against float64; its relative gradient error. */
    private static double step(int[] sizes, Activation act, RollLoss loss, int batch, double tolerance,
            List<String> failures) {
        DenseNet net64 = DenseNet.init(sizes, act, Normalization.mnist(), Init.UNIFORM_FAN_IN, 21, DataType.DOUBLE);
        DenseNet net32 = net64.castTo(DataType.FLOAT);
        SplittableRandom r = new SplittableRandom(5);
        int d = sizes[0];
        int classes = sizes[sizes.length - 1];
        double[] x = new double[batch * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble();
        }
        int[] y = new int[batch];
        for (int i = 0; i < batch; i++) {
            y[i] = r.nextInt(classes);
        }
        INDArray g64 = Nd4j.create(DataType.DOUBLE, net64.params().length());
        INDArray g32 = Nd4j.create(DataType.FLOAT, net32.params().length());
        LossValue v64 = loss.valueAndGradient(net64, Host.array(x, DataType.DOUBLE, batch, d), y, g64);
        LossValue v32 = loss.valueAndGradient(net32, Host.array(x, DataType.FLOAT, batch, d), y, g32);
        double[] a = Host.pull(g32);
        double[] b = Host.pull(g64);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < a.length; i++) {
            diff += (a[i] - b[i]) * (a[i] - b[i]);
            norm += b[i] * b[i];
        }
        double err = Math.sqrt(diff / norm);
        String net = java.util.Arrays.stream(sizes).mapToObj(Integer::toString).collect(java.util.stream.Collectors
                .joining("-")) + " " + act.spec() + ", " + (loss.lambda() == 0 ? "vanilla" : "ROLL") + ", " + batch
                + " examples";
        if (!(err <= tolerance)) {
            failures.add(String.format(Locale.ROOT, "float32 step against float64 (%s): ||g32 - g64|| / ||g64|| = "
                    + "%.3g, allowed %.0g", net, err, tolerance));
        }
        if (!(Math.abs(v32.total() - v64.total()) <= STEP_LOSS_TOLERANCE * Math.max(1, Math.abs(v64.total())))) {
            failures.add(String.format(Locale.ROOT, "float32 step against float64 (%s): loss %.9g against %.9g",
                    net, v32.total(), v64.total()));
        }
        return err;
    }

    /** Prints the result in this JVM (for measuring the tolerances). */
    public static void main(String[] args) {
        for (int i = 0; i < 3; i++) {
            Result r = run();
            System.out.println(OpenBlas.info().describe() + ": " + (r.passed() ? "passed" : r.failures()) + ", step error "
                    + r.stepError() + ", " + r.seconds() + " s");
        }
    }
}
