package org.rollspark.util;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Folders on any Hadoop file system, written and read through a local copy: model folders and
 * checkpoints are produced by local writers (.npy, JSON), then published with a staged copy and one
 * rename, so readers never see half a folder. Local paths (no scheme, or {@code file:}) map to the
 * local disk directly.
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
     * hidden sibling name and renamed into place. {@code marker}, when given, is an empty file written
     * into the staged copy last (a completeness mark for stores without atomic rename).
     */
    public static void publish(java.nio.file.Path local, String target, Configuration conf, String marker) throws IOException {
        FileSystem fs = fs(target, conf);
        Path dst = new Path(target);
        Path staging = new Path(dst.getParent(), "." + dst.getName() + ".tmp-" + Long.toHexString(System.nanoTime()));
        fs.mkdirs(dst.getParent());
        try {
            fs.copyFromLocalFile(false, true, new Path(local.toUri()), staging);
            if (marker != null) {
                fs.create(new Path(staging, marker), true).close();
            }
            if (fs.exists(dst)) {
                fs.delete(dst, true);
            }
            if (!fs.rename(staging, dst)) {
                throw new IOException("could not move " + staging + " to " + dst);
            }
        } finally {
            if (fs.exists(staging)) {
                fs.delete(staging, true);
            }
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
