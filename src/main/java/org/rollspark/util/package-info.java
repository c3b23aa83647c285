/** Host/ND4J transfers and reusable off-heap workspaces for the hot paths. */
package org.rollspark.util;
