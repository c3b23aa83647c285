/** Host/ND4J transfers and reusable off-heap workspaces for the hot paths; nothing of Spark or Hadoop. */
package org.rollspark.util;
