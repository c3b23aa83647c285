package org.rollspark.model;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The one staged-publish routine of the project: model folders, checkpoints and certification tables
 * are written complete under a staging folder, then {@link #commit committed} into place. Earlier
 * versions are parked under the staging folder until every move succeeded and restored if one fails,
 * so readers never see half a folder. It runs on any {@link Store}: the local disk through java.nio
 * ({@link #local()}, no Hadoop needed) or a Hadoop file system ({@link RemoteFolders#store}).
 */
public final class Staging {
    private Staging() {}

    /** The few file-system operations a commit needs, on locations as strings. */
    public interface Store {
        boolean exists(String location) throws IOException;

        /** Renames {@code from} to {@code to} (same file system; {@code to} does not exist); false if it could not. */
        boolean rename(String from, String to) throws IOException;

        void deleteTree(String location) throws IOException;

        void mkdirs(String location) throws IOException;

        /** {@code parent/child} on this store. */
        String child(String parent, String child);

        /** The parent folder of a location. */
        String parent(String location);
    }

    /**
     * Moves the staged folders {@code staging/NAME} to their final places {@code finals.get(NAME)}, in
     * the map's order, replacing what is there: earlier versions are first parked under
     * {@code staging}, then the new ones moved in; if a move fails, the new ones are removed and the
     * earlier ones restored. Parked versions stay under {@code staging} for the caller to delete with it.
     */
    public static void commit(Store store, String staging, Map<String, String> finals) throws IOException {
        List<String> done = new ArrayList<>();
        List<String[]> parked = new ArrayList<>(); // {earlier version, where it was parked}
        try {
            for (Map.Entry<String, String> f : finals.entrySet()) {
                if (store.exists(f.getValue())) {
                    String aside = store.child(staging, "earlier-" + f.getKey());
                    if (!store.rename(f.getValue(), aside)) {
                        throw new IOException("could not move the earlier " + f.getValue() + " aside");
                    }
                    parked.add(new String[] {f.getValue(), aside});
                }
            }
            for (Map.Entry<String, String> f : finals.entrySet()) {
                store.mkdirs(store.parent(f.getValue()));
                String staged = store.child(staging, f.getKey());
                if (!store.rename(staged, f.getValue())) {
                    throw new IOException("could not move " + staged + " to " + f.getValue());
                }
                done.add(f.getValue());
            }
        } catch (IOException | RuntimeException e) {
            for (String p : done) {
                store.deleteTree(p);
            }
            for (String[] m : parked) {
                store.rename(m[1], m[0]);
            }
            throw e;
        }
    }

    /** The local disk through java.nio: atomic renames where the file system has them. */
    public static Store local() {
        return LOCAL;
    }

    private static final Store LOCAL = new Store() {
        @Override
        public boolean exists(String location) {
            return Files.exists(Path.of(location));
        }

        @Override
        public boolean rename(String from, String to) throws IOException {
            try {
                Files.move(Path.of(from), Path.of(to), StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(Path.of(from), Path.of(to));
            }
            return true;
        }

        @Override
        public void deleteTree(String location) throws IOException {
            Path p = Path.of(location);
            if (!Files.exists(p)) {
                return;
            }
            try (Stream<Path> s = Files.walk(p)) {
                for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(q);
                }
            }
        }

        @Override
        public void mkdirs(String location) throws IOException {
            Files.createDirectories(Path.of(location));
        }

        @Override
        public String child(String parent, String child) {
            return Path.of(parent).resolve(child).toString();
        }

        @Override
        public String parent(String location) {
            return Path.of(location).toAbsolutePath().getParent().toString();
        }
    };
}
