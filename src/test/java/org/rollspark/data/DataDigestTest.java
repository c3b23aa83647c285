package org.rollspark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.math.BigInteger;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The data fingerprint identifies the examples in order, not the parts they were read in. */
class DataDigestTest {
    private static LabeledData data(int n, long seed, int[] lengths) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * 6];
        int[] y = new int[n];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextInt(256) / 255f;
        }
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(3);
        }
        return new LabeledData("d", x, y, new int[] {3, 2}, 3, null, lengths);
    }

    @Test
    void anyCutIntoPartsGivesTheWholesFingerprint() {
        LabeledData d = data(37, 1, null);
        String whole = d.fingerprint();
        SplittableRandom r = new SplittableRandom(2);
        for (int trial = 0; trial < 20; trial++) {
            DataDigest g = new DataDigest();
            int at = 0;
            while (at < d.size()) {
                int to = Math.min(d.size(), at + r.nextInt(12)); // empty parts too
                g = g.then(DataDigest.of(d, at, to));
                at = to;
            }
            assertEquals(37, g.count());
            assertEquals(whole, g.fingerprint(d.shape()), "trial " + trial);
        }
    }

    @Test
    void orderLabelsLengthsAndEveryBitCount() {
        LabeledData d = data(10, 3, null);
        String f = d.fingerprint();
        int[] swapped = {1, 0, 2, 3, 4, 5, 6, 7, 8, 9};
        assertNotEquals(f, d.subset("d", swapped).fingerprint(), "order");
        float[] x = d.allFeatures().data().asFloat();
        x[17] = Math.nextUp(x[17]);
        assertNotEquals(f, new LabeledData("d", x, d.labels(), new int[] {3, 2}, 3, null, null).fingerprint(), "one bit");
        int[] y = d.labels();
        y[9] = (y[9] + 1) % 3;
        assertNotEquals(f, new LabeledData("d", d.allFeatures().data().asFloat(), y, new int[] {3, 2}, 3, null, null)
                .fingerprint(), "one label");
        int[] len = new int[10];
        java.util.Arrays.fill(len, 3);
        String full = data(10, 3, len).fingerprint();
        len[4] = 2;
        assertNotEquals(full, data(10, 3, len).fingerprint(), "one sequence length");
        assertNotEquals(f, new LabeledData("d", d.allFeatures().data().asFloat(), d.labels(), new int[] {6}, 3, null, null)
                .fingerprint(), "the shape");
        assertEquals(f, data(10, 3, null).fingerprint(), "the same examples again");
    }

    @Test
    void paddedSequencesCountTheirRealStepsOnly() {
        // two sequences of 1 and 2 steps of 2 features, padded to 2 steps in one part and to 3 in another
        float[] two = {1, 2, 0, 0, 3, 4, 5, 6};
        float[] three = {1, 2, 0, 0, 0, 0, 3, 4, 5, 6, 0, 0};
        LabeledData a = new LabeledData("a", two, new int[] {0, 1}, new int[] {2, 2}, 2, null, new int[] {1, 2});
        LabeledData b = new LabeledData("b", three, new int[] {0, 1}, new int[] {3, 2}, 2, null, new int[] {1, 2});
        int[] shape = {3, 2};
        assertEquals(DataDigest.of(b).fingerprint(shape), DataDigest.of(a).fingerprint(shape));
    }

    @Test
    void theModularProductIsExact() {
        BigInteger p = BigInteger.ONE.shiftLeft(61).subtract(BigInteger.ONE);
        SplittableRandom r = new SplittableRandom(4);
        long[] edge = {0, 1, 2, (1L << 61) - 2, (1L << 60), (1L << 61) - 3};
        for (int t = 0; t < 2000; t++) {
            long a = t < edge.length * edge.length ? edge[t % edge.length] : r.nextLong((1L << 61) - 1);
            long b = t < edge.length * edge.length ? edge[t / edge.length] : r.nextLong((1L << 61) - 1);
            assertEquals(BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)).mod(p).longValueExact(), DataDigest.mul(a, b),
                    a + " * " + b);
        }
    }
}
