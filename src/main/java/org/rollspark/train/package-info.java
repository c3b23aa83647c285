/** Optimisers over the flat parameter vector (SGD with Nesterov momentum, Adam, AMSGrad) and the single-JVM training loop with best-epoch selection. */
package org.rollspark.train;
