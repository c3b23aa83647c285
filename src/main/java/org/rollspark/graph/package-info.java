/**
 * Networks built from a JSON layer list: convolutions, average pooling, batch norm, residual blocks,
 * ReLU / LeakyReLU recurrent layers, dense layers and activations ({@link org.rollspark.graph.GraphNet},
 * parsed by {@link org.rollspark.graph.LayerSpecs}). Each {@link org.rollspark.graph.Layer} has four
 * passes: forward, tangent (the linearised layer), backward and tangent-backward, sharing a
 * {@link org.rollspark.graph.Tape}; coordinate tangents run in local {@link org.rollspark.graph.Window}s
 * through leading full-resolution layers. Imports net and util only.
 */
package org.rollspark.graph;
