package org.rollspark.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ActivationTest {

    /** The branch-free slope is the definition, 1 for z > 0 and alpha otherwise, on every edge of the sign. */
    @Test
    void theSlopeIsOneExactlyWhenThePreActivationIsPositive() {
        double[] zs = {0.0, -0.0, Double.MIN_VALUE, -Double.MIN_VALUE, 2 * Double.MIN_VALUE, Double.MIN_NORMAL,
            -Double.MIN_NORMAL, 1e-310, -1e-310, 1e-300, -1e-300, 0.5, -0.5, 1, -1, Float.MIN_VALUE, -Float.MIN_VALUE,
            Double.MAX_VALUE, -Double.MAX_VALUE, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        for (Activation a : new Activation[] {Activation.relu(), Activation.leakyRelu(0.01), Activation.leakyRelu(0.2)}) {
            for (double z : zs) {
                assertEquals(z > 0 ? 1.0 : a.alpha(), a.slope(z), a + " at z = " + z);
            }
            for (int i = 0; i < 100_000; i++) {
                double z = rnd.nextDouble(-1, 1) * Math.pow(10, rnd.nextInt(-320, 300));
                assertEquals(z > 0 ? 1.0 : a.alpha(), a.slope(z), a + " at z = " + z);
            }
        }
    }
}
