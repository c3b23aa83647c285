package org.rollspark.graph;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Broadcasting helpers shared by the layers. */
public final class Ops {
    private Ops() {}

    /**
     * {@code t * m} where t holds {@code k} rows per example (example-major) and m one row per
     * example: every tangent of example n is scaled by row n of m. A new array.
     */
    public static INDArray perExample(INDArray t, INDArray m, int k) {
        if (k == 1) {
            return t.mul(m);
        }
        // rows of m repeated k times (pullRows), then an elementwise product: the same result as a
        // broadcast over a (n, k, f) view, without the broadcast op (libnd4j crashed in it once, in a
        // long training run, with a null data buffer)
        int n = (int) m.size(0);
        int[] rows = new int[n * k];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i / k;
        }
        return t.mul(Nd4j.pullRows(m, 1, rows));
    }

    /** {@code x * v} with v one value per channel, x seen as (rows, channels, spatial). A new array. */
    static INDArray perChannel(INDArray x, INDArray v, int channels) {
        return x.mulRowVector(spread(v, channels, x.size(1), x.dataType()));
    }

    /** {@code x + v} in place, v one value per channel. */
    static INDArray addPerChannel(INDArray x, INDArray v, int channels) {
        return x.addiRowVector(spread(v, channels, x.size(1), x.dataType()));
    }

    /**
     * A per-channel vector spread over a row of {@code width} values (channel-major), so that
     * per-channel products are plain row-vector broadcasts (3-D broadcasts over the channel axis were
     * several times slower).
     */
    private static INDArray spread(INDArray v, int channels, long width, org.nd4j.linalg.api.buffer.DataType type) {
        if (width == channels) {
            return v.castTo(type).reshape(1, channels);
        }
        int per = (int) (width / channels);
        double[] c = org.rollspark.util.Host.pull(v);
        double[] row = new double[(int) width];
        for (int ch = 0; ch < channels; ch++) {
            java.util.Arrays.fill(row, ch * per, (ch + 1) * per, c[ch]);
        }
        return org.rollspark.util.Host.array(row, type, 1, width);
    }

    /** Sum over rows and spatial positions: one value per channel. */
    static INDArray channelSum(INDArray x, int channels) {
        return x.sum(0).reshape('c', channels, x.size(1) / channels).sum(1);
    }

    /** Row-wise sum of an elementwise product, per channel: {@code sum_{rows, spatial} a * b}. */
    static INDArray channelDot(INDArray a, INDArray b, int channels) {
        return channelSum(a.mul(b), channels);
    }
}
