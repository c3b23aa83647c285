/**
 * The Spark layer: data sharded on the executors, parameter averaging with bit-identical ordered sums,
 * the certification job (per-example rows on the executors, Parquet tables, run manifests). Everything
 * about a network goes through {@link org.rollspark.net.Network}.
 */
package org.rollspark.spark;
