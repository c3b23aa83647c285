package org.rollspark.spark;

import java.io.Serializable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.loss.LossValue;
import org.rollspark.net.Network;
import org.rollspark.train.Optimizer;
import org.rollspark.util.Host;

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
    /** A leaf's result in a barrier span: its network's and optimiser's own arrays, written as they are (no sums kept). */
    transient INDArray[] live;

    static RoundResult of(double[] params, double[][] state, long steps, LossValue loss) {
        RoundResult r = new RoundResult();
        r.paramSum = new CompactVector(params);
        r.stateSum = CompactVector.of(state);
        r.workers = 1;
        r.maxSteps = steps;
        r.loss = loss;
        return r;
    }

    /**
     * A result read straight from {@code net} and {@code opt} when it is sent ({@link #CODEC}), for a worker that
     * adds nothing to it: float32 arrays go out as their bytes, without a float64 copy.
     */
    static RoundResult live(Network net, Optimizer opt, LossValue loss) {
        RoundResult r = new RoundResult();
        INDArray[] st = opt.state();
        r.live = new INDArray[st.length + 1];
        r.live[0] = net.params();
        System.arraycopy(st, 0, r.live, 1, st.length);
        r.workers = 1;
        r.maxSteps = opt.steps();
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

    /**
     * The average: parameters and optimiser state divided by the workers that trained and written into
     * {@code net} and {@code opt} (in their data type), the step count set to the most any worker took.
     * Consumes the sums. The driver does this after a round's tasks, worker 0 after a barrier round.
     */
    void averageInto(Network net, Optimizer opt) {
        double[] p = paramSum.values;
        for (int i = 0; i < p.length; i++) {
            p[i] /= workers;
        }
        Host.push(p, net.params());
        INDArray[] st = opt.state();
        for (int s = 0; s < st.length; s++) {
            double[] v = stateSum[s].values;
            for (int i = 0; i < v.length; i++) {
                v[i] /= workers;
            }
            Host.push(v, st[s]);
        }
        opt.setSteps(maxSteps);
    }

    /** Round results between the tasks of a barrier stage ({@link TreeExchange}). */
    static final TreeExchange.Codec<RoundResult> CODEC = new TreeExchange.Codec<>() {
        @Override
        public void write(Frame out, RoundResult r) {
            out.putInt(r.workers).putLong(r.maxSteps);
            out.putDouble(r.loss.total()).putDouble(r.loss.crossEntropy()).putDouble(r.loss.rollTerm());
            out.putInt(r.loss.correct()).putInt(r.loss.count());
            if (r.live != null) {
                out.putArray(r.live[0]).putInt(r.live.length - 1);
                for (int s = 1; s < r.live.length; s++) {
                    out.putArray(r.live[s]);
                }
                return;
            }
            out.putVector(r.paramSum.values).putInt(r.stateSum.length);
            for (CompactVector v : r.stateSum) {
                out.putVector(v.values);
            }
        }

        /** Adds a result's bytes into {@code acc}'s sums, value by value (each widened to float64, as reading it would). */
        @Override
        public RoundResult addFrom(RoundResult acc, java.nio.ByteBuffer in,
                org.apache.spark.api.java.function.Function2<RoundResult, RoundResult, RoundResult> add) {
            if (acc.workers == 0 || acc.live != null) {
                return acc.add(read(in));
            }
            RoundResult o = header(in);
            if (o.workers == 0) {
                return acc;
            }
            Frame.addVector(in, acc.paramSum.values);
            int states = in.getInt();
            for (int s = 0; s < states; s++) {
                Frame.addVector(in, acc.stateSum[s].values);
            }
            acc.workers += o.workers;
            acc.maxSteps = Math.max(acc.maxSteps, o.maxSteps);
            acc.loss = acc.loss.plus(o.loss);
            return acc;
        }

        @Override
        public RoundResult read(java.nio.ByteBuffer in) {
            RoundResult r = header(in);
            r.paramSum = new CompactVector(Frame.getVector(in));
            r.stateSum = new CompactVector[in.getInt()];
            for (int s = 0; s < r.stateSum.length; s++) {
                r.stateSum[s] = new CompactVector(Frame.getVector(in));
            }
            return r;
        }

        /** The workers, steps and loss that open a written result. */
        private RoundResult header(java.nio.ByteBuffer in) {
            RoundResult r = new RoundResult();
            r.workers = in.getInt();
            r.maxSteps = in.getLong();
            r.loss = new LossValue(in.getDouble(), in.getDouble(), in.getDouble(), in.getInt(), in.getInt());
            return r;
        }
    };
}
