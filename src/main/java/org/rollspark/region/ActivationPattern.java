package org.rollspark.region;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The activation pattern of one example: bit j is set when neuron j (hidden layers in order, units
 * in order) has {@code z > 0}. Equal patterns mean the same linear region.
 */
public final class ActivationPattern {
    private final long[] bits;
    private final int numNeurons;

    public ActivationPattern(long[] bits, int numNeurons) {
        if (bits.length != (numNeurons + 63) / 64) {
            throw new IllegalArgumentException(bits.length + " words for " + numNeurons + " neurons");
        }
        this.bits = bits.clone();
        this.numNeurons = numNeurons;
    }

    /** Patterns of every example of a batch from host pre-activations, one (B*H_i) array per layer. */
    public static ActivationPattern[] of(double[][] preact, int[] hiddenSizes, int batch) {
        return of(preact, null, hiddenSizes, batch);
    }

    /**
     * Patterns from host pre-activations, one (B*H_i) array per neuron group; where {@code valid} has
     * a (B*H_i) array, its zeros (padded sequence steps) count as inactive.
     */
    public static ActivationPattern[] of(double[][] preact, double[][] valid, int[] hiddenSizes, int batch) {
        int n = Arrays.stream(hiddenSizes).sum();
        ActivationPattern[] out = new ActivationPattern[batch];
        for (int b = 0; b < batch; b++) {
            long[] w = new long[(n + 63) / 64];
            int pos = 0;
            for (int i = 0; i < hiddenSizes.length; i++) {
                int h = hiddenSizes[i];
                for (int j = 0; j < h; j++, pos++) {
                    if (preact[i][b * h + j] > 0 && (valid == null || valid[i] == null || valid[i][b * h + j] != 0)) {
                        w[pos >>> 6] |= 1L << (pos & 63);
                    }
                }
            }
            out[b] = new ActivationPattern(w, n);
        }
        return out;
    }

    public int numNeurons() {
        return numNeurons;
    }

    public boolean isActive(int neuron) {
        return (bits[neuron >>> 6] >>> (neuron & 63) & 1L) != 0;
    }

    public int activeCount() {
        int c = 0;
        for (long w : bits) {
            c += Long.bitCount(w);
        }
        return c;
    }

    /** Number of neurons whose state differs from {@code other}'s. */
    public int hammingDistance(ActivationPattern other) {
        int c = 0;
        for (int i = 0; i < bits.length; i++) {
            c += Long.bitCount(bits[i] ^ other.bits[i]);
        }
        return c;
    }

    /**
     * A stable 64-bit hash as 16 hex digits: the first 8 bytes of SHA-256 over the neuron count
     * (big-endian int) and the pattern words (big-endian longs). The same on every JVM and platform.
     */
    public String hash() {
        ByteBuffer buf = ByteBuffer.allocate(4 + 8 * bits.length);
        buf.putInt(numNeurons);
        for (long w : bits) {
            buf.putLong(w);
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(buf.array());
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ActivationPattern p && p.numNeurons == numNeurons && Arrays.equals(p.bits, bits);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bits) * 31 + numNeurons;
    }
}
