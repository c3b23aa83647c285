/**
 * ROLL on Spark: training piecewise-linear networks whose local linear behaviour is provably stable
 * (Lee, Alvarez-Melis, Jaakkola, ICLR 2019), and certifying every example they see.
 * Data flows one way: {@code data -> net -> region / loss -> train -> (spark) -> output}.
 * {@link org.rollspark.Provenance} records where every artefact came from.
 */
package org.rollspark;
