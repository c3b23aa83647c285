/**
 * Inference about linear regions for any {@link org.rollspark.net.Network}
 * ({@link org.rollspark.region.RegionCertifier}): activation patterns, lp margins with the binding
 * neuron, decision margins and certified radii, #CLR hashes, directional and per-coordinate
 * certificates ({@link org.rollspark.region.Margins}), the float64 soundness check and gradient
 * stability. Margins are in raw input units. Imports net and util only.
 */
package org.rollspark.region;
