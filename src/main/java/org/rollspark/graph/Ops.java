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
        long n = m.size(0);
        long f = m.size(1);
        INDArray t3 = t.reshape('c', n, k, f);
        INDArray out = Nd4j.createUninitialized(t.dataType(), n, k, f);
        Broadcast.mul(t3, m, out, 0, 2);
        return out.reshape('c', n * k, f);
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
