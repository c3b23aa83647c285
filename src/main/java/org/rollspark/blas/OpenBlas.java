package org.rollspark.blas;

import java.io.InputStream;
import java.util.Properties;

/**
 * The OpenBLAS that ND4J links (through JavaCPP's presets) and the core type whose kernels it runs. OpenBLAS picks
 * its kernels once, when it loads: from {@code OPENBLAS_CORETYPE} if set to a name it knows and the CPU can run,
 * else from its own detection of the CPU (0.3.19 falls back to SSE2 kernels on CPUs newer than it knows).
 * The core type is read from the loaded library ({@code openblas_get_corename}, through JNA, which ND4J already
 * brings), since the presets do not expose it.
 */
public final class OpenBlas {
    private OpenBlas() {}

    /**
     * The loaded library.
     *
     * @param config OpenBLAS's build line, e.g. "OpenBLAS 0.3.19 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
     * @param coreType the core type in use, e.g. "Haswell" ("unknown" when the library cannot say)
     */
    public record Info(String config, String coreType) {
        /** "OpenBLAS 0.3.19" (the first two words of the build line). */
        public String version() {
            String[] w = config.split("\\s+");
            return w.length >= 2 ? w[0] + " " + w[1] : "OpenBLAS " + ARTIFACT;
        }

        /** For logs and provenance: "OpenBLAS 0.3.19, core Haswell". */
        public String describe() {
            return version() + ", core " + coreType;
        }
    }

    /** The version of the OpenBLAS presets on the classpath (e.g. "0.3.19-1.5.7"), known without loading them. */
    public static final String ARTIFACT = artifact();

    private static String artifact() {
        try (InputStream in = OpenBlas.class.getResourceAsStream("/META-INF/maven/org.bytedeco/openblas/pom.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    private static volatile Info loaded;

    /** Loads OpenBLAS (if ND4J has not yet) and says which it is and which core type it runs. */
    public static Info info() {
        Info i = loaded;
        if (i == null) {
            synchronized (OpenBlas.class) {
                if (loaded == null) {
                    loaded = read();
                }
                i = loaded;
            }
        }
        return i;
    }

    private static Info read() {
        String path = org.bytedeco.javacpp.Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
        try {
            // the same file dlopen'ed again is the same handle; its dependencies give libopenblas's symbols
            com.sun.jna.NativeLibrary lib = com.sun.jna.NativeLibrary.getInstance(path);
            String config = lib.getFunction("openblas_get_config").invokeString(new Object[0], false);
            String core = lib.getFunction("openblas_get_corename").invokeString(new Object[0], false);
            return new Info(config == null ? "OpenBLAS " + ARTIFACT : config.trim(), core == null ? "unknown" : core.trim());
        } catch (RuntimeException | LinkageError e) {
            return new Info("OpenBLAS " + ARTIFACT, "unknown");
        }
    }
}
