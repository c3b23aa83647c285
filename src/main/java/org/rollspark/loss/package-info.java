/**
 * The ROLL loss (exact) and the vanilla cross-entropy, with hand-derived gradients through the
 * Jacobian chain; checked against finite differences in the tests.
 */
package org.rollspark.loss;
