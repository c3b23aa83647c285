package org.rollspark.blas;

/**
 * A test hook: {@code ROLL_TEST_BLAS_FAULT} names core types (comma-separated, or {@code *} for any) under which
 * {@link SelfTest} perturbs its float32 products by 1e-3, as a kernel that computes wrong float32 results would. It
 * lets the tests exercise every path a failing kernel takes (the refusal, the choice that passes it over, an
 * executor that stops the job) on machines whose kernels are all correct. An environment variable, so it reaches
 * the child JVMs that probe kernels and Spark's executors.
 */
final class Faults {
    private Faults() {}

    static final String VARIABLE = "ROLL_TEST_BLAS_FAULT";

    /** Whether the hook names the core type in use. */
    static boolean active() {
        String v = System.getenv(VARIABLE);
        if (v == null || v.isBlank()) {
            return false;
        }
        String core = OpenBlas.info().coreType();
        for (String c : v.split(",")) {
            if (c.trim().equals("*") || c.trim().equalsIgnoreCase(core)) {
                return true;
            }
        }
        return false;
    }
}
