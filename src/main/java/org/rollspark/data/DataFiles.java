package org.rollspark.data;

import java.io.BufferedInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Files through Hadoop's FileSystem: local paths, {@code file:}, {@code hdfs:}, {@code s3a:} and any
 * other scheme the classpath provides. Listing happens on the driver; opening on the executors, with
 * the driver's file-system settings carried along ({@link Settings}). Gzipped files (0x1f 0x8b) are
 * decompressed transparently.
 */
public final class DataFiles {
    private DataFiles() {}

    /** The settings of a Hadoop configuration, serialisable for the executors. */
    public static final class Settings implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Map<String, String> entries;
        private transient Configuration conf;

        private Settings(Map<String, String> entries) {
            this.entries = entries;
        }

        /**
         * Every entry of a configuration (file-system implementations, credentials, endpoints, HDFS
         * name services and security), so executors resolve paths as the driver does.
         */
        public static Settings of(Configuration conf) {
            Map<String, String> m = new TreeMap<>();
            if (conf != null) {
                for (Map.Entry<String, String> e : conf) {
                    m.put(e.getKey(), e.getValue());
                }
            }
            return new Settings(m);
        }

        /** The local defaults. */
        public static Settings local() {
            return new Settings(new TreeMap<>());
        }

        public synchronized Configuration configuration() {
            if (conf == null) {
                Configuration c = new Configuration();
                entries.forEach(c::set);
                conf = c;
            }
            return conf;
        }
    }

    static FileSystem fs(String location, Settings settings) throws IOException {
        Path p = new Path(location);
        return p.getFileSystem(settings.configuration());
    }

    /**
     * The location as a fully qualified path (scheme, and for relative local paths the driver's
     * working directory), so that executors elsewhere open the same file. Fails when it is missing.
     */
    public static String qualify(String location, Settings settings) throws IOException {
        FileSystem fs = fs(location, settings);
        Path p = fs.makeQualified(new Path(location));
        if (!fs.exists(p)) {
            throw new FileNotFoundException(location + ": no such file");
        }
        return p.toString();
    }

    /**
     * The files a location names, sorted by path: the file itself, the files directly in a directory
     * (hidden ones, starting with '.' or '_', skipped), or the matches of a glob.
     */
    public static List<String> list(String location, Settings settings) throws IOException {
        FileSystem fs = fs(location, settings);
        Path p = new Path(location);
        // an existing path is taken literally (names may hold glob characters); otherwise a glob
        FileStatus[] found = fs.exists(p) ? new FileStatus[] {fs.getFileStatus(p)} : fs.globStatus(p);
        if (found == null || found.length == 0) {
            throw new FileNotFoundException(location + ": no such file or directory");
        }
        List<String> out = new ArrayList<>();
        for (FileStatus st : found) {
            if (st.isDirectory()) {
                FileStatus[] in = fs.listStatus(st.getPath());
                Arrays.sort(in, Comparator.comparing(s -> s.getPath().toString()));
                for (FileStatus f : in) {
                    String name = f.getPath().getName();
                    if (f.isFile() && !name.startsWith(".") && !name.startsWith("_")) {
                        out.add(f.getPath().toString());
                    }
                }
            } else {
                out.add(st.getPath().toString());
            }
        }
        out.sort(null);
        return out;
    }

    /** The sub-directories of a directory, sorted by name (hidden ones skipped). */
    public static List<String> subdirectories(String location, Settings settings) throws IOException {
        FileSystem fs = fs(location, settings);
        Path p = new Path(location);
        if (!fs.exists(p) || !fs.getFileStatus(p).isDirectory()) {
            throw new FileNotFoundException(location + ": no such directory");
        }
        List<String> out = new ArrayList<>();
        for (FileStatus st : fs.listStatus(p)) {
            String name = st.getPath().getName();
            if (st.isDirectory() && !name.startsWith(".") && !name.startsWith("_")) {
                out.add(st.getPath().toString());
            }
        }
        out.sort(null);
        return out;
    }

    /** Opens a file, decompressing it when it starts with the gzip magic. */
    public static InputStream open(String file, Settings settings) throws IOException {
        FileSystem fs = fs(file, settings);
        Path p = new Path(file);
        if (!fs.exists(p)) {
            throw new FileNotFoundException(file + ": no such file");
        }
        if (fs.getFileStatus(p).isDirectory()) {
            throw new DataFormatException(file, "", "is a directory, expected a file");
        }
        InputStream raw = new BufferedInputStream(fs.open(p), 1 << 16);
        raw.mark(2);
        int b0 = raw.read();
        int b1 = raw.read();
        raw.reset();
        if (b0 == 0x1f && b1 == 0x8b) {
            try {
                return new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16);
            } catch (IOException e) {
                raw.close();
                throw new DataFormatException(file, "offset 0", "corrupt gzip header (" + e.getMessage() + ")", e);
            }
        }
        return raw;
    }

    /**
     * Reads a whole (decompressed) file, refusing more than {@code max} bytes. Gzip corruption shows
     * up as a {@link DataFormatException} naming the file.
     */
    public static byte[] readAll(String file, Settings settings, long max) throws IOException {
        try (InputStream in = open(file, settings)) {
            byte[] b = in.readNBytes((int) Math.min(max + 1, Integer.MAX_VALUE - 8));
            if (b.length > max) {
                throw new DataFormatException(file, "", "larger than " + max + " bytes");
            }
            return b;
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new DataFormatException(file, "", "corrupt gzip stream (" + e.getMessage() + ")", e);
        }
    }

    /** The file name without its directories. */
    public static String name(String file) {
        return new Path(file).getName();
    }
}
