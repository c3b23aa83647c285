package org.rollspark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a model, checkpoint or output came from: the resolved configuration and its hash, the seed,
 * the data fingerprint, and the software and platform versions (float results differ across
 * platforms, so the platform is part of the record).
 */
public final class Provenance {
    /** The provenance config key of a model's class names (string labels, image folders), in class order. */
    public static final String CLASS_NAMES = "data.classNames";
    /** The provenance config key of what a job's tables were read from (names, readers, files' snapshot). */
    public static final String TABLES = "data.tables";

    /** The class names a provenance record's {@code config} holds ({@link #CLASS_NAMES}), or null for none. */
    public static List<String> classNames(com.fasterxml.jackson.databind.JsonNode config) {
        com.fasterxml.jackson.databind.JsonNode names = config.path(CLASS_NAMES);
        if (!names.isArray()) {
            return null;
        }
        List<String> out = new java.util.ArrayList<>();
        names.forEach(n -> out.add(n.asText()));
        return out;
    }

    /** This project's version. */
    public static final String VERSION = "0.1.0-SNAPSHOT";
    public static final String ND4J_VERSION = "1.0.0-M2.1";

    private static final ObjectMapper CANONICAL = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

    private Provenance() {}

    /**
     * A provenance record.
     *
     * @param config the resolved configuration (every setting, defaults included)
     * @param seed the seed the run used
     * @param dataFingerprint {@link #sha256} of the data the run saw, or a description of it
     */
    public static Map<String, Object> record(Map<String, ?> config, long seed, String dataFingerprint) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("created", Instant.now().toString());
        p.put("config", new TreeMap<>(config));
        p.put("configHash", configHash(config));
        if (config instanceof Settings s) {
            p.put("explicitSettings", List.copyOf(s.explicit()));
        }
        p.put("seed", seed);
        p.put("dataFingerprint", dataFingerprint);
        p.put("versions", versions());
        return p;
    }

    /**
     * A job's resolved settings (key -> value, defaults included) that also remembers which keys the job
     * file or the command line set, as Spark MLlib records set and default params apart. The config hash
     * covers the values only.
     */
    public static final class Settings extends TreeMap<String, Object> {
        private static final long serialVersionUID = 1L;
        private final java.util.TreeSet<String> explicit;

        public Settings(Map<String, ?> values, java.util.Collection<String> explicit) {
            super(values);
            this.explicit = new java.util.TreeSet<>(explicit);
        }

        /** The keys set explicitly; every other key holds its default. */
        public java.util.SortedSet<String> explicit() {
            return java.util.Collections.unmodifiableSortedSet(explicit);
        }
    }

    /**
     * The commit this build was made from (git.properties, written by the build), with "-dirty" when the
     * work tree had uncommitted changes; "unknown" for a build outside a git checkout.
     */
    public static final String COMMIT = commit();

    private static String commit() {
        java.util.Properties p = new java.util.Properties();
        try (java.io.InputStream in = Provenance.class.getResourceAsStream("git.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (java.io.IOException e) {
            return "unknown";
        }
        String id = p.getProperty("git.commit.id", "");
        if (id.isEmpty() || id.startsWith("${")) {
            return "unknown";
        }
        return id + (Boolean.parseBoolean(p.getProperty("git.dirty")) ? "-dirty" : "");
    }

    private static volatile String blas;

    /**
     * Records the BLAS this JVM computes with ("OpenBLAS 0.3.19, core SkylakeX"), once its self-test passed: float
     * results depend on the kernel as much as on the platform.
     */
    public static void recordBlas(String description) {
        blas = description;
    }

    public static Map<String, Object> versions() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("rollSpark", VERSION);
        v.put("commit", COMMIT);
        v.put("nd4j", ND4J_VERSION);
        if (blas != null) {
            v.put("blas", blas);
        }
        v.put("java", System.getProperty("java.version"));
        v.put("javaVendor", System.getProperty("java.vendor"));
        v.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        v.put("arch", System.getProperty("os.arch"));
        return v;
    }

    /** SHA-256 (hex) of the configuration serialised as JSON with sorted keys. */
    public static String configHash(Map<String, ?> config) {
        try {
            return sha256(CANONICAL.writeValueAsString(new TreeMap<>(config)).getBytes(StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("configuration is not serialisable: " + e.getMessage(), e);
        }
    }

    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
