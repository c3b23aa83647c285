package org.rollspark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rollspark.blas.CoreTypes;
import org.rollspark.blas.CpuInfo;
import org.rollspark.blas.OpenBlas;

/**
 * A BLAS that is not trusted stops a job before it computes, with exit code 1, a message naming where, the OpenBLAS
 * version and the core type, and nothing written: a core type blas.coreType forces that the JVM does not run, a
 * driver whose self-test fails (the test hook ROLL_TEST_BLAS_FAULT, in a JVM of its own), and the kernel command
 * refusing a forced core type that fails.
 */
class BlasCliTest {
    @TempDir
    Path tmp;

    /** A core type this CPU runs other than the one this JVM runs. */
    private static String another() {
        String current = OpenBlas.info().coreType();
        return CoreTypes.candidates(CpuInfo.current()).stream().filter(c -> !c.equalsIgnoreCase(current)).findFirst()
                .orElse("Prescott");
    }

    @Test
    void aForcedCoreTypeThisJvmDoesNotRunIsRefusedBeforeAnythingIsWritten() {
        String other = another();
        MainTest.Result r = MainTest.run("train", "blas.coreType=" + other, "data.trainLimit=200", "data.validation=50",
                "output.dir=" + tmp.resolve("runs"));
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().startsWith("roll: blas.coreType=" + other + ", but this JVM runs OpenBLAS's "
                + OpenBlas.info().coreType() + " kernels"), r.err());
        assertTrue(r.err().contains("Launch through run-cluster.sh"), r.err());
        assertFalse(Files.exists(tmp.resolve("runs")), "nothing written");
        MainTest.Result bad = MainTest.run("train", "blas.coreType=Sky-lake", "output.dir=" + tmp.resolve("runs"));
        assertEquals(Main.USAGE, bad.code(), bad.err());
        assertTrue(bad.err().contains("blas.coreType"), bad.err());
    }

    record Run(int code, String out) {}

    private static Run java(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), out);
        return new Run(p.exitValue(), out);
    }

    @Test
    void aDriverWhoseBlasFailsTheSelfTestStopsTheJobWithExit1() throws Exception {
        Path out = tmp.resolve("runs");
        Run r = java(Map.of("ROLL_TEST_BLAS_FAULT", "*"), Main.class.getName(), "train", "data.trainLimit=200",
                "data.validation=50", "output.dir=" + out);
        assertEquals(1, r.code(), r.out());
        String core = OpenBlas.info().coreType();
        assertTrue(r.out().contains("roll: BLAS self-test failed on driver: " + OpenBlas.info().version() + ", core "
                + core), r.out());
        assertTrue(r.out().contains("float32 product (64 x 784) * (784 x 300)"), r.out());
        assertTrue(r.out().contains("Nothing was computed with it"), r.out());
        assertFalse(r.out().contains("\tat org."), "a clear error, not a stack trace:\n" + r.out());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void theKernelCommandRefusesAForcedCoreTypeThatFails() throws Exception {
        String c = CoreTypes.candidates(CpuInfo.current()).isEmpty() ? OpenBlas.info().coreType()
                : CoreTypes.candidates(CpuInfo.current()).get(0);
        Run r = java(Map.of("ROLL_TEST_BLAS_FAULT", c), Kernel.class.getName(), "--pick", "--cache",
                tmp.resolve("cache").toString(), "--", "train", "-c", "conf/mnist-paper.conf", "blas.coreType=" + c,
                "--dry-run");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.out().contains("roll: blas.coreType=" + c + " fails the BLAS self-test on this machine"), r.out());
        Run bad = java(Map.of(), Kernel.class.getName(), "--pick", "--", "train", "blas.coreType=Sky-lake");
        assertEquals(Main.USAGE, bad.code(), bad.out());
        assertTrue(bad.out().contains("blas.coreType"), bad.out());
    }
}
