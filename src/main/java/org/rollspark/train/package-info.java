/**
 * Optimisers over the flat parameter vector (SGD with Nesterov momentum, Adam, AMSGrad), training
 * settings and history, and the single-JVM training loop with best-epoch selection and batch-norm
 * re-estimation; any {@link org.rollspark.net.Network}, any {@link org.rollspark.loss.RollLoss}.
 */
package org.rollspark.train;
