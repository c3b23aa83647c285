package org.rollspark.spark;

import static org.rollspark.config.Setting.Type.STRING;
import static org.rollspark.config.Setting.oneOf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.Provenance;
import org.rollspark.config.Setting;
import org.rollspark.data.LabeledData;
import org.rollspark.loss.LossValue;
import org.rollspark.model.ModelIO;
import org.rollspark.model.TrainingCheckpoints;
import org.rollspark.net.Network;
import org.rollspark.train.EpochStats;
import org.rollspark.train.LocalTrainer;
import org.rollspark.train.Optimizer;
import org.rollspark.train.TrainConfig;
import org.rollspark.train.TrainingHistory;
import org.rollspark.util.Host;

/**
 * Synchronous data-parallel training by parameter averaging (the scheme of DL4J's
 * ParameterAveragingTrainingMaster). The training set is cut into {@code numWorkers} balanced, seeded
 * shards, one cached Spark partition each. Every round the driver broadcasts the parameters and the
 * optimiser state; each worker shuffles its shard for the epoch (seeded by epoch and shard), fits its
 * next {@code averagingFrequency} minibatches of {@code batchSizePerWorker}, and returns its
 * parameters and optimiser state; the driver sums them in shard order and averages over the workers
 * that trained. After each epoch the validation loss (lambda * ROLL term included) is computed on the
 * executors, the best epoch is kept, and a checkpoint is written.
 *
 * <p>With one worker and averagingFrequency 1 this performs exactly the steps of
 * {@link LocalTrainer} with batch size batchSizePerWorker. Tasks are pure functions of the broadcast
 * and their shard, so retried tasks cannot double count. The same rounds also run in one JVM over
 * shards held in memory ({@link #fitInProcess}), with the same results.
 */
public final class ParameterAveragingTrainer {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<String> ROUNDS = SETTINGS.add(Setting.of("spark.rounds", STRING, "auto",
            "How averaging rounds run (the same bits either way). barrier: one Spark barrier stage per span of rounds "
                    + "(to the next checkpoint, metrics row or progress line, or the epoch's end), one long-lived task per worker; the "
                    + "tasks add their results in the driver's tree over direct TCP connections and keep their network "
                    + "between rounds; a failed stage runs again whole. tasks: one Spark job per round (broadcast, tasks, "
                    + "results to the driver). auto: barrier when the cluster has a task slot per worker, no dynamic "
                    + "allocation and no encrypted Spark traffic, tasks otherwise (the choice is logged).",
            oneOf(List.of("auto", "barrier", "tasks"))).main());

    /**
     * The settings a checkpoint may be resumed under changed, since none changes a bit of the epochs trained: where
     * the driver runs (spark.master) and checkpoints go, how rounds run, the epoch count (a finished run may continue
     * with more epochs), the checkpoint interval, and the files a table was read from (their modification times
     * change when the same rows are rewritten; the data's fingerprint stands for the rows).
     */
    public static final java.util.Set<String> OUTSIDE_IDENTITY = java.util.Set.of(SparkTrainConfig.MASTER.key(),
            "spark.checkpointDir", ROUNDS.key(), TrainConfig.EPOCHS.key(), SparkTrainConfig.CHECKPOINT_ROUNDS.key(),
            Provenance.TABLES);

    private final JavaSparkContext sc;
    private final SparkTrainConfig config;
    private final Consumer<String> log;
    private final java.util.Map<String, Object> provenanceConfig;
    private String roundMode = "auto";
    private boolean allGather; // barrier tasks meet through Spark's allGather: the driver's rendezvous is out of reach

    public ParameterAveragingTrainer(JavaSparkContext sc, SparkTrainConfig config, Consumer<String> log,
            java.util.Map<String, Object> provenanceConfig) {
        this.sc = sc;
        this.config = config;
        this.log = log;
        this.provenanceConfig = provenanceConfig;
    }

    /** How rounds run: {@code auto}, {@code barrier} or {@code tasks} (the setting spark.rounds). */
    public ParameterAveragingTrainer rounds(String mode) {
        ROUNDS.check(mode);
        this.roundMode = mode;
        return this;
    }

