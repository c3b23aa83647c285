package org.rollspark.spark;

import java.io.Serializable;
import org.rollspark.loss.LossValue;

/**
 * What the workers of one averaging round send back, summed on the driver in shard order: parameter and
 * optimiser-state sums, the number of workers that trained, the most steps any took, and the summed
 * training loss. Pure values: a retried task contributes once, since Spark keeps only one result per
 * partition.
 */
final class RoundResult implements Serializable {
    private static final long serialVersionUID = 1L;
    CompactVector paramSum;
    CompactVector[] stateSum;
    int workers;
    long maxSteps;
    LossValue loss = LossValue.empty();

    static RoundResult of(double[] params, double[][] state, long steps, LossValue loss) {
        RoundResult r = new RoundResult();
        r.paramSum = new CompactVector(params);
        r.stateSum = CompactVector.of(state);
        r.workers = 1;
        r.maxSteps = steps;
        r.loss = loss;
        return r;
    }

    /** Adds {@code o} into this (mutates and returns this). */
    RoundResult add(RoundResult o) {
        if (o.workers == 0) {
            return this;
        }
        if (workers == 0) {
            return o;
        }
        double[] p = paramSum.values;
        for (int i = 0; i < p.length; i++) {
            p[i] += o.paramSum.values[i];
        }
        for (int s = 0; s < stateSum.length; s++) {
            double[] v = stateSum[s].values;
            for (int i = 0; i < v.length; i++) {
                v[i] += o.stateSum[s].values[i];
            }
        }
        workers += o.workers;
        maxSteps = Math.max(maxSteps, o.maxSteps);
        loss = loss.plus(o.loss);
        return this;
    }
}
