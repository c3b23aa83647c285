package org.rollspark.data;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.rollspark.Provenance;

/**
 * An order-sensitive digest of examples that the parts of a dataset compute on their own and a reader
 * combines: the same examples in the same order give the same digest however they were cut into parts
 * (files, byte ranges of a file, partitions). Each example (label, sequence length, feature bits; of a
 * padded sequence only its real steps, since a part pads to its own longest) is hashed with SHA-256; the example hashes x_1..x_n are folded as the polynomial
 * {@code sum x_i B^(n-i) mod 2^61 - 1} in two lanes with different bases, so a part's (count, value)
 * pair is all that a combination needs. The fingerprint is the SHA-256 of the shape, the count and both lanes.
 */
public final class DataDigest implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final long P = (1L << 61) - 1;
    private static final long[] BASE = {0x1F3D5B79A2C4E687L % P, 0x0C2B4A6987E5F1D3L % P};

    private long count;
    private final long[] lanes = new long[2];

    /** The digest of no examples. */
    public DataDigest() {}

    /** The digest of examples {@code from..to} of {@code d}, in order. */
    public static DataDigest of(LabeledData d, int from, int to) {
        DataDigest g = new DataDigest();
        MessageDigest md = Provenance.digest();
        int f = d.numFeatures();
        int step = d.hasLengths() ? d.shape()[1] : 0;
        float[] x = d.featureArray();
        ByteBuffer b = ByteBuffer.allocate(8 + 4 * f);
        for (int i = from; i < to; i++) {
            b.clear();
            b.putInt(d.label(i)).putInt(d.length(i));
            int real = d.hasLengths() ? d.length(i) * step : f;
            for (int k = 0; k < real; k++) {
                b.putInt(Float.floatToIntBits(x[i * f + k]));
            }
            md.update(b.array(), 0, b.position());
            ByteBuffer h = ByteBuffer.wrap(md.digest());
            for (int l = 0; l < 2; l++) {
                g.lanes[l] = add(mul(g.lanes[l], BASE[l]), (h.getLong() >>> 3) % P);
            }
            g.count++;
        }
        return g;
    }

    /** The digest of all of {@code d}'s examples. */
    public static DataDigest of(LabeledData d) {
        return of(d, 0, d.size());
    }

    /**
     * An order-free digest of {@code d}'s examples, ids included: each example's hash is added rather than folded, so
     * a table's rows give the same digest however Spark cuts them into partitions ({@link #plus} combines parts); a
     * padded sequence's padding is left out, as its length depends on the partition's longest.
     */
    public static DataDigest ofSet(LabeledData d) {
        DataDigest g = new DataDigest();
        MessageDigest md = Provenance.digest();
        int f = d.numFeatures();
        int stepSize = d.hasLengths() ? d.shape()[1] : 0;
        float[] x = d.featureArray();
        ByteBuffer b = ByteBuffer.allocate(16 + 4 * f);
        for (int i = 0; i < d.size(); i++) {
            b.clear();
            b.putLong(d.id(i)).putInt(d.label(i)).putInt(d.length(i));
            int real = stepSize > 0 ? d.length(i) * stepSize : f; // a sequence's padding left out
            for (int k = 0; k < real; k++) {
                b.putInt(Float.floatToIntBits(x[i * f + k]));
            }
            md.update(b.array(), 0, b.position());
            ByteBuffer h = ByteBuffer.wrap(md.digest());
            for (int l = 0; l < 2; l++) {
                g.lanes[l] = add(g.lanes[l], (h.getLong() >>> 3) % P);
            }
            g.count++;
        }
        return g;
    }

    /** The order-free digest of this digest's examples and {@code other}'s ({@link #ofSet} digests only). */
    public DataDigest plus(DataDigest other) {
        DataDigest g = new DataDigest();
        g.count = count + other.count;
        for (int l = 0; l < 2; l++) {
            g.lanes[l] = add(lanes[l], other.lanes[l]);
        }
        return g;
    }

    /** This digest's examples followed by {@code later}'s (neither is changed). */
    public DataDigest then(DataDigest later) {
        DataDigest g = new DataDigest();
        g.count = count + later.count;
        for (int l = 0; l < 2; l++) {
            g.lanes[l] = add(mul(lanes[l], pow(BASE[l], later.count)), later.lanes[l]);
        }
        return g;
    }

    public long count() {
        return count;
    }

    /** The fingerprint of these examples with this per-example shape: "sha256:" and 64 hex digits. */
    public String fingerprint(int[] shape) {
        MessageDigest md = Provenance.digest();
        md.update("roll data digest v2".getBytes(StandardCharsets.UTF_8));
        ByteBuffer b = ByteBuffer.allocate(4 * (shape.length + 1) + 24);
        b.putInt(shape.length);
        for (int s : shape) {
            b.putInt(s);
        }
        b.putLong(count).putLong(lanes[0]).putLong(lanes[1]);
        md.update(b.array());
        return "sha256:" + HexFormat.of().formatHex(md.digest());
    }

    private static long add(long a, long b) {
        long s = a + b; // both below 2^61: no overflow
        return s >= P ? s - P : s;
    }

    /** a * b mod 2^61 - 1, for a and b below 2^61 (2^61 is 1 modulo P, so the product's high bits fold onto its low ones). */
    static long mul(long a, long b) {
        long lo = a * b;
        long hi = Math.multiplyHigh(a, b);
        long r = (lo & P) + ((lo >>> 61) | (hi << 3));
        r = (r & P) + (r >>> 61);
        return r >= P ? r - P : r;
    }

    private static long pow(long b, long e) {
        long r = 1;
        for (long x = b; e > 0; e >>= 1, x = mul(x, x)) {
            if ((e & 1) != 0) {
                r = mul(r, x);
            }
        }
        return r;
    }
}
