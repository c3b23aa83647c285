/**
 * Inference about linear regions: activation patterns, exact neuron input-gradients through the
 * linearised network ({@link org.rollspark.region.JacobianChain}), lp margins with the binding
 * neuron, directional certificates, region counts. Margins are in raw input units.
 */
package org.rollspark.region;
