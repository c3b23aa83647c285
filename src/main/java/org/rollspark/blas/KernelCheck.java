package org.rollspark.blas;

import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The check every JVM that computes runs once, before its first computation (the driver before it starts a job;
 * each executor in its first task): a core type forced on a CPU that cannot run it is refused before OpenBLAS
 * loads, then OpenBLAS loads, its version and core type are logged, and {@link SelfTest} runs. A failure is a
 * {@link KernelException} naming where (the driver, or the executor and its host), the OpenBLAS version, the core
 * type, what failed and what to do; every later call in the JVM throws it again, so nothing computes on a BLAS
 * that failed.
 */
public final class KernelCheck {
    private KernelCheck() {}

    /** The environment variable OpenBLAS reads its core type from, once, when it loads. */
    public static final String VARIABLE = "OPENBLAS_CORETYPE";

    private static final Logger LOG = LoggerFactory.getLogger("org.rollspark.blas");
    private static volatile Outcome outcome;

    private record Outcome(OpenBlas.Info info, KernelException failure) {}

    /** A BLAS that must not be trusted: exit code 1 for the jobs. */
    public static final class KernelException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public KernelException(String message) {
            super(message);
        }
    }

    /**
     * Checks this JVM's BLAS (once; later calls return at once, or throw the same failure).
     *
     * @param where who is checking, for the log and the error: "driver", "executor 3 on host-a" (asked only the
     *     first time)
     * @return the library and the core type in use
     * @throws KernelException if the CPU cannot run the requested core type or the self-test fails
     */
    public static OpenBlas.Info ensure(java.util.function.Supplier<String> where) {
        Outcome o = outcome;
        if (o == null) {
            synchronized (KernelCheck.class) {
                if (outcome == null) {
                    outcome = check(where.get());
                }
                o = outcome;
            }
        }
        if (o.failure() != null) {
            throw o.failure();
        }
        return o.info();
    }

    private static Outcome check(String where) {
        String requested = requested();
        CpuInfo cpu = CpuInfo.current();
        if (!requested.isEmpty() && !CoreTypes.missing(requested, cpu).isEmpty()) {
            return new Outcome(null, new KernelException("BLAS check on " + where + ": " + CoreTypes.cannotRun(requested,
                    cpu, where)));
        }
        OpenBlas.Info info = OpenBlas.info();
        String source = requested.isEmpty() ? "detected by OpenBLAS" : VARIABLE + "=" + requested;
        if (!requested.isEmpty() && !requested.equalsIgnoreCase(info.coreType())) {
            LOG.warn("{}: {}={} but OpenBLAS runs {} (it ignores a name it does not know, and falls back from a core "
                    + "type whose instructions this CPU lacks)", where, VARIABLE, requested, info.coreType());
        }
        SelfTest.Result r = SelfTest.run();
        if (!r.passed()) {
            return new Outcome(info, new KernelException(failure(where, info, source, cpu, r)));
        }
        org.rollspark.Provenance.recordBlas(info.describe());
        LOG.info(String.format(Locale.ROOT, "%s: %s (%s) on %s (%s); BLAS self-test passed in %.2f s (float32 step "
                + "error %.1e)", where, info.describe(), source, cpu.model(), cpu.vectorFlags(), r.seconds(),
                r.stepError()));
        return new Outcome(info, null);
    }

    /** The core type this JVM's environment asks OpenBLAS for ("" when none). */
    public static String requested() {
        String v = System.getenv(VARIABLE);
        return v == null ? "" : v.trim();
    }

    static String failure(String where, OpenBlas.Info info, String source, CpuInfo cpu, SelfTest.Result r) {
        StringBuilder s = new StringBuilder("BLAS self-test failed on " + where + ": " + info.describe() + " (" + source
                + ") on " + cpu.model() + " computes wrong results:");
        r.failures().stream().limit(4).forEach(f -> s.append("\n  - ").append(f));
        if (r.failures().size() > 4) {
            s.append("\n  - and ").append(r.failures().size() - 4).append(" more");
        }
        s.append("\nNothing was computed with it. Launch through run-cluster.sh, which picks the fastest core type that "
                + "passes this test on this machine (run-cluster.sh kernel lists them), or set " + VARIABLE
                + " (and spark.executorEnv." + VARIABLE + " for executors) to one that passes; blas.coreType forces one.");
        return s.toString();
    }
}
