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
 * Folders on any Hadoop file system, written and read through a local copy: model folders and
 * checkpoints are produced by local writers (.npy, JSON) and published with a staged copy and a
 * {@link Staging#commit}, so readers never see half a folder. Local paths (no scheme, or
 * {@code file:}) map to the local disk directly.
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
     * hidden sibling name and committed ({@link Staging#commit}). {@code marker}, when given, is an empty file
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
            Staging.commit(store(fs), staging.toString(), java.util.Map.of(dst.getName(), dst.toString()));
        } finally {
            fs.delete(staging, true);
        }
    }

    /** A fresh hidden staging folder beside {@code target}, on the same file system (so renames stay cheap). */
    public static Path stagingFor(Path target) {
        return new Path(target.getParent(), "." + target.getName() + ".tmp-" + Long.toHexString(System.nanoTime()));
    }

    /** A Hadoop file system as a {@link Staging.Store}. */
    public static Staging.Store store(FileSystem fs) {
        return new Staging.Store() {
            @Override
            public boolean exists(String location) throws IOException {
                return fs.exists(new Path(location));
            }

            @Override
            public boolean rename(String from, String to) throws IOException {
                return fs.rename(new Path(from), new Path(to));
            }

            @Override
            public void deleteTree(String location) throws IOException {
                fs.delete(new Path(location), true);
            }

            @Override
            public void mkdirs(String location) throws IOException {
                fs.mkdirs(new Path(location));
            }

            @Override
            public String child(String parent, String child) {
                return new Path(new Path(parent), child).toString();
            }

            @Override
            public String parent(String location) {
                return new Path(location).getParent().toString();
            }
        };
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
