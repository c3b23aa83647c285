/**
 * What every network is, independently of how it is built: {@link org.rollspark.net.Network} and its
 * {@link org.rollspark.net.Forward} passes (neuron groups, the tangent passes of the ROLL term, reverse
 * mode), {@link org.rollspark.net.Linearization} (the network linearised at a batch, in raw input units,
 * for certification), gradient holders, input normalisation, activations, initialisation and the .npy
 * format. Implementations live in {@code graph} and {@code dense}; this package imports neither, and
 * nothing of Spark, Hadoop or files beyond .npy.
 */
package org.rollspark.net;