    /** Barrier tasks meet through Spark's allGather, as after an unreachable rendezvous (tests). */
    ParameterAveragingTrainer meetThroughAllGather() {
        this.allGather = true;
        return this;
    }

    /**
     * Test hook (local mode only, where executors share the driver's JVM): when set, the first attempt
     * of every task over the shards fails after doing its work, so Spark retries it.
     */
    static volatile boolean failFirstAttempts;

    /** Test hook (local mode only): when set, tasks over the shards wait longer the lower their shard, so they finish in reverse. */
    static volatile boolean reverseFinishOrder;

    /**
     * Test hook (local mode only): a run whose learning rate is exactly this fails at its start, as a
     * run fails for reasons other than divergence (an executor out of memory, a lost disk); NaN: never.
     */
    public static volatile double failAtLearningRate = Double.NaN;

    /** The shuffling seed of shard {@code shard} in an epoch; shard 0 uses the local trainer's seed. */
    static long shardSeed(long seed, int epoch, int shard) {
        return LocalTrainer.epochSeed(seed, epoch) + 0x632BE59BD9B4E019L * shard;
    }

    /**
     * Trains {@code net} in place in this JVM, on shards held in memory (one per worker, in shard order):
     * the rounds, sums and order of {@link #fit(Network, ShardedData, ShardedData, Consumer)} over the
     * same shards, so the same bits, without Spark and without checkpoints. A sweep point trained whole
     * inside one Spark task runs this.
     */
    public static TrainingHistory fitInProcess(SparkTrainConfig config, Network net, LabeledData[] train,
            LabeledData[] validation, String name, String fingerprint, Consumer<EpochStats> listener) {
        SparkTrainConfig c = new SparkTrainConfig(config.train(), train.length, config.batchSizePerWorker(),
                config.averagingFrequency(), null, 0);
        return new ParameterAveragingTrainer(null, c, m -> { }, null).run(net, Shards.inProcess(train, name, fingerprint),
                validation == null ? null : Shards.inProcess(validation, name, fingerprint), listener);
    }

    /** Trains {@code net} in place (it ends holding the best epoch) and returns the history. */
    public TrainingHistory fit(Network net, LabeledData train, LabeledData validation, Consumer<EpochStats> listener) {
        long seed = config.train().seed();
        ShardedData t = ShardedData.of(sc, train, config.numWorkers(), seed);
        ShardedData v = validation == null ? null : ShardedData.of(sc, validation, config.numWorkers(), seed);
        try {
            return fit(net, t, v, listener);
        } finally {
            t.unpersist();
            if (v != null) {
                v.unpersist();
            }
        }
    }

    /**
     * Trains {@code net} in place on data already sharded on the executors (one shard per worker,
     * {@link DataPipeline}); the shards stay cached for the caller.
     */
    public TrainingHistory fit(Network net, ShardedData train, ShardedData validation, Consumer<EpochStats> listener) {
        return run(net, Shards.onSpark(sc, train), validation == null ? null : Shards.onSpark(sc, validation), listener);
    }

