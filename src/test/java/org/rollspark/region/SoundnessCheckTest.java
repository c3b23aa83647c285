package org.rollspark.region;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.data.LabeledData;
import org.rollspark.net.Activation;
import org.rollspark.dense.DenseNet;
import org.rollspark.net.Init;
import org.rollspark.net.Normalization;

class SoundnessCheckTest {

    /** float32 certificates of a real-size MNIST net, re-verified in float64: no violation. */
    @Test
    void float32CertificatesHoldInFloat64() throws IOException {
        LabeledData test = LabeledData.bundledMnist(Path.of("."))[1].subset("t", IntStream.range(0, 12).toArray());
        DenseNet net = DenseNet.init(new int[] {784, 64, 64, 10}, Activation.relu(), Normalization.mnist(),
                Init.UNIFORM_FAN_IN, 2, DataType.FLOAT);
        INDArray x = test.allFeatures();
        Certification c = new RegionCertifier(net).certify(x);
        long[] ids = IntStream.range(0, 12).asLongStream().toArray();
        SoundnessCheck.Report r = new SoundnessCheck(net, 50, 1).verify(x, c, test.labels(), ids, 12);
        assertEquals(12, r.examples());
        assertEquals(12 * 150, r.points());
        assertEquals(0, r.violations());
    }

    /** The check can fail: certificates of one model do not hold for another. */
    @Test
    void certificatesOfAnotherModelAreViolations() throws IOException {
        LabeledData test = LabeledData.bundledMnist(Path.of("."))[1].subset("t", IntStream.range(0, 6).toArray());
        DenseNet a = DenseNet.init(new int[] {784, 32, 10}, Activation.relu(), Normalization.mnist(), Init.UNIFORM_FAN_IN, 1,
                DataType.FLOAT);
        DenseNet b = DenseNet.init(new int[] {784, 32, 10}, Activation.relu(), Normalization.mnist(), Init.UNIFORM_FAN_IN, 2,
                DataType.FLOAT);
        INDArray x = test.allFeatures();
        Certification c = new RegionCertifier(a).certify(x);
        long[] ids = IntStream.range(0, 6).asLongStream().toArray();
        SoundnessCheck.Report r = new SoundnessCheck(b, 20, 1).verify(x, c, test.labels(), ids, 6);
        assertTrue(r.violations() > 0, "violations expected: " + r);
    }
}
