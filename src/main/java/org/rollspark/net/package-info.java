/**
 * Piecewise-linear networks: dense layers with ReLU / LeakyReLU, input normalisation, seeded
 * initialisation, the forward pass, and the model folder format (model.json plus .npy weights).
 * Nothing here knows about margins, losses or Spark.
 */
package org.rollspark.net;