    private TrainingHistory run(Network net, Shards train, Shards validation, Consumer<EpochStats> listener) {
        TrainConfig tc = config.train();
        if (tc.lr() == failAtLearningRate) {
            throw new IllegalStateException("injected failure of the run at learning rate " + tc.lr() + " (test)");
        }
        if (train.numFeatures() != net.inputSize()) {
            throw new IllegalArgumentException(train.name() + " has " + train.numFeatures()
                    + " features; the network takes " + net.inputSize());
        }
        int workers = train.count();
        int largest = train.largest();
        int perRound = config.batchSizePerWorker() * config.averagingFrequency();
        int rounds = (largest + perRound - 1) / perRound;
        Optimizer opt = tc.newOptimizer(net.params().length(), net.dataType());
        List<EpochStats> epochs = new ArrayList<>();
        INDArray best = null;
        double bestLoss = Double.POSITIVE_INFINITY;
        int bestEpoch = 0;
        long start = System.nanoTime();
        String fingerprint = train.fingerprint();
        TrainingCheckpoints store = checkpoints(fingerprint);
        int firstEpoch = 1;
        int firstRound = 0;
        LossValue resumedLoss = null;
        TrainingCheckpoints.Resume resume = store == null ? null : read(store);
        if (resume != null) {
            TrainingCheckpoints.State st = resume.state();
            if (st.epoch() > tc.epochs()) {
                throw new IllegalArgumentException("train.epochs is " + tc.epochs() + ", and checkpoint " + config.checkpointDir()
                        + "/" + resume.name() + " is past it (" + st.epoch() + " epochs trained); a run only continues "
                        + "with more epochs: raise train.epochs, or train the shorter run under another output.runId");
            }
            Host.push(resume.params(), net.params());
            INDArray[] os = opt.state();
            if (os.length != resume.optimizer().length) {
                throw new IllegalArgumentException("checkpoint " + resume.name() + " holds " + resume.optimizer().length
                        + " optimiser arrays, " + tc.optimizer() + " has " + os.length);
            }
            for (int i = 0; i < os.length; i++) {
                Host.push(resume.optimizer()[i], os[i]);
            }
            opt.setSteps(st.optimizerSteps());
            epochs.addAll(st.history());
            bestEpoch = st.bestEpoch();
            bestLoss = st.bestLoss();
            if (resume.best() != null) {
                best = net.params().dup();
                Host.push(resume.best(), best);
            }
            if (st.round() < 0) {
                firstEpoch = st.epoch() + 1;
            } else {
                firstEpoch = st.epoch();
                firstRound = st.round();
                resumedLoss = st.epochLoss();
            }
            log.accept("resuming from checkpoint " + config.checkpointDir() + "/" + resume.name() + " (" + (st.round() < 0
                    ? "epoch " + st.epoch() + " done" : "epoch " + st.epoch() + ", " + st.round() + " of " + rounds + " rounds done")
                    + ")");
        }
        if (sc != null && roundMode.equals("barrier") && taskSlots() < workers) {
            throw new IllegalArgumentException("spark.rounds = barrier: a barrier stage starts a task per worker at once, and "
                    + "the cluster has " + taskSlots() + " task slots for " + workers + " workers (spark.numWorkers); use "
                    + "spark.rounds = auto or tasks, or more executor cores");
        }
        String refusal = barrierRefusal(workers);
        boolean barrier = refusal == null;
        log.accept(barrier ? "rounds: barrier stages (" + workers + " long-lived tasks exchanging results directly, "
                + "spark.rounds = " + roundMode + ")" : "rounds: one Spark job per round (" + refusal + ")");
        for (int epoch = firstEpoch; epoch <= tc.epochs(); epoch++) {
            long t0 = System.nanoTime();
            LossValue sum = epoch == firstEpoch && resumedLoss != null ? resumedLoss : LossValue.empty();
            int round = epoch == firstEpoch ? firstRound : 0;
            while (round < rounds) {
                int end = barrier ? spanEnd(round, rounds, listener) : round + 1;
                double before = (System.nanoTime() - t0) / 1e9;
                LossValue[] losses = barrier ? span(train, net, opt, epoch, round, end, rounds)
                        : new LossValue[] {round(train, net, opt, epoch, round, rounds)};
                double after = (System.nanoTime() - t0) / 1e9;
                for (int r = round; r < end; r++) {
                    if (losses[r - round] != null) {
                        sum = sum.plus(losses[r - round]);
                    }
                    // when round r + 1 ended: a span's rounds are taken to be equally long
                    double secs = before + (after - before) * (r + 1 - round) / (end - round);
                    if (listener instanceof RoundListener l) {
                        l.round(epoch, r + 1, rounds, sum, secs);
                    }
                    if (logPoint(r + 1, rounds)) {
                        log.accept(String.format(java.util.Locale.ROOT,
                                "epoch %d/%d round %d/%d: loss %.4f (ROLL term %.4f), train acc %.3f, %.0f ex/s",
                                epoch, tc.epochs(), r + 1, rounds, sum.total(), sum.rollTerm(), sum.accuracy(),
                                sum.count() / secs));
                    }
                }
                round = end;
                int every = config.checkpointRounds();
                if (store != null && every > 0 && round % every == 0 && round < rounds) {
                    save(store, net, opt, best, new TrainingCheckpoints.State(epoch, round, sum, epochs, bestEpoch,
                            bestLoss, opt.steps()), fingerprint);
                }
            }
            recalibrate(train, net, workers);
            double trainSeconds = (System.nanoTime() - t0) / 1e9;
            LossValue val = null;
            if (validation != null) {
                val = evaluate(validation, net, "roll validate: epoch " + epoch + "/" + tc.epochs());
            }
            EpochStats s = new EpochStats(epoch, sum, val, (System.nanoTime() - t0) / 1e9, train.size() / trainSeconds);
            epochs.add(s);
            listener.accept(s);
            double eta = (System.nanoTime() - start) / 1e9 / (epoch - firstEpoch + 1) * (tc.epochs() - epoch);
            log.accept(String.format(java.util.Locale.ROOT, "epoch %d/%d done, ETA %.0f s", epoch, tc.epochs(), eta));
            double score = val == null ? -epoch : val.total();
            if (score < bestLoss) {
                bestLoss = score;
                bestEpoch = epoch;
                best = net.params().dup();
            }
            if (store != null) {
                save(store, net, opt, best, new TrainingCheckpoints.State(epoch, -1, sum, epochs, bestEpoch, bestLoss,
                        opt.steps()), fingerprint);
            }
        }
        if (best == null) {
            throw new IllegalStateException("no epoch to keep: train.epochs is " + tc.epochs() + " and the checkpoints in "
                    + config.checkpointDir() + " are of a finished run");
        }
        net.setParams(best);
        if (store != null) {
            try {
                ModelIO.save(net, org.rollspark.model.RemoteFolders.join(config.checkpointDir(), "best"), sc.hadoopConfiguration(),
                        Provenance.record(provenanceConfig, config.train().seed(), fingerprint));
            } catch (IOException | RuntimeException e) {
                log.accept("note: could not write " + config.checkpointDir() + "/best (" + e.getMessage() + ")");
            }
        }
        return new TrainingHistory(epochs, bestEpoch);
    }

