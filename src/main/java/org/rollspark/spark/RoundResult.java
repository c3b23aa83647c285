package org.rollspark.spark;

import java.io.Serializable;
import org.rollspark.loss.LossValue;

/**
 * What the workers of one averaging round send back, summed by treeAggregate: parameter and
 * optimiser-state sums, the number of workers that trained, the most steps any took, and the summed
 * training loss. Pure values: a retried task contributes once, since Spark keeps only one result per
 * partition.
 */
final class RoundResult implements Serializable {
    private static final long serialVersionUID = 1L;
    double[] paramSum;
    double[][] stateSum;
    int workers;
    long maxSteps;
    LossValue loss = LossValue.empty();

    static RoundResult of(double[] params, double[][] state, long steps, LossValue loss) {
        RoundResult r = new RoundResult();
        r.paramSum = params;
        r.stateSum = state;
        r.workers = 1;
        r.maxSteps = steps;
        r.loss = loss;
        return r;
    }

    /** Adds {@code o} into this (mutates and returns this, as treeAggregate allows). */
    RoundResult add(RoundResult o) {
        if (o.workers == 0) {
            return this;
        }
        if (workers == 0) {
            return o;
        }
        for (int i = 0; i < paramSum.length; i++) {
            paramSum[i] += o.paramSum[i];
        }
        for (int s = 0; s < stateSum.length; s++) {
            for (int i = 0; i < stateSum[s].length; i++) {
                stateSum[s][i] += o.stateSum[s][i];
            }
        }
        workers += o.workers;
        maxSteps = Math.max(maxSteps, o.maxSteps);
        loss = loss.plus(o.loss);
        return this;
    }
}
