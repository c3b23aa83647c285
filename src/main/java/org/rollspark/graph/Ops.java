package org.rollspark.graph;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Broadcast;
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
        long rows = x.size(0);
        INDArray x3 = x.reshape('c', rows, channels, x.size(1) / channels);
        INDArray out = Nd4j.createUninitialized(x.dataType(), x3.shape());
        Broadcast.mul(x3, v, out, 1);
        return out.reshape('c', rows, x.size(1));
    }

    /** {@code x + v} in place, v one value per channel. */
    static INDArray addPerChannel(INDArray x, INDArray v, int channels) {
        INDArray x3 = x.reshape('c', x.size(0), channels, x.size(1) / channels);
        Broadcast.add(x3, v, x3, 1);
        return x;
    }

    /** Sum over rows and spatial positions: one value per channel. */
    static INDArray channelSum(INDArray x, int channels) {
        return x.reshape('c', x.size(0), channels, x.size(1) / channels).sum(0, 2);
    }

    /** Row-wise sum of an elementwise product, per channel: {@code sum_{rows, spatial} a * b}. */
    static INDArray channelDot(INDArray a, INDArray b, int channels) {
        return channelSum(a.mul(b), channels);
    }
}
