package org.rollspark.spark;

import java.io.Serializable;
import org.rollspark.data.LabeledData;
import org.rollspark.net.Gradient;
import org.rollspark.net.Network;
import org.rollspark.train.Optimizer;
import org.rollspark.train.TrainConfig;

/**
 * What a worker needs for its averaging rounds, as the driver hands it out: the network and optimiser
 * state at the start (broadcast), the training settings, the minibatch and round sizes and the epoch. Both
 * ways of running rounds (one Spark job per round, a barrier span) start their workers from a plan, so a
 * worker's state, gradient holder and minibatch order are the same either way.
 */
record RoundPlan(Shards.Shared<NetState> net, Shards.Shared<CompactVector[]> state, long steps, TrainConfig config,
        int batch, int perRound, int epoch) implements Serializable {

    /** Shares {@code net} and {@code opt}'s state with the workers; {@link #release} when the rounds are done. */
    static RoundPlan share(Shards shards, Network net, Optimizer opt, SparkTrainConfig config, int epoch) {
        int batch = config.batchSizePerWorker();
        return new RoundPlan(shards.share(NetState.of(net)), shards.share(CompactVector.pull(opt.state())), opt.steps(),
                config.train(), batch, batch * config.averagingFrequency(), epoch);
    }

    void release() {
        net.release();
        state.release();
    }

    /** Worker {@code shard}'s own copy of the network and optimiser, over its part of the training split. */
    Worker start(int shard, LabeledData part) {
        Network local = net.value().toNet();
        Optimizer o = ParameterAveragingTrainer.optimizer(config, local, state.value(), steps);
        long seed = ParameterAveragingTrainer.shardSeed(config.seed(), epoch, shard);
        int[] order = LabeledData.permutation(part.size(), seed);
        return new Worker(this, shard, part, local, o, config.loss().gradientFor(local), order);
    }

    /** A worker between rounds: its network, optimiser, gradient holder and the epoch's minibatch order. */
    record Worker(RoundPlan plan, int shard, LabeledData part, Network net, Optimizer opt, Gradient grad, int[] order) {
        /** Round {@code round}'s minibatches; null when the shard has none left ({@code live}: see trainRound). */
        RoundResult train(int round, boolean live) {
            return ParameterAveragingTrainer.trainRound(net, grad, opt, plan.config(), part, order, plan.batch(),
                    plan.perRound(), plan.epoch(), shard, round, live);
        }
    }
}
