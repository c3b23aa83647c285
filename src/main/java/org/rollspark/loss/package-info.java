/**
 * The ROLL loss, exact or with sampled input coordinates, mean, top-gamma or max aggregation, and the
 * vanilla cross-entropy (lambda = 0), on any {@link org.rollspark.net.Network} through its forward and
 * tangent passes; gradients checked against finite differences in the tests. Knows nothing of
 * architectures, Spark or files.
 */
package org.rollspark.loss;
