package org.rollspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.data.LabeledData;
import org.rollspark.loss.RollLoss;
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;
import org.rollspark.region.Certification;
import org.rollspark.region.RegionCertifier;
import org.rollspark.region.Norm;
import org.rollspark.util.Host;

/** On a real MNIST slice, ROLL training enlarges the l2 margin at similar accuracy. */
class RollVersusVanillaTest {

    @Test
    void rollGivesSeveralTimesTheMedianL2MarginAtSimilarAccuracy() throws IOException {
        LabeledData[] mnist = LabeledData.bundledMnist(Path.of("."));
        LabeledData[] tv = mnist[0].subset("slice", IntStream.range(0, 3000).toArray()).splitValidation(300, 1);
        LabeledData test = mnist[1];
        double[] acc = new double[2];
        double[] median = new double[2];
        RollLoss[] losses = {RollLoss.vanilla(), RollLoss.roll(2, 1)};
        for (int i = 0; i < 2; i++) {
            DenseNet net = DenseNet.init(new int[] {784, 100, 100, 10}, Activation.relu(), Normalization.mnist(),
                    Init.UNIFORM_FAN_IN, 7, DataType.FLOAT);
            TrainingHistory h = new LocalTrainer(new TrainConfig(4, 32, 7, "sgd", 0.02, 0.9, losses[i], 256)).fit(net, tv[0], tv[1]);
            assertEquals(4, h.epochs().size());
            Certification c = new RegionCertifier(net).certify(test.allFeatures());
            acc[i] = c.accuracy(test.labels());
            median[i] = c.quantile(Norm.L2, 0.5);
        }
        String report = String.format("vanilla acc %.3f median eps2 %.5f; roll acc %.3f median eps2 %.5f",
                acc[0], median[0], acc[1], median[1]);
        assertTrue(acc[0] > 0.75 && acc[1] > 0.75, "both must learn: " + report);
        assertTrue(acc[0] - acc[1] < 0.08, "similar accuracy: " + report);
        assertTrue(median[1] > 3 * median[0], "ROLL's median l2 margin must be several times vanilla's: " + report);
    }

    @Test
    void trainingIsDeterministicAndKeepsTheBestEpoch() throws IOException {
        LabeledData[] tv = LabeledData.bundledMnist(Path.of("."))[0]
                .subset("tiny", IntStream.range(0, 400).toArray()).splitValidation(100, 3);
        double[][] params = new double[2][];
        TrainingHistory last = null;
        for (int run = 0; run < 2; run++) {
            DenseNet net = DenseNet.init(new int[] {784, 20, 15, 10}, Activation.leakyRelu(0.01), Normalization.mnist(),
                    Init.UNIFORM_FAN_IN, 3, DataType.FLOAT);
            TrainConfig cfg = new TrainConfig(3, 16, 11, "adam", 0.003, 0, RollLoss.roll(0.5, 0.5), 64);
            last = new LocalTrainer(cfg).fit(net, tv[0], tv[1]);
            params[run] = Host.pull(net.params());
            // the network holds the best epoch: its validation loss is the best one recorded
            double valLoss = LocalTrainer.evaluate(net, cfg.loss(), tv[1], 64).total();
            assertEquals(last.best().validation().total(), valLoss, 1e-5);
            for (EpochStats e : last.epochs()) {
                assertTrue(e.validation().total() >= last.best().validation().total());
            }
        }
        assertArrayEquals(params[0], params[1], 0.0, "same seed, same result");
    }
}
