/**
 * Host/ND4J transfers, reusable off-heap workspaces and direct BLAS products for the hot paths;
 * nothing of Spark or Hadoop.
 */
package org.rollspark.util;
