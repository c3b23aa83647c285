package org.rollspark.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.data.LabeledData;
import org.rollspark.net.Network;
import org.rollspark.region.Certification;
import org.rollspark.region.GradientStability;
import org.rollspark.region.RegionCertifier;
import org.rollspark.region.SoundnessCheck;
import org.rollspark.util.Host;

/**
 * The per-example computation of a certification run, on the executors: certifies every example of a
 * shard and turns each into a row of {@link CertificationTables#EXAMPLES}. Shard p of P re-verifies
 * {@code floor((p+1)N/P) - floor(pN/P)} of its examples in the soundness mode (N over all shards), and
 * the same split applies to gradient stability.
 */
final class CertifyShard implements Function2<Integer, Iterator<LabeledData>, Iterator<Row>> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<NetState> net;
    private final CertificationTables.RunKey key;
    private final CertificationJob.Options options;
    private final int shards;

    CertifyShard(Broadcast<NetState> net, CertificationTables.RunKey key, CertificationJob.Options options, int shards) {
        this.net = net;
        this.key = key;
        this.options = options;
        this.shards = shards;
    }

    @Override
    public Iterator<Row> call(Integer index, Iterator<LabeledData> it) {
        TaskThreads.apply();
        List<Row> rows = new ArrayList<>();
        long n = options.soundnessExamples();
        long mine = n * (index + 1) / shards - n * index / shards;
        long g = options.gradient().examples();
        long mineGrad = g * (index + 1) / shards - g * index / shards;
        while (it.hasNext()) {
            rows.addAll(certify(net.value().toNet(), it.next(), key, (int) mine, (int) mineGrad, options));
        }
        return rows.iterator();
    }

    /** The rows of one shard: certificates, then soundness and gradient stability for its first examples. */
    static List<Row> certify(Network net, LabeledData shard, CertificationTables.RunKey key, int soundExamples,
            int gradExamples, CertificationJob.Options options) {
        // byte-valued data: the exact points p / 255 in float64, so certificates and the soundness check are about
        // the data point itself, not its float32 rounding
        INDArray x = options.byteValued() ? shard.bytePoints() : shard.allFeatures();
        int[] lengths = shard.lengths(LabeledData.identity(shard.size()), 0, shard.size());
        Certification c = new RegionCertifier(net).withCoordinateBounds(options.coordinateBounds()).certify(x, lengths);
        SoundnessCheck check = soundExamples > 0 ? new SoundnessCheck(net, options.soundnessPoints(), 1) : null;
        double[] xs = check != null || gradExamples > 0 ? Host.pull(x) : null;
        int d = shard.numFeatures();
        GradientStability.Result[] grad = new GradientStability.Result[c.size()];
        if (gradExamples > 0 && lengths == null) { // gradient stability perturbs every coordinate: not for padded sequences
            CertificationJob.Gradient gc = options.gradient();
            GradientStability gs = new GradientStability(net.castTo(DataType.DOUBLE), gc.eps(), gc.boxLow(), gc.boxHigh());
            for (int i = 0; i < Math.min(gradExamples, c.size()); i++) {
                grad[i] = gs.evaluate(Arrays.copyOfRange(xs, i * d, (i + 1) * d), shard.label(i), gc.samples(),
                        gc.population(), gc.generations(), gc.seedFor(shard.id(i)));
            }
        }
        List<Row> rows = new ArrayList<>(c.size());
        for (int i = 0; i < c.size(); i++) {
            SoundnessCheck.Report sound = check != null && i < soundExamples
                    ? check.verify(Arrays.copyOfRange(xs, i * d, (i + 1) * d), c, i, shard.label(i), shard.id(i),
                            lengths == null ? 0 : lengths[i])
                    : new SoundnessCheck.Report(0, 0, 0);
            rows.add(CertificationTables.exampleRow(key, shard.id(i), shard.label(i), c, i, sound, grad[i]));
        }
        return rows;
    }
}
