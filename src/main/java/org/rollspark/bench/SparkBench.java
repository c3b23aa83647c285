package org.rollspark.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.rollspark.data.LabeledData;
import org.rollspark.loss.RollLoss;
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.spark.ParameterAveragingTrainer;
import org.rollspark.spark.SparkTrainConfig;
import org.rollspark.train.TrainConfig;

/**
 * Parameter averaging on Spark local mode, this project against DL4J's ParameterAveragingTrainingMaster
 * (the reference peer) on the same MLP (784-300-300-10 ReLU, float32) with the same knobs: workers,
 * batchSizePerWorker 32, averagingFrequency 5, SGD with Nesterov momentum. Data: the bundled MNIST
 * slice. Prints the median training throughput (examples/s) of the epochs after the first.
 *
 * <p>Usage: {@code SparkBench ours|dl4j|local vanilla|roll WORKERS EPOCHS EXAMPLES [AVERAGING_FREQUENCY=5]
 * [ROUNDS=auto] [SIZES=784,300,300,10]}; run with OMP_NUM_THREADS=1 so each worker is one core (jobs/bench-spark.sh). {@code local} is the
 * local trainer at batchSizePerWorker on one core, over EXAMPLES / WORKERS examples (a worker's share). For
 * {@code ours} it also prints the seconds per averaging round and ROUNDS (spark.rounds: auto, barrier, tasks).
 */
public final class SparkBench {
    private SparkBench() {}

    public static void main(String[] args) throws Exception {
        String impl = args[0];
        String lossName = args[1];
        int workers = Integer.parseInt(args[2]);
        int epochs = Integer.parseInt(args[3]);
        int examples = Integer.parseInt(args[4]);
        int frequency = args.length > 5 ? Integer.parseInt(args[5]) : 5;
        String rounds = args.length > 6 ? args[6] : "auto";
        // a wider net for the round cost at ~10M parameters: e.g. 784,3000,3000,10 (11.4M)
        int[] sizes = args.length > 7 ? Arrays.stream(args[7].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {784, 300, 300, 10};
        LabeledData train = LabeledData.bundledMnist(Path.of("."))[0].subset("bench", IntStream.range(0, examples).toArray());
        JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[" + workers + "]")
                .setAppName("roll spark bench").set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"));
        sc.setLogLevel("ERROR");
        List<Double> rates = new ArrayList<>();
        List<Double> seconds = new ArrayList<>();
        try {
            if (impl.equals("local")) {
                RollLoss loss = lossName.equals("roll") ? RollLoss.roll(2, 0.25) : RollLoss.vanilla();
                TrainConfig tc = new TrainConfig(epochs, 32, 7, "sgd", 0.01, 0.9, loss, 256);
                DenseNet net = DenseNet.init(sizes, Activation.relu(), Normalization.mnist(), Init.UNIFORM_FAN_IN, 7,
                        DataType.FLOAT);
                new org.rollspark.train.LocalTrainer(tc, s -> rates.add(s.examplesPerSecond())).fit(net,
                        train.subset("share", IntStream.range(0, examples / workers).toArray()), null);
            } else if (impl.equals("ours")) {
                RollLoss loss = lossName.equals("roll") ? RollLoss.roll(2, 0.25) : RollLoss.vanilla();
                TrainConfig tc = new TrainConfig(epochs, 32, 7, "sgd", 0.01, 0.9, loss, 256);
                DenseNet net = DenseNet.init(sizes, Activation.relu(), Normalization.mnist(), Init.UNIFORM_FAN_IN, 7,
                        DataType.FLOAT);
                new ParameterAveragingTrainer(sc, new SparkTrainConfig(tc, workers, 32, frequency, null), m -> { },
                        java.util.Map.of()).rounds(rounds).fit(net, train, null, s -> {
                            rates.add(s.examplesPerSecond());
                            seconds.add(s.seconds());
                        });
            } else {
                if (!lossName.equals("vanilla")) {
                    throw new IllegalArgumentException("DL4J has no ROLL loss: dl4j runs take vanilla only");
                }
                MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT)
                        .updater(new Nesterovs(0.01, 0.9)).weightInit(WeightInit.RELU).list()
                        .layer(new DenseLayer.Builder().nIn(784).nOut(300).activation(org.nd4j.linalg.activations.Activation.RELU).build())
                        .layer(new DenseLayer.Builder().nIn(300).nOut(300).activation(org.nd4j.linalg.activations.Activation.RELU).build())
                        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(300).nOut(10)
                                .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build())
                        .build();
                ParameterAveragingTrainingMaster tm = new ParameterAveragingTrainingMaster.Builder(32)
                        .batchSizePerWorker(32).averagingFrequency(frequency).workerPrefetchNumBatches(0)
                        .rddTrainingApproach(RDDTrainingApproach.Direct).build();
                SparkDl4jMultiLayer net = new SparkDl4jMultiLayer(sc, conf, tm);
                List<DataSet> batches = new ArrayList<>();
                int[] order = LabeledData.permutation(train.size(), 7);
                for (int from = 0; from < train.size(); from += 32) {
                    int to = Math.min(train.size(), from + 32);
                    INDArray x = train.features(order, from, to).subi(0.1307).divi(0.3081);
                    int[] y = train.labels(order, from, to);
                    INDArray oneHot = Nd4j.zeros(DataType.FLOAT, y.length, 10);
                    for (int i = 0; i < y.length; i++) {
                        oneHot.putScalar(i, y[i], 1);
                    }
                    batches.add(new DataSet(x, oneHot));
                }
                JavaRDD<DataSet> rdd = sc.parallelize(batches, workers);
                rdd.count();
                for (int e = 0; e < epochs; e++) {
                    long t0 = System.nanoTime();
                    net.fit(rdd);
                    rates.add(train.size() / ((System.nanoTime() - t0) / 1e9));
                }
            }
        } finally {
            sc.stop();
        }
        double[] after = rates.subList(Math.min(1, rates.size() - 1), rates.size()).stream().mapToDouble(Double::doubleValue)
                .sorted().toArray();
        String perRound = "";
        if (!seconds.isEmpty()) {
            int roundsPerEpoch = (examples / workers + 32 * frequency - 1) / (32 * frequency);
            double[] s = seconds.subList(Math.min(1, seconds.size() - 1), seconds.size()).stream().mapToDouble(Double::doubleValue)
                    .sorted().toArray();
            perRound = String.format(Locale.ROOT, ", \"rounds\": \"%s\", \"msPerRound\": %.2f", rounds,
                    1000 * median(s) / roundsPerEpoch);
        }
        System.out.printf(Locale.ROOT, "{\"impl\": \"%s\", \"loss\": \"%s\", \"workers\": %d, \"averagingFrequency\": %d, "
                + "\"examplesPerSecond\": %.1f%s, \"epochs\": %s}%n", impl, lossName, workers, frequency, median(after), perRound,
                Arrays.toString(rates.stream().mapToDouble(d -> Math.round(d * 10) / 10.0).toArray()));
        System.exit(0); // Spark's barrier tasks leave a non-daemon timer thread behind in local mode
    }

    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