    /**
     * The checkpoint store of this run, or null without a checkpoint folder. A checkpoint resumes only
     * under the settings it was written with ({@link TrainingCheckpoints#relevant}: all but where output
     * goes, how rounds run, the epoch count and the checkpoint interval), the training data's fingerprint
     * included.
     */
    private TrainingCheckpoints checkpoints(String fingerprint) {
        if (config.checkpointDir() == null) {
            return null;
        }
        java.util.Map<String, Object> all = new java.util.TreeMap<>();
        if (provenanceConfig != null) {
            all.putAll(provenanceConfig);
        }
        all.putAll(config.toMap());
        java.util.Set<String> explicit = provenanceConfig instanceof Provenance.Settings s ? s.explicit() : java.util.Set.of();
        try {
            return new TrainingCheckpoints(config.checkpointDir(), sc.hadoopConfiguration(),
                    TrainingCheckpoints.relevant(all, fingerprint, OUTSIDE_IDENTITY), explicit, OUTSIDE_IDENTITY);
        } catch (IOException e) {
            throw new UncheckedIOException("checkpoints in " + config.checkpointDir() + ": " + e.getMessage(), e);
        }
    }

    private TrainingCheckpoints.Resume read(TrainingCheckpoints store) {
        try {
            return store.newest();
        } catch (IOException e) {
            throw new UncheckedIOException("reading checkpoints in " + config.checkpointDir() + ": " + e.getMessage(), e);
        }
    }

    private void save(TrainingCheckpoints store, Network net, Optimizer opt, INDArray best, TrainingCheckpoints.State st,
            String dataFingerprint) {
        try {
            String where = store.write(net, opt, best, st, Provenance.record(provenanceConfig, config.train().seed(),
                    dataFingerprint));
            log.accept("checkpoint written: " + where);
        } catch (IOException e) {
            throw new UncheckedIOException("checkpoint " + TrainingCheckpoints.name(st.epoch(), st.round()) + " in "
                    + config.checkpointDir() + ": " + e.getMessage(), e);
        }
    }

