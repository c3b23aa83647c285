package org.rollspark.graph;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.net.Linearization;
import org.rollspark.net.Linearizer;
import org.rollspark.net.Network.NeuronValues;
import org.rollspark.util.Host;

/**
 * Region inference for a {@link GraphNet}: batch norm in inference mode (the affine map of its
 * running statistics), masks of a float64 pass imposed on tangent passes in the network's type,
 * raw-unit basis vectors ({@code e_k / std_k} in the normalised space) pushed in blocks of input
 * coordinates. Padded sequence steps are not neurons (validity 0).
 */
final class GraphLinearizer implements Linearizer {
    private final GraphNet net;
    private final GraphNet exact;

    GraphLinearizer(GraphNet net) {
        this.net = net;
        this.exact = net.dataType() == DataType.DOUBLE ? net : net.castTo(DataType.DOUBLE);
    }

    /** All coordinates unless a block's tangents would pass ~16M values per layer in total. */
    @Override
    public int coordinateBlock(int batch) {
        long perRow = Math.max(1, 2L * net.numNeurons());
        return (int) Math.max(1, Math.min(net.inputSize(), (16L << 20) / ((long) batch * perRow)));
    }

    @Override
    public Linearization linearize(INDArray raw, int[] lengths) {
        GraphForward fx = exact.forwardAccumulating(raw, false, lengths, null);
        NeuronValues values = fx.values();
        GraphForward fw = fx;
        if (exact != net) {
            fw = net.forwardAccumulating(raw.dataType() == net.dataType() ? raw : raw.castTo(net.dataType()), false, lengths,
                    null);
            for (int i = 0; i < fw.neurons().size(); i++) {
                fw.neurons().get(i).slope().assign(fx.neurons().get(i).slope());
            }
        }
        return new At(fw, values, (int) raw.size(0));
    }

    private final class At implements Linearization {
        private final GraphForward fw;
        private final NeuronValues values;
        private final int batch;

        At(GraphForward fw, NeuronValues values, int batch) {
            this.fw = fw;
            this.values = values;
            this.batch = batch;
        }

        @Override
        public NeuronValues values() {
            return values;
        }

        @Override
        public INDArray pushCoordinates(int k0, int rows, TangentSink sink) {
            int[] coords = GraphForward.coordinateBlock(batch, k0, rows);
            double[] scale = new double[coords.length];
            for (int q = 0; q < coords.length; q++) {
                scale[q] = 1.0 / net.normalization().std(coords[q]);
            }
            INDArray body = fw.tangentBasis(coords, scale, rows);
            emit(sink);
            return fw.logitTangent(body);
        }

        @Override
        public void pushDirections(INDArray directions, TangentSink sink) {
            int nDir = (int) directions.size(0);
            int d = net.inputSize();
            double[] dir = Host.pull(directions);
            double[] seeds = new double[batch * nDir * d];
            for (int e = 0; e < batch; e++) {
                for (int q = 0; q < nDir; q++) {
                    for (int c = 0; c < d; c++) {
                        seeds[(e * nDir + q) * d + c] = dir[q * d + c] / net.normalization().std(c);
                    }
                }
            }
            fw.tangent(Host.array(seeds, net.dataType(), batch * nDir, d), nDir);
            emit(sink);
        }

        private void emit(TangentSink sink) {
            List<Tape.Neurons> groups = fw.neurons();
            for (int i = 0; i < groups.size(); i++) {
                sink.accept(i, groups.get(i).tangent(), false);
            }
        }
    }
}
