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

    /** The rows of the partition's shards, certified a block at a time as Spark consumes them (nothing else held). */
    @Override
    public Iterator<Row> call(Integer index, Iterator<LabeledData> it) {
        TaskThreads.apply();
        long n = options.soundnessExamples();
        int mine = (int) (n * (index + 1) / shards - n * index / shards);
        long g = options.gradient().examples();
        int mineGrad = (int) (g * (index + 1) / shards - g * index / shards);
        Network model = net.value().toNet();
        return new Iterator<>() {
            private Blocks shard;
            private int from;
            private Iterator<Row> block = java.util.Collections.emptyIterator();

            @Override
            public boolean hasNext() {
                while (!block.hasNext()) {
                    if (shard == null || from >= shard.data.size()) {
                        if (!it.hasNext()) {
                            return false;
                        }
                        shard = new Blocks(model, it.next(), key, mine, mineGrad, options);
                        from = 0;
                        continue;
                    }
                    block = shard.rows(from).iterator();
                    from += BLOCK;
                }
                return true;
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                return block.next();
            }
        };
    }

    /** Examples certified at once: a block's inputs and certificates are all a task holds besides Spark's buffers. */
    static final int BLOCK = 2048;


    /** One shard certified in blocks: certificates, then soundness and gradient stability for its first examples. */
    private static final class Blocks {
        final LabeledData data;
        private final CertificationTables.RunKey key;
        private final int soundExamples;
        private final int gradExamples;
        private final CertificationJob.Options options;
        private final RegionCertifier certifier;
        private final SoundnessCheck check;
        private final GradientStability gs;
        private final int[] all;

        Blocks(Network net, LabeledData data, CertificationTables.RunKey key, int soundExamples, int gradExamples,
                CertificationJob.Options options) {
            this.data = data;
            this.key = key;
            this.soundExamples = soundExamples;
            this.gradExamples = gradExamples;
            this.options = options;
            this.certifier = new RegionCertifier(net).withCoordinateBounds(options.coordinateBounds())
                    .withNorms(options.norms());
            this.check = soundExamples > 0 ? new SoundnessCheck(net, options.soundnessPoints(), 1) : null;
            CertificationJob.Gradient gc = options.gradient();
            this.gs = gradExamples > 0 ? new GradientStability(net.castTo(DataType.DOUBLE), gc.eps(), gc.boxLow(),
                    gc.boxHigh()) : null;
            this.all = LabeledData.identity(data.size());
        }

        /** The rows of examples {@code from .. from + BLOCK}. */
        List<Row> rows(int from) {
            int to = Math.min(data.size(), from + BLOCK);
            int d = data.numFeatures();
            // byte-valued data: the exact points p / 255 in float64, so certificates and the soundness check are
            // about the data point itself, not its float32 rounding
            INDArray x = options.byteValued() ? data.bytePoints(from, to) : data.features(all, from, to);
            int[] lengths = data.lengths(all, from, to);
            Certification c = certifier.certify(x, lengths);
            boolean extra = check != null && from < soundExamples || gs != null && from < gradExamples;
            double[] xs = extra ? Host.pull(x) : null;
            CertificationJob.Gradient gc = options.gradient();
            List<Row> rows = new ArrayList<>(c.size());
            for (int k = 0; k < c.size(); k++) {
                int i = from + k;
                GradientStability.Result grad = null;
                // gradient stability perturbs every coordinate: not for padded sequences
                if (gs != null && i < gradExamples && lengths == null) {
                    grad = gs.evaluate(Arrays.copyOfRange(xs, k * d, (k + 1) * d), data.label(i), gc.samples(),
                            gc.population(), gc.generations(), gc.seedFor(data.id(i)));
                }
                SoundnessCheck.Report sound = check != null && i < soundExamples
                        ? check.verify(Arrays.copyOfRange(xs, k * d, (k + 1) * d), c, k, data.label(i), data.id(i),
                                lengths == null ? 0 : lengths[k])
                        : new SoundnessCheck.Report(0, 0, 0);
                rows.add(CertificationTables.exampleRow(key, data.id(i), data.key(i), data.label(i), c, k, sound, grad));
            }
            return rows;
        }
    }
}
