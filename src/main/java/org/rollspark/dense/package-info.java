/**
 * The dense fast path: {@link org.rollspark.dense.DenseNet}, a stack of dense layers with ReLU /
 * LeakyReLU, whose exact ROLL term runs a thin-QR Jacobian chain ({@link org.rollspark.dense.JacobianChain},
 * r = H_1 columns instead of D) and whose certification shares the first layer's Jacobian across the
 * batch. Sampled coordinates run on the same parameters viewed as a graph net. Imports net, graph and util.
 */
package org.rollspark.dense;
