/**
 * ROLL on Spark: training piecewise-linear networks whose local linear behaviour is provably stable
 * (Lee, Alvarez-Melis, Jaakkola, ICLR 2019), and certifying every example they see.
 * Data flows one way: {@code util, data -> net -> graph -> dense -> region, loss -> train -> model ->
 * spark -> cli} (docs/ARCHITECTURE.md; enforced by the tests in {@code org.rollspark.arch}).
 * {@link org.rollspark.Provenance} records where every artefact came from.
 */
package org.rollspark;
