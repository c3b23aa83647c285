package org.rollspark.bench;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.util.Locale;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.rollspark.blas.OpenBlas;

/**
 * The float32 products of the paper's MNIST net at batch 64 (forward, weight and input gradients of the vanilla
 * step, and one product of the ROLL step's Jacobian chain), timed in isolation through the OpenBLAS the project
 * computes with (ND4J's, called as {@code util.Blas} calls it) and, when a path is given, through another OpenBLAS
 * loaded with JNA (the system's, say), alternating in the same JVM under the same OPENBLAS_CORETYPE. It answers
 * whether another OpenBLAS build would make the step's products faster. Thread count: OPENBLAS_NUM_THREADS /
 * OMP_NUM_THREADS from outside.
 *
 * <p>Usage: {@code GemmBench [rounds=3] [seconds=0.7] [/path/to/other/libopenblas.so]}.
 */
public final class GemmBench {
    /** The shapes: name, m, n, k, op(a) transposed, op(b) transposed (c = op(a) op(b), m x n). */
    private static final Object[][] SHAPES = {
        {"forward, layer 1: X W1^T", 64, 300, 784, false, true},
        {"forward, hidden: H W^T", 64, 300, 300, false, true},
        {"weight gradient, layer 1: dZ^T X", 300, 784, 64, true, false},
        {"weight gradient, hidden: dZ^T H", 300, 300, 64, true, false},
        {"input gradient: dZ W", 64, 300, 300, false, false},
        {"ROLL chain: (64*300) x 300 x 300", 19200, 300, 300, false, true},
    };

    /** The C interface of another OpenBLAS. */
    public interface Cblas extends Library {
        void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, Pointer a, int lda,
                Pointer b, int ldb, float beta, Pointer c, int ldc);

        String openblas_get_config();

        String openblas_get_corename();
    }

    private GemmBench() {}

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 0.7;
        Cblas other = args.length > 2 ? (Cblas) Native.loadLibrary(args[2], Cblas.class) : null;
        System.out.println("ours:  " + OpenBlas.info().config() + ", core " + OpenBlas.info().coreType());
        if (other != null) {
            System.out.println("other: " + other.openblas_get_config().trim() + ", core "
                    + other.openblas_get_corename().trim() + " (" + args[2] + ")");
        }
        for (int r = 0; r < rounds; r++) {
            for (Object[] s : SHAPES) {
                int m = (Integer) s[1];
                int n = (Integer) s[2];
                int k = (Integer) s[3];
                boolean ta = (Boolean) s[4];
                boolean tb = (Boolean) s[5];
                FloatPointer a = random((long) m * k, 1);
                FloatPointer b = random((long) k * n, 2);
                FloatPointer c = new FloatPointer((long) m * n);
                int lda = ta ? m : k;
                int ldb = tb ? k : n;
                int opA = ta ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
                int opB = tb ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
                double flops = 2.0 * m * n * k;
                double ours = gflops(flops, seconds, () -> openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor,
                        opA, opB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n));
                String line = String.format(Locale.ROOT, "round %d  %-36s %5d x %4d x %4d  ours %6.1f GFLOP/s", r + 1,
                        s[0], m, n, k, ours);
                if (other != null) {
                    Pointer pa = new Pointer(a.address());
                    Pointer pb = new Pointer(b.address());
                    Pointer pc = new Pointer(c.address());
                    double theirs = gflops(flops, seconds, () -> other.cblas_sgemm(openblas_nolapack.CblasRowMajor, opA,
                            opB, m, n, k, 1f, pa, lda, pb, ldb, 0f, pc, n));
                    line += String.format(Locale.ROOT, "  other %6.1f GFLOP/s  other/ours %.2f", theirs, theirs / ours);
                }
                System.out.println(line);
                java.lang.ref.Reference.reachabilityFence(a);
                java.lang.ref.Reference.reachabilityFence(b);
                java.lang.ref.Reference.reachabilityFence(c);
            }
        }
    }

    private static FloatPointer random(long size, long seed) {
        FloatPointer p = new FloatPointer(size);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        for (long i = 0; i < size; i++) {
            p.put(i, (float) rnd.nextDouble());
        }
        return p;
    }

    /** GFLOP/s of {@code product} over {@code seconds}, after a warm-up. */
    private static double gflops(double flops, double seconds, Runnable product) {
        for (int i = 0; i < 20; i++) {
            product.run();
        }
        long t0 = System.nanoTime();
        int count = 0;
        while (System.nanoTime() - t0 < seconds * 1e9) {
            product.run();
            count++;
        }
        return flops * count / ((System.nanoTime() - t0) / 1e9) / 1e9;
    }
}
