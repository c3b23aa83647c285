package org.rollspark.dense;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.net.Network.NeuronValues;
import org.rollspark.util.Host;

/**
 * Everything a forward pass through a {@link DenseNet} leaves behind for a batch of B examples.
 *
 * @param input normalised input (B, D) in the network's data type
 * @param act hidden outputs h^i = act(z^i) (B, H_i)
 * @param preactHost hidden pre-activations z^i, one (B*H_i) row-major host array per hidden layer,
 *     in double precision
 * @param logits output logits (B, K); the logits are not neurons
 */
public record DenseActivations(INDArray input, INDArray[] act, double[][] preactHost,
        INDArray logits) {

    /** The neuron values of the pass: one group per hidden layer, all neurons real, and the logits. */
    public NeuronValues values() {
        int[] sizes = new int[act.length];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = (int) act[i].size(1);
        }
        return new NeuronValues(preactHost, new double[sizes.length][], sizes, Host.pull(logits));
    }

    public int batchSize() {
        return (int) input.size(0);
    }

    /** The input of dense layer {@code layer} (0-based): the normalised input, then hidden outputs. */
    public INDArray layerInput(int layer) {
        return layer == 0 ? input : act[layer - 1];
    }
}
