package org.rollspark.region;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Certifies the linear regions of a network's inputs: {@link Certifier} (dense) or {@link GraphCertifier}. */
public interface RegionCertifier {

    /** The certifier for a network: the dense fast path or the graph one. */
    static RegionCertifier of(org.rollspark.net.Network net) {
        if (net instanceof org.rollspark.net.DenseNet d) {
            return new Certifier(d);
        }
        return new GraphCertifier((org.rollspark.graph.GraphNet) net, 16);
    }

    /** Certifies every row of a raw (N, D) input matrix. */
    Certification certify(INDArray raw);

    /** Certifies padded sequences with per-example lengths (null: all full length; graph networks only). */
    default Certification certify(INDArray raw, int[] lengths) {
        if (lengths != null) {
            throw new IllegalArgumentException("sequence lengths need a graph network with a recurrent layer");
        }
        return certify(raw);
    }

    /** Also compute per-coordinate directional bounds (+e_k and -e_k), see {@link Certification#coordinateBounds}. */
    RegionCertifier withCoordinateBounds(boolean on);

    /** Input coordinates per Jacobian block (0 = automatic); bounds memory, results do not depend on it. */
    RegionCertifier withCoordinateBlock(int rows);

    /** Directional certificates (raw units) of every example along every row of {@code directions}: (N, nDir). */
    double[][] directional(INDArray raw, INDArray directions);
}