    /** One averaging round as one Spark job (or one loop in process); averages into net and opt, returns the summed loss. */
    private LossValue round(Shards shards, Network net, Optimizer opt, int epoch, int round, int rounds) {
        RoundPlan plan = RoundPlan.share(shards, net, opt, config, epoch);
        try {
            RoundResult r = shards.reduce(describe(epoch, round, round + 1, rounds), new TrainRound(plan, round),
                    new RoundResult(), new AddResults());
            if (r.workers == 0) {
                return null;
            }
            r.averageInto(net, opt);
            return r.loss;
        } finally {
            plan.release();
        }
    }

    private String describe(int epoch, int from, int to, int rounds) {
        return "roll train: epoch " + epoch + "/" + config.train().epochs() + ", round" + (to - from > 1 ? "s " + (from + 1)
                + "-" + to : " " + to) + "/" + rounds;
    }

    /** Rounds whose end is logged: a quarter of an epoch's rounds (with 8 or more rounds). */
    private static boolean logPoint(int done, int rounds) {
        return rounds >= 8 && done % (rounds / 4) == 0 && done < rounds;
    }

    /** Seconds a round of the last barrier span took (0: none yet). */
    private double secondsPerRound;

    /** A barrier span starting every round costs about a round run as its own Spark job: spans shorter than this are avoided. */
    private static final double MIN_LOGGED_SPAN_SECONDS = 10;

    /**
     * The end of a barrier span starting at {@code round}: the next round after which a checkpoint or a metrics
     * row is written, or the epoch's end; and the next progress-log point, unless the last span's pace says it
     * comes in less than {@link #MIN_LOGGED_SPAN_SECONDS} (its line is then written when the span ends).
     */
    private int spanEnd(int round, int rounds, Consumer<EpochStats> listener) {
        int every = listener instanceof RoundListener l ? l.everyRounds() : 0;
        for (int end = round + 1; end < rounds; end++) {
            if (config.checkpointRounds() > 0 && end % config.checkpointRounds() == 0 || every > 0 && end % every == 0
                    || logPoint(end, rounds) && (secondsPerRound == 0
                            || (end - round) * secondsPerRound >= MIN_LOGGED_SPAN_SECONDS)) {
                return end;
            }
        }
        return rounds;
    }

    /**
     * Why rounds cannot run as barrier stages now, or null when they can: shards in process, spark.rounds =
     * tasks, dynamic allocation (Spark refuses barrier stages with it), encrypted Spark traffic (the exchange
     * between the tasks is plain TCP), or fewer task slots than workers.
     */
    private String barrierRefusal(int workers) {
        if (sc == null) {
            return "in process";
        }
        if (roundMode.equals("tasks")) {
            return "spark.rounds = tasks";
        }
        org.apache.spark.SparkConf conf = sc.getConf();
        boolean forced = roundMode.equals("barrier");
        if (conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
            return forced ? null : "spark.dynamicAllocation.enabled: Spark runs no barrier stage with it";
        }
        if (!forced && (conf.getBoolean("spark.network.crypto.enabled", false) || conf.getBoolean("spark.ssl.enabled", false))) {
            return "Spark's traffic is encrypted and the barrier exchange is plain TCP; spark.rounds = barrier to use it anyway";
        }
        int slots = taskSlots();
        if (!forced && slots < workers) {
            return slots + " task slots for " + workers + " workers: a barrier stage starts all its tasks at once";
        }
        return null;
    }

    /** Tasks the cluster can run at once now (Spark's own count for barrier stages; estimated if unavailable). */
    private int taskSlots() {
        try {
            return sc.sc().maxNumConcurrentTasks(sc.sc().resourceProfileManager().defaultResourceProfile());
        } catch (RuntimeException | LinkageError e) {
            int cpus = Math.max(1, sc.getConf().getInt("spark.task.cpus", 1));
            int executors = sc.master().startsWith("local") ? 1 : sc.sc().getExecutorIds().size();
            return executors * (TaskThreads.executorCores(sc) / cpus);
        }
    }

