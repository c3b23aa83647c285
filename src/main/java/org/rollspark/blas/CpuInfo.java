package org.rollspark.blas;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;

/**
 * This machine's CPU as Linux describes it ({@code /proc/cpuinfo}: model name and instruction-set flags). Elsewhere
 * the model is the JVM's {@code os.arch} and the flags are unknown (empty).
 *
 * @param model the CPU's model name, e.g. "AMD EPYC 9R14 96-Core Processor"
 * @param flags the instruction-set flags, e.g. avx2, fma, avx512f (lower case)
 */
public record CpuInfo(String model, Set<String> flags) {
    public CpuInfo {
        flags = java.util.Collections.unmodifiableSet(new TreeSet<>(flags));
    }

    private static final CpuInfo THIS = read(Path.of("/proc/cpuinfo"));

    /** This machine's CPU. */
    public static CpuInfo current() {
        return THIS;
    }

    /** The first processor of a cpuinfo file; the JVM's architecture and no flags when it cannot be read. */
    static CpuInfo read(Path cpuinfo) {
        String model = System.getProperty("os.arch");
        Set<String> flags = new TreeSet<>();
        try {
            for (String line : Files.readAllLines(cpuinfo)) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    if (line.isBlank() && !flags.isEmpty()) {
                        break; // the first processor's block ends
                    }
                    continue;
                }
                String key = line.substring(0, colon).trim();
                String value = line.substring(colon + 1).trim();
                if (key.equals("model name")) {
                    model = value;
                } else if (key.equals("flags")) {
                    flags.addAll(Arrays.asList(value.toLowerCase(java.util.Locale.ROOT).split("\\s+")));
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: no flags, so only OpenBLAS's own detection is a candidate
        }
        return new CpuInfo(model, flags);
    }

    /** Whether the flags are known (a Linux cpuinfo was read). */
    public boolean known() {
        return !flags.isEmpty();
    }

    /** The flags among {@code needed} that this CPU lacks (none when the flags are unknown). */
    public Set<String> lacks(Set<String> needed) {
        Set<String> missing = new TreeSet<>();
        if (known()) {
            for (String f : needed) {
                if (!flags.contains(f)) {
                    missing.add(f);
                }
            }
        }
        return missing;
    }

    /** The vector extensions that decide OpenBLAS's kernels, for logs: e.g. "avx2 fma avx512f avx512_bf16". */
    public String vectorFlags() {
        StringBuilder s = new StringBuilder();
        for (String f : new String[] {"sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq",
                "avx512_bf16"}) {
            if (flags.contains(f) || f.equals("sse3") && flags.contains("pni")) {
                s.append(s.length() > 0 ? " " : "").append(f);
            }
        }
        return known() ? s.toString() : "flags unknown";
    }
}
