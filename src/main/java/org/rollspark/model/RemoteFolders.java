package org.rollspark.model;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Folders on any Hadoop file system, and the one staged-publish routine of the project
 * ({@link #commit}): model folders, checkpoints and certification tables are written complete under
 * a staging folder, then renamed into place, earlier versions parked until every move succeeded and
 * restored if one fails, so readers never see half a folder. Model folders and checkpoints are
 * produced by local writers (.npy, JSON) and published with a staged copy ({@link #publish}); local
 * paths (no scheme, or {@code file:}) map to the local disk directly.
 */
public final class RemoteFolders {
    private RemoteFolders() {}

    /** The local path of a location without a scheme or with {@code file:}; null for other file systems. */
    public static java.nio.file.Path localPath(String location) {
        URI u = new Path(location).toUri();
        if (u.getScheme() == null) {
            return java.nio.file.Path.of(location);
        }
        if ("file".equals(u.getScheme())) {
            return new File(u.getPath()).toPath();
        }
        return null;
    }

    /** {@code parent/child...} as a location string, joined the Hadoop way (URIs stay URIs). */
    public static String join(String parent, String... children) {
        Path p = new Path(parent);
        for (String c : children) {
            p = new Path(p, c);
        }
        return p.toString();
    }

    /** The file system of a location, raw (no .crc side files) for local disks. */
    public static FileSystem fs(String location, Configuration conf) throws IOException {
        FileSystem f = new Path(location).getFileSystem(conf);
        return f instanceof LocalFileSystem l ? l.getRawFileSystem() : f;
    }

    /**
     * Copies a local folder to {@code target}, replacing what is there: the copy is staged under a
     * hidden sibling name and committed ({@link #commit}). {@code marker}, when given, is an empty file
     * written into the staged copy last (a completeness mark for stores without atomic rename).
     */
    public static void publish(java.nio.file.Path local, String target, Configuration conf, String marker) throws IOException {
        FileSystem fs = fs(target, conf);
        Path dst = new Path(target);
        Path staging = stagingFor(dst);
        try {
            Path staged = new Path(staging, dst.getName());
            fs.copyFromLocalFile(false, true, new Path(local.toUri()), staged);
            if (marker != null) {
                fs.create(new Path(staged, marker), true).close();
            }
            commit(fs, staging, java.util.Map.of(dst.getName(), dst));
        } finally {
            fs.delete(staging, true);
        }
    }

    /** A fresh hidden staging folder beside {@code target}, on the same file system (so renames stay cheap). */
    public static Path stagingFor(Path target) {
        return new Path(target.getParent(), "." + target.getName() + ".tmp-" + Long.toHexString(System.nanoTime()));
    }

    /**
     * Moves the staged folders {@code staging/NAME} to their final places {@code finals.get(NAME)},
     * replacing what is there: earlier versions are first parked under {@code staging}, then the new
     * ones moved in; if a move fails, the new ones are removed and the earlier ones restored. Parked
     * versions are left under {@code staging} for the caller to delete with it.
     */
    public static void commit(FileSystem fs, Path staging, java.util.Map<String, Path> finals) throws IOException {
        java.util.List<Path> done = new java.util.ArrayList<>();
        java.util.List<Path[]> parked = new java.util.ArrayList<>(); // {earlier version, where it was parked}
        try {
            for (java.util.Map.Entry<String, Path> f : finals.entrySet()) {
                if (fs.exists(f.getValue())) {
                    Path aside = new Path(staging, "earlier-" + f.getKey());
                    if (!fs.rename(f.getValue(), aside)) {
                        throw new IOException("could not move the earlier " + f.getValue() + " aside");
                    }
                    parked.add(new Path[] {f.getValue(), aside});
                }
            }
            for (java.util.Map.Entry<String, Path> f : finals.entrySet()) {
                fs.mkdirs(f.getValue().getParent());
                Path staged = new Path(staging, f.getKey());
                if (!fs.rename(staged, f.getValue())) {
                    throw new IOException("could not move " + staged + " to " + f.getValue());
                }
                done.add(f.getValue());
            }
        } catch (IOException | RuntimeException e) {
            for (Path p : done) {
                fs.delete(p, true);
            }
            for (Path[] m : parked) {
                fs.rename(m[1], m[0]);
            }
            throw e;
        }
    }

    /** A local copy of a remote folder, in a fresh temporary folder the caller deletes. */
    public static java.nio.file.Path fetch(String location, Configuration conf) throws IOException {
        FileSystem fs = fs(location, conf);
        Path src = new Path(location);
        if (!fs.exists(src)) {
            throw new java.io.FileNotFoundException(location + ": no such folder");
        }
        java.nio.file.Path tmp = Files.createTempDirectory("roll-fetch-");
        java.nio.file.Path local = tmp.resolve(src.getName().isEmpty() ? "folder" : src.getName());
        fs.copyToLocalFile(false, src, new Path(local.toUri()), true);
        return local;
    }
}
