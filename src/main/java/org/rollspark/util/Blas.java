package org.rollspark.util;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Matrix products straight into the BLAS that ND4J itself links (OpenBLAS through JavaCPP), on the
 * arrays' own memory: one native call per product, no allocation, no op dispatch, no copies of
 * views. A dense training step of the paper's net is about ten products of 64 x 300 x 300; ND4J's
 * {@code Nd4j.gemm} spends 10-20 us of checks and dispatch on each, and its results land in fresh
 * arrays.
 *
 * <p>The direct call covers row-major matrices whose rows are contiguous (stride 1 along a row; the
 * row stride may be larger, as in a view of whole rows or columns of a wider matrix) and one float
 * type for all three. Anything else goes through {@code Nd4j.gemm} with the same meaning.
 */
public final class Blas {
    private Blas() {}

    /**
     * {@code c = alpha op(a) op(b) + beta c}, op transposing when asked. With {@code beta = 0} the
     * old contents of c are ignored (NaN included), as BLAS specifies.
     *
     * @throws IllegalArgumentException if the shapes do not chain: op(a) (m, k), op(b) (k, n), c (m, n)
     */
    public static void gemm(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c, double alpha,
            double beta) {
        if (a.rank() != 2 || b.rank() != 2 || c.rank() != 2) {
            throw new IllegalArgumentException("gemm of ranks " + a.rank() + ", " + b.rank() + " into " + c.rank()
                    + ": matrices only");
        }
        long m = c.size(0);
        long n = c.size(1);
        long k = transA ? a.size(0) : a.size(1);
        if ((transA ? a.size(1) : a.size(0)) != m || (transB ? b.size(0) : b.size(1)) != n
                || (transB ? b.size(1) : b.size(0)) != k) {
            throw new IllegalArgumentException("gemm shapes do not chain: " + shape(a) + (transA ? "^T" : "") + " x "
                    + shape(b) + (transB ? "^T" : "") + " into " + shape(c));
        }
        DataType type = c.dataType();
        if (!(type == DataType.FLOAT || type == DataType.DOUBLE) || a.dataType() != type || b.dataType() != type
                || !rowMajor(a) || !rowMajor(b) || !rowMajor(c)) { // empty operands (k, m or n = 0) included
            Nd4j.gemm(a, b, c, transA, transB, alpha, beta);
            return;
        }
        int ta = transA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
        int tb = transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
        int lda = leading(a);
        int ldb = leading(b);
        int ldc = leading(c);
        if (type == DataType.FLOAT) {
            openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor, ta, tb, (int) m, (int) n, (int) k,
                    (float) alpha, new FloatPointer(address(a)), lda, new FloatPointer(address(b)), ldb, (float) beta,
                    new FloatPointer(address(c)), ldc);
        } else {
            openblas_nolapack.cblas_dgemm(openblas_nolapack.CblasRowMajor, ta, tb, (int) m, (int) n, (int) k, alpha,
                    new DoublePointer(address(a)), lda, new DoublePointer(address(b)), ldb, beta,
                    new DoublePointer(address(c)), ldc);
        }
        // the raw pointers keep no array alive: without these, a collection during the native call may
        // free an operand whose last Java use has passed (see Host)
        java.lang.ref.Reference.reachabilityFence(a);
        java.lang.ref.Reference.reachabilityFence(b);
        java.lang.ref.Reference.reachabilityFence(c);
    }

    /** {@code op(a) op(b)} as a new row-major array (in the current workspace, if one is open). */
    public static INDArray product(INDArray a, boolean transA, INDArray b, boolean transB) {
        long rows = transA ? a.size(1) : a.size(0);
        INDArray c = Nd4j.createUninitialized(a.dataType(), rows, transB ? b.size(0) : b.size(1));
        gemm(a, transA, b, transB, c, 1.0, 0.0);
        return c;
    }

    /** The address of an array's first element (ND4J's data buffer of a view already starts there). */
    static Pointer address(INDArray a) {
        return a.data().addressPointer();
    }

    /** Row-major with contiguous rows: stride 1 along a row, and rows that do not overlap. */
    private static boolean rowMajor(INDArray a) {
        long rows = a.size(0);
        long cols = a.size(1);
        long rowStride = rows == 1 ? Math.max(cols, 1) : a.stride(0);
        return (cols == 1 || a.stride(1) == 1) && rowStride >= cols && rowStride <= Integer.MAX_VALUE && !a.isEmpty();
    }

    /** BLAS's leading dimension of a row-major matrix: its row stride (at least 1). */
    private static int leading(INDArray a) {
        return (int) Math.max(1, a.size(0) == 1 ? a.size(1) : a.stride(0));
    }

    private static String shape(INDArray a) {
        return java.util.Arrays.toString(a.shape());
    }
}
