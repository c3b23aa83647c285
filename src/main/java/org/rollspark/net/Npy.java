package org.rollspark.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0) holding float arrays, read into and
 * written from row-major doubles. Reads little- and big-endian float32/float64 ({@code <f4 >f4 <f8
 * >f8}) in C or Fortran order; writes little-endian C order. What {@code numpy.save} writes for a
 * PyTorch tensor's {@code .detach().numpy()} loads as is.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=]?)([a-z])(\\d+)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    /** An array read from a .npy file: its shape and its values in row-major order. */
    public record Array(long[] shape, double[] data, String descr) {
        public long size() {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }
    }

    public static Array read(Path file) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IOException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        return parse(bytes, file.toString());
    }

    static Array parse(byte[] bytes, String name) throws IOException {
        if (bytes.length < 10) {
            throw new IOException(name + ": " + bytes.length + " bytes is too short for a .npy header");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw new IOException(name + ": not a .npy file (bad magic at offset " + i + ")");
            }
        }
        int major = bytes[6] & 0xff;
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = bb.getShort(8) & 0xffff;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) {
                throw new IOException(name + ": truncated .npy header");
            }
            headerLen = bb.getInt(8);
            headerStart = 12;
        } else {
            throw new IOException(name + ": unsupported .npy format version " + major);
        }
        if (headerLen < 0 || headerStart + (long) headerLen > bytes.length) {
            throw new IOException(name + ": header length " + headerLen + " runs past the end of the file ("
                    + bytes.length + " bytes)");
        }
        String header = new String(bytes, headerStart, headerLen,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) {
            throw new IOException(name + ": malformed .npy header: " + header.trim());
        }
        String descr = d.group(1) + d.group(2) + d.group(3);
        if (!d.group(2).equals("f") || !(d.group(3).equals("4") || d.group(3).equals("8"))) {
            throw new IOException(name + ": dtype '" + descr + "' is not float32 or float64");
        }
        int width = Integer.parseInt(d.group(3));
        ByteOrder order = d.group(1).equals(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        boolean fortran = f.group(1).equals("True");
        List<Long> dims = new ArrayList<>();
        for (String part : s.group(1).split(",")) {
            String p = part.trim();
            if (!p.isEmpty()) {
                try {
                    long v = Long.parseLong(p);
                    if (v < 0) {
                        throw new NumberFormatException();
                    }
                    dims.add(v);
                } catch (NumberFormatException e) {
                    throw new IOException(name + ": bad dimension '" + p + "' in shape (" + s.group(1) + ")");
                }
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long n = 1;
        for (long v : shape) {
            n = Math.multiplyExact(n, v);
        }
        int dataStart = headerStart + headerLen;
        long need = n * width;
        if (bytes.length - dataStart != need) {
            throw new IOException(name + ": shape " + java.util.Arrays.toString(shape) + " of " + descr + " needs "
                    + need + " data bytes from offset " + dataStart + ", the file has " + (bytes.length - dataStart));
        }
        ByteBuffer data = ByteBuffer.wrap(bytes, dataStart, (int) need).slice().order(order);
        double[] raw = new double[(int) n];
        for (int i = 0; i < n; i++) {
            raw[i] = width == 4 ? data.getFloat(i * 4) : data.getDouble(i * 8);
        }
        return new Array(shape, fortran && shape.length > 1 ? toRowMajor(raw, shape) : raw, descr);
    }

    private static double[] toRowMajor(double[] colMajor, long[] shape) {
        int rank = shape.length;
        int n = colMajor.length;
        double[] out = new double[n];
        int[] idx = new int[rank];
        for (int i = 0; i < n; i++) {
            // i walks column-major order: first index fastest
            int rm = 0;
            for (int k = 0; k < rank; k++) {
                rm = rm * (int) shape[k] + idx[k];
            }
            out[rm] = colMajor[i];
            for (int k = 0; k < rank; k++) {
                if (++idx[k] < shape[k]) {
                    break;
                }
                idx[k] = 0;
            }
        }
        return out;
    }

    /** Writes row-major values as a little-endian C-order .npy file of float32 or float64. */
    public static void write(Path file, double[] data, long[] shape, boolean float64) throws IOException {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        if (n != data.length) {
            throw new IllegalArgumentException(data.length + " values for shape " + java.util.Arrays.toString(shape));
        }
        StringBuilder sh = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            sh.append(shape[i]).append(shape.length == 1 ? "," : (i + 1 < shape.length ? ", " : ""));
        }
        sh.append(')');
        String dict = "{'descr': '" + (float64 ? "<f8" : "<f4") + "', 'fortran_order': False, 'shape': " + sh + ", }";
        int unpadded = 10 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        int width = float64 ? 8 : 4;
        ByteBuffer out = ByteBuffer.allocate(10 + header.length() + data.length * width).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        out.put(header.getBytes(StandardCharsets.ISO_8859_1));
        for (double v : data) {
            if (float64) {
                out.putDouble(v);
            } else {
                out.putFloat((float) v);
            }
        }
        Files.write(file, out.array());
    }
}
