package org.rollspark.blas;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The core types ({@code OPENBLAS_CORETYPE}) of OpenBLAS's DYNAMIC_ARCH x86_64 builds that are worth choosing among,
 * and the instruction-set flags each kernel executes. Forcing a core type whose flags the CPU lacks crashes the JVM
 * with an illegal instruction (SkylakeX on an AVX2-only CPU, seen with OpenBLAS 0.3.19), so a core type is only tried
 * where the flags are there.
 */
public final class CoreTypes {
    private CoreTypes() {}

    /** Candidates, fastest kernels first, with the flags their kernels need. */
    static final Map<String, Set<String>> NEEDS = new java.util.LinkedHashMap<>();

    static {
        Set<String> avx512 = Set.of("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq");
        NEEDS.put("Cooperlake", union(avx512, Set.of("avx512_bf16")));
        NEEDS.put("SkylakeX", avx512);
        NEEDS.put("Zen", Set.of("avx2", "fma"));
        NEEDS.put("Haswell", Set.of("avx2", "fma"));
        NEEDS.put("Sandybridge", Set.of("avx"));
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new java.util.TreeSet<>(a);
        u.addAll(b);
        return u;
    }

    /** The canonical spelling of a known core type ({@code skylakex} as {@code SkylakeX}), or the name as given. */
    public static String canonical(String name) {
        for (String k : NEEDS.keySet()) {
            if (k.equalsIgnoreCase(name.trim())) {
                return k;
            }
        }
        return name.trim();
    }

    /** Whether {@code name} is one of the core types this tool knows the needs of. */
    public static boolean known(String name) {
        return NEEDS.containsKey(canonical(name));
    }

    /** The flags a known core type's kernels execute that {@code cpu} lacks; empty for unknown names or CPUs. */
    public static Set<String> missing(String name, CpuInfo cpu) {
        Set<String> needs = NEEDS.get(canonical(name));
        return needs == null ? Set.of() : cpu.lacks(needs);
    }

    /**
     * The core types to try on {@code cpu}: every known one whose flags it has (none on a machine whose flags are
     * unknown, or on another architecture, where only OpenBLAS's own detection is tried).
     */
    public static List<String> candidates(CpuInfo cpu) {
        List<String> out = new ArrayList<>();
        if (!cpu.known() || !System.getProperty("os.arch").toLowerCase(Locale.ROOT).matches("amd64|x86_64")) {
            return out;
        }
        NEEDS.forEach((name, needs) -> {
            if (cpu.lacks(needs).isEmpty()) {
                out.add(name);
            }
        });
        return out;
    }

    /** The refusal for a core type this CPU cannot run. */
    static String cannotRun(String name, CpuInfo cpu, String where) {
        return "OPENBLAS_CORETYPE=" + name + " needs " + String.join(", ", missing(name, cpu)) + ", which the CPU"
                + (where.isEmpty() ? "" : " of " + where) + " (" + cpu.model() + ") lacks; its kernels would stop the "
                + "JVM with an illegal instruction. Choose a core type this CPU runs (candidates: "
                + String.join(", ", candidates(cpu)) + ") or leave OPENBLAS_CORETYPE unset";
    }
}