    /**
     * Rounds [from, to) of an epoch in one barrier stage ({@link BarrierRounds}); averages into net and opt,
     * returns each round's summed loss. A failed stage runs again whole from the same state (up to
     * spark.stage.maxConsecutiveAttempts times), as one Spark job per round when the slots are short.
     */
    private LossValue[] span(Shards shards, Network net, Optimizer opt, int epoch, int from, int to, int rounds) {
        int attempts = Math.max(1, sc.getConf().getInt("spark.stage.maxConsecutiveAttempts", 4));
        for (int attempt = 0; ; attempt++) {
            String refusal = barrierRefusal(shards.count());
            if (refusal != null) {
                log.accept("rounds " + (from + 1) + "-" + to + " of epoch " + epoch + ": one Spark job per round (" + refusal + ")");
                LossValue[] out = new LossValue[to - from];
                for (int r = from; r < to; r++) {
                    out[r - from] = round(shards, net, opt, epoch, r, rounds);
                }
                return out;
            }
            RoundPlan plan = RoundPlan.share(shards, net, opt, config, epoch);
            long token = new java.security.SecureRandom().nextLong();
            Rendezvous rendezvous = openRendezvous(shards.count(), token);
            try {
                long began = System.nanoTime();
                BarrierRounds task = new BarrierRounds(plan, from, to, token,
                        rendezvous == null ? null : rendezvous.address(), attempt);
                List<BarrierRounds.Span> out = shards.together(describe(epoch, from, to, rounds), task);
                BarrierRounds.Span span = out.get(0);
                secondsPerRound = (System.nanoTime() - began) / 1e9 / (to - from);
                Host.push(span.params().values, net.params());
                INDArray[] st = opt.state();
                for (int s = 0; s < st.length; s++) {
                    Host.push(span.state()[s].values, st[s]);
                }
                opt.setSteps(span.steps());
                return span.losses();
            } catch (Exception e) { // Spark's exceptions arrive unchecked
                if (!allGather && String.valueOf(e.getMessage()).contains(Rendezvous.UNREACHABLE)) {
                    allGather = true;
                    log.accept("rounds: executors cannot reach the driver's rendezvous (" + firstLine(e) + "); barrier "
                            + "tasks meet through Spark's allGather from now on (about a second per span)");
                }
                if (attempt + 1 >= attempts || String.valueOf(e.getMessage()).contains(org.rollspark.train.DivergedException.MARK)) {
                    throw e;
                }
                log.accept("rounds " + (from + 1) + "-" + to + " of epoch " + epoch + ": barrier stage failed (" + firstLine(e)
                        + "); running them again (attempt " + (attempt + 2) + " of " + attempts + ")");
                try {
                    Thread.sleep(1000L * (attempt + 1)); // lost executors are noticed and replaced meanwhile
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            } finally {
                if (rendezvous != null) {
                    rendezvous.close();
                }
                plan.release();
            }
        }
    }

    /** The driver's rendezvous for a span's tasks, or null when they meet through Spark's allGather. */
    private Rendezvous openRendezvous(int workers, long token) {
        if (allGather) {
            return null;
        }
        String host = sc.getConf().get("spark.driver.host", "localhost");
        try {
            return new Rendezvous(host, workers, token);
        } catch (IOException e) {
            allGather = true;
            log.accept("rounds: no socket for the barrier rendezvous on " + host + " (" + e.getMessage()
                    + "); barrier tasks meet through Spark's allGather (about a second per span)");
            return null;
        }
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** A worker's optimiser holding the broadcast state. */
    static Optimizer optimizer(TrainConfig config, Network local, CompactVector[] sv, long steps) {
        Optimizer o = config.newOptimizer(local.params().length(), local.dataType());
        INDArray[] arrays = new INDArray[sv.length];
        for (int s = 0; s < sv.length; s++) {
            arrays[s] = Host.array(sv[s].values, local.dataType(), sv[s].values.length);
        }
        o.restore(arrays, steps);
        return o;
    }

    /**
     * A worker's part of one round: its next minibatches of the epoch's order trained into {@code local} and
     * {@code o}, returned as a round result (read from the live arrays when it is sent, with {@code live}); null
     * when its shard has no examples left in this round.
     */
    static RoundResult trainRound(Network local, org.rollspark.net.Gradient grad, Optimizer o, TrainConfig config,
            LabeledData part, int[] order, int batch, int perRound, int epoch, int shard, int round, boolean live) {
        int from = round * perRound;
        if (from >= part.size()) {
            return null;
        }
        int to = Math.min(part.size(), from + perRound);
        LossValue v = LocalTrainer.runBatches(local, grad, o, config.loss(), part, order, from, to, batch,
                shardSeed(config.seed(), epoch, shard), "epoch " + epoch + " shard " + shard);
        if (live) {
            return RoundResult.live(local, o, v);
        }
        INDArray[] os = o.state();
        double[][] outState = new double[os.length][];
        for (int s = 0; s < os.length; s++) {
            outState[s] = Host.pull(os[s]);
        }
        return RoundResult.of(Host.pull(local.params()), outState, o.steps(), v);
    }

    /**
     * Re-estimates batch-norm running statistics on the executors: per-channel sums over the first
     * examples of every shard ({@link LocalTrainer#BN_SAMPLE} in all) with the epoch's final
     * parameters, added up and set on the driver. No-op for networks without batch norm.
     */
    private void recalibrate(Shards shards, Network net, int workers) {
        if (!net.hasBatchNorm()) {
            return;
        }
        int perShard = (LocalTrainer.BN_SAMPLE + workers - 1) / workers;
        Shards.Shared<NetState> bNet = shards.share(NetState.of(net));
        try {
            net.setBatchNormStatistics(shards.reduce("roll: batch-norm statistics",
                    new BatchNormSums(bNet, perShard, config.train().evalBatchSize()), null, new AddSums()));
        } finally {
            bNet.release();
        }
    }

    private static final class BatchNormSums implements Shards.Task<double[]> {
        private static final long serialVersionUID = 1L;
        private final Shards.Shared<NetState> net;
        private final int limit;
        private final int batch;

        BatchNormSums(Shards.Shared<NetState> net, int limit, int batch) {
            this.net = net;
            this.limit = limit;
            this.batch = batch;
        }

        @Override
        public double[] call(int shard, LabeledData part) {
            return LocalTrainer.batchNormSums(net.value().toNet(), part, limit, batch);
        }
    }

    private static final class AddSums implements Function2<double[], double[], double[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public double[] call(double[] a, double[] b) {
            if (a == null) {
                return b;
            }
            double[] out = a.clone();
            for (int i = 0; i < out.length; i++) {
                out[i] += b[i];
            }
            return out;
        }
    }

    /** The loss of the current network over sharded data, computed per shard and added in shard order. */
    private LossValue evaluate(Shards shards, Network net, String description) {
        Shards.Shared<NetState> bNet = shards.share(NetState.of(net));
        try {
            return shards.reduce(description, new Evaluate(bNet, config.train().loss(), config.train().evalBatchSize()),
                    LossValue.empty(), new AddLosses());
        } finally {
            bNet.release();
        }
    }

    /** One averaging round on one shard: the worker side of {@link #round}. */
    private record TrainRound(RoundPlan plan, int round) implements Shards.Task<RoundResult> {
        @Override
        public RoundResult call(int shard, LabeledData part) {
            return round * plan.perRound() >= part.size() ? null : plan.start(shard, part).train(round, false);
        }
    }

    private static final class AddResults implements Function2<RoundResult, RoundResult, RoundResult> {
        private static final long serialVersionUID = 1L;

        @Override
        public RoundResult call(RoundResult a, RoundResult b) {
            return a.add(b);
        }
    }

    private static final class Evaluate implements Shards.Task<LossValue> {
        private static final long serialVersionUID = 1L;
        private final Shards.Shared<NetState> net;
        private final org.rollspark.loss.RollLoss loss;
        private final int batch;

        Evaluate(Shards.Shared<NetState> net, org.rollspark.loss.RollLoss loss, int batch) {
            this.net = net;
            this.loss = loss;
            this.batch = batch;
        }

        @Override
        public LossValue call(int shard, LabeledData part) {
            return LocalTrainer.evaluate(net.value().toNet(), loss, part, batch);
        }
    }

    private static final class AddLosses implements Function2<LossValue, LossValue, LossValue> {
        private static final long serialVersionUID = 1L;

        @Override
        public LossValue call(LossValue a, LossValue b) {
            return a.plus(b);
        }
    }
}
