package org.rollspark.data;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads IDX files (the MNIST format), raw or gzipped (detected by the 0x1f 0x8b prefix).
 * Layout: big-endian magic {@code 0x0000TTNN} (TT = 0x08 unsigned byte, NN = number of dimensions),
 * NN big-endian int32 dimensions, then the values. Sizes are not assumed to be MNIST's.
 * Every error names the file and the byte offset (in the uncompressed stream).
 */
public final class IdxReader {
    /** Refuse reads of more than this many values (2 GiB of bytes) before allocating. */
    static final long MAX_VALUES = Integer.MAX_VALUE - 8;
    /** Refuse headers describing more than this many values in a file (read in parts of far fewer). */
    static final long MAX_FILE_VALUES = 1L << 40;

    private IdxReader() {}

    /** An IDX array of unsigned bytes: its dimensions and values in row-major order. */
    public record Idx(int[] dims, byte[] data) {
        public int count() {
            return dims[0];
        }

        /** Values per item (product of all dimensions after the first). */
        public int itemSize() {
            int s = 1;
            for (int i = 1; i < dims.length; i++) {
                s *= dims[i];
            }
            return s;
        }
    }

    public static Idx read(Path file) throws IOException {
        return read(file, Integer.MAX_VALUE);
    }

    /** Reads at most {@code limit} items (the first dimension) of a local file. */
    public static Idx read(Path file, int limit) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new java.io.FileNotFoundException(file + ": no such file");
        }
        return read(file.toString(), DataFiles.Settings.local(), limit);
    }

    /** Reads at most {@code limit} items of a file on any Hadoop file system (raw or gzipped). */
    public static Idx read(String file, DataFiles.Settings settings, int limit) throws IOException {
        try (InputStream in = DataFiles.open(file, settings)) {
            return read(in, file, limit);
        } catch (java.util.zip.ZipException | EOFException e) {
            throw new DataFormatException(file, "", "corrupt gzip stream (" + e.getMessage() + ")", e);
        }
    }

    private static Idx read(InputStream in, String file, int limit) throws IOException {
        DataInputStream d = new DataInputStream(in);
        int[] dims = header(d, file);
        return values(d, file, dims, 0, Math.min(dims[0], limit));
    }

    /** The dimensions in a file's header (the first one: the items). */
    public static int[] header(String file, DataFiles.Settings settings) throws IOException {
        try (InputStream in = DataFiles.open(file, settings)) {
            return header(new DataInputStream(in), file);
        } catch (java.util.zip.ZipException | EOFException e) {
            throw new DataFormatException(file, "", "corrupt gzip stream (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Items {@code from} to {@code from + count} of a file on any Hadoop file system: the values before are
     * skipped (a seek on a raw file; decompressed and dropped in a gzipped one).
     */
    public static Idx read(String file, DataFiles.Settings settings, long from, int count) throws IOException {
        try (InputStream in = DataFiles.open(file, settings)) {
            DataInputStream d = new DataInputStream(in);
            int[] dims = header(d, file);
            if (from < 0 || count < 0 || from + count > dims[0]) {
                throw new IllegalArgumentException(file + ": items " + from + " to " + (from + count) + " of " + dims[0]);
            }
            return values(d, file, dims, from, count);
        } catch (java.util.zip.ZipException | EOFException e) {
            throw new DataFormatException(file, "", "corrupt gzip stream (" + e.getMessage() + ")", e);
        }
    }

    private static int[] header(DataInputStream d, String file) throws IOException {
        int magic = readInt(d, file, 0);
        int type = (magic >>> 8) & 0xff;
        int rank = magic & 0xff;
        if ((magic >>> 16) != 0 || type != 0x08) {
            throw new DataFormatException(file, "offset 0", "magic 0x" + String.format("%08x", magic)
                    + " is not an unsigned-byte IDX file (expected 0x00000801 for labels, 0x00000803 for images)");
        }
        if (rank < 1 || rank > 4) {
            throw new DataFormatException(file, "offset 3", rank + " dimensions; IDX files here have 1 to 4");
        }
        int[] dims = new int[rank];
        long total = 1;
        long item = 1;
        for (int i = 0; i < rank; i++) {
            dims[i] = readInt(d, file, 4 + 4L * i);
            if (dims[i] < 0 || (i > 0 && dims[i] == 0)) {
                throw new DataFormatException(file, "offset " + (4 + 4 * i), "dimension " + i + " is " + dims[i]);
            }
            total *= dims[i];
            item *= i > 0 ? dims[i] : 1;
            if (total > MAX_FILE_VALUES || item > MAX_VALUES) {
                throw new DataFormatException(file, "offset " + (4 + 4 * i), "header dimensions "
                        + java.util.Arrays.toString(java.util.Arrays.copyOf(dims, i + 1)) + " describe more than "
                        + (total > MAX_FILE_VALUES ? MAX_FILE_VALUES : MAX_VALUES) + " values");
            }
        }
        return dims;
    }

    /** Items [from, from + count) after the header; the trailing-bytes check when they are the file's last. */
    private static Idx values(DataInputStream d, String file, int[] dims, long from, int count) throws IOException {
        int header = 4 + 4 * dims.length;
        int[] outDims = dims.clone();
        outDims[0] = count;
        Idx idx = new Idx(outDims, null);
        long size = idx.itemSize();
        long skip = from * size;
        long want = count * size;
        if (want > MAX_VALUES) {
            throw new DataFormatException(file, "offset 4", count + " items of " + size + " values are more than one read "
                    + "holds (" + MAX_VALUES + "); the reader splits files into parts below that");
        }
        long skipped = d.skip(skip);
        while (skipped < skip) {
            if (d.read() < 0) {
                throw new DataFormatException(file, "offset " + (header + skipped), "file ends after " + skipped + " of the "
                        + dims[0] * size + " data bytes that the header " + java.util.Arrays.toString(dims) + " announces");
            }
            skipped++;
            skipped += d.skip(skip - skipped);
        }
        // read progressively: a header may announce far more data than the file holds
        byte[] data = d.readNBytes((int) want);
        int got = data.length;
        if (got < want) {
            throw new DataFormatException(file, "offset " + (header + skip + got), "file ends after " + (skip + got)
                    + " of the " + dims[0] * size + " data bytes that the header " + java.util.Arrays.toString(dims)
                    + " announces");
        }
        if (from + count == dims[0] && d.read() != -1) {
            throw new DataFormatException(file, "offset " + (header + skip + want), "unexpected bytes after the "
                    + dims[0] * size + " data bytes that the header " + java.util.Arrays.toString(dims) + " announces");
        }
        return new Idx(outDims, data);
    }

    private static int readInt(DataInputStream d, String file, long offset) throws IOException {
        try {
            return d.readInt();
        } catch (EOFException e) {
            throw new DataFormatException(file, "offset " + offset, "file ends inside the header", e);
        }
    }
}
