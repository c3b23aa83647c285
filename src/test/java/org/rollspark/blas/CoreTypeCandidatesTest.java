package org.rollspark.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The float32 step test ({@code RollLossGradientTest.float32StepMatchesFloat64}: float32 gradients of vanilla and
 * ROLL steps against float64) under every core type the tool considers correct on this machine, each in a JVM of
 * its own with that OPENBLAS_CORETYPE: a kernel the choice could fall back to must compute right gradients too,
 * not just the one it picked (under which every other test runs).
 */
class CoreTypeCandidatesTest {
    @Test
    void theFloat32StepTestPassesUnderEveryCoreTypeTheToolConsidersCorrect() throws Exception {
        // the build probed them already (the kernel command, cached per machine); the environment's choice aside
        KernelChoice.Decision d = KernelChoice.choose("auto", "", KernelChoice.defaultCache(), false, line -> { });
        Set<String> correct = new LinkedHashSet<>();
        for (KernelChoice.Probe p : d.probes()) {
            if (p.passed()) {
                correct.add(p.requested().isEmpty() ? p.core() : p.requested());
            }
        }
        assertTrue(correct.contains(d.coreType()), d.describe());
        for (String core : correct) {
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx2g", "-cp", System.getProperty("java.class.path"), RunTest.class.getName(),
                    "org.rollspark.loss.RollLossGradientTest#float32StepMatchesFloat64");
            pb.environment().put(KernelCheck.VARIABLE, core);
            pb.environment().put("OMP_NUM_THREADS", "1");
            pb.environment().put("OPENBLAS_NUM_THREADS", "1");
            pb.redirectErrorStream(true);
            Process proc = pb.start();
            String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(proc.waitFor(300, TimeUnit.SECONDS));
            assertTrue(out.contains("core=" + core), "OpenBLAS ran another core type than " + core + ":\n" + out);
            assertFalse(out.contains("tests=0/"), out);
            assertEquals(0, proc.exitValue(), "float32StepMatchesFloat64 under OPENBLAS_CORETYPE=" + core + ":\n" + out);
        }
    }
}
