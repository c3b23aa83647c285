package org.rollspark.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.BarrierTaskInfo;
import org.apache.spark.SparkEnv;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.data.LabeledData;
import org.rollspark.loss.LossValue;
import org.rollspark.net.Network;
import org.rollspark.train.Optimizer;
import org.rollspark.util.Host;

/**
 * Averaging rounds run in a barrier stage: one long-lived task per worker for a span of rounds. Each task
 * keeps its network, optimiser and gradient buffers between rounds; after its minibatches it adds its
 * result into its parent's in {@link TreeSum}'s tree ({@link TreeExchange}), worker 0 averages as the
 * driver would ({@link RoundResult#averageInto}) and hands the new parameters and optimiser state back
 * down. The tasks find each other through the driver's {@link Rendezvous} (or, where executors cannot reach
 * it, Spark's slower allGather). Every worker then holds what the driver would have broadcast for the next round, so the span
 * gives the bits of one Spark job per round, without a job per round. Worker 0 returns the final state
 * and each round's summed loss. A task is a pure function of the broadcast state, so a failed stage is
 * run again whole from it.
 */
final class BarrierRounds implements Shards.Task<BarrierRounds.Span> {
    private static final long serialVersionUID = 1L;

    /** What worker 0 returns: the state after the span and each round's summed loss (null: nobody trained). */
    record Span(CompactVector params, CompactVector[] state, long steps, LossValue[] losses) implements Serializable {}

    private final RoundPlan plan;
    private final int from;
    private final int to;
    private final long token;
    private final String rendezvous;
    private final int attempt;

    BarrierRounds(RoundPlan plan, int from, int to, long token, String rendezvous, int attempt) {
        this.plan = plan;
        this.from = from;
        this.to = to;
        this.token = token;
        this.rendezvous = rendezvous;
        this.attempt = attempt;
    }

    @Override
    public Span call(int shard, LabeledData part) {
        BarrierTaskContext context = BarrierTaskContext.get();
        BarrierTaskInfo[] infos = context.getTaskInfos();
        int workers = infos.length;
        RoundPlan.Worker worker = plan.start(shard, part);
        Network local = worker.net();
        Optimizer o = worker.opt();
        String host = TreeExchange.socketAddress(infos[shard].address()).getHostString(); // the executor's host:port
        long setup = SparkEnv.get() == null ? 120_000 : SparkEnv.get().conf().getTimeAsMs("spark.network.timeout", "120s");
        java.util.function.Function<String, String[]> gather = rendezvous == null ? context::allGather : mine -> {
            try {
                return Rendezvous.join(rendezvous, token, shard, workers, mine, context::isInterrupted, setup);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        try (TreeExchange x = TreeExchange.open(shard, workers, host, token, gather, context::isInterrupted, setup)) {
            LossValue[] losses = new LossValue[to - from];
            boolean leaf = shard != 0 && TreeExchange.children(shard, workers).length == 0; // sends its result, adds none
            Averaged now = null;
            for (int round = from; round < to; round++) {
                RoundResult mine = worker.train(round, leaf);
                if (ParameterAveragingTrainer.failFirstAttempts && attempt == 0 && round == from && shard == workers - 1) {
                    throw new IllegalStateException("injected failure of worker " + shard + " in the span's first attempt (test)");
                }
                RoundResult total = x.sum(mine, new RoundResult(), RoundResult::add, RoundResult.CODEC);
                if (shard == 0) {
                    if (total.workers > 0) {
                        losses[round - from] = total.loss;
                        total.averageInto(local, o);
                    }
                    now = new Averaged(local, o, null);
                }
                now = x.broadcast(now, Averaged.CODEC);
                if (shard != 0) {
                    now.into(local, o);
                }
            }
            if (shard != 0) {
                return null;
            }
            return new Span(new CompactVector(Host.pull(local.params())), CompactVector.pull(o.state()), o.steps(), losses);
        } catch (IOException e) {
            throw new UncheckedIOException("averaging rounds " + (from + 1) + "-" + to + " of epoch " + plan.epoch()
                    + ", worker " + shard + " of " + workers + ": " + e.getMessage(), e);
        }
    }

    /**
     * The averaged parameters, optimiser state and step count going down the tree: written from worker 0's
     * network and optimiser, read straight into the others' (float32 arrays as their bytes).
     */
    record Averaged(Network net, Optimizer opt, java.nio.ByteBuffer in) {
        void into(Network target, Optimizer o) {
            long steps = in.getLong();
            Frame.getArray(in, target.params());
            for (INDArray s : o.state()) {
                Frame.getArray(in, s);
            }
            o.setSteps(steps);
        }

        static final TreeExchange.Codec<Averaged> CODEC = new TreeExchange.Codec<>() {
            @Override
            public void write(Frame out, Averaged a) {
                out.putLong(a.opt().steps()).putArray(a.net().params());
                for (INDArray s : a.opt().state()) {
                    out.putArray(s);
                }
            }

            @Override
            public Averaged read(java.nio.ByteBuffer in) {
                return new Averaged(null, null, in);
            }
        };
    }
}
