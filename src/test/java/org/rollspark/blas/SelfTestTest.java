package org.rollspark.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The BLAS self-test, the CPU's flags and the core types they allow. */
class SelfTestTest {
    @TempDir
    Path tmp;

    @Test
    void theBlasOfThisJvmPassesAndAWrongFloat32ProductIsCaught() {
        SelfTest.Result ok = SelfTest.run(false);
        assertTrue(ok.passed(), ok.failures().toString());
        assertTrue(ok.stepError() > 0 && ok.stepError() < 1e-5, "float32 step error " + ok.stepError());
        // a kernel whose float32 products are off by 1e-3 relative (0.9 % was seen): every float32 product fails,
        // named with its shape and transposition; float64 passes
        SelfTest.Result bad = SelfTest.run(true);
        assertFalse(bad.passed());
        assertTrue(bad.failures().stream().allMatch(f -> f.startsWith("float32 product")), bad.failures().toString());
        assertTrue(bad.failures().stream().anyMatch(f -> f.contains("(64 x 784) * (784 x 300)")), bad.failures().toString());
        assertTrue(bad.failures().stream().anyMatch(f -> f.contains("A transposed, B transposed")), bad.failures().toString());
        assertTrue(bad.failures().stream().anyMatch(f -> f.contains("through ND4J")), bad.failures().toString());
        long nd4jPaths = java.util.Arrays.stream(SelfTest.SHAPES).filter(sh -> sh[0] > 16).count();
        assertEquals(SelfTest.SHAPES.length * 4 + nd4jPaths * 2, bad.failures().size(), bad.failures().toString());
    }

    @Test
    void theLoadedLibraryNamesItsVersionAndCoreType() {
        OpenBlas.Info info = OpenBlas.info();
        assertTrue(info.version().startsWith("OpenBLAS 0.3."), info.config());
        assertFalse(info.coreType().equals("unknown"), info.config());
        String requested = KernelCheck.requested();
        if (CoreTypes.known(requested)) { // the build runs the tests under the core type it chose
            assertEquals(CoreTypes.canonical(requested).toLowerCase(), info.coreType().toLowerCase());
        }
        assertEquals(info, KernelCheck.ensure(() -> "test"));
    }

    @Test
    void coreTypesNeedTheirInstructionSets() throws Exception {
        Path avx512 = tmp.resolve("avx512");
        Files.writeString(avx512, "processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu sse sse2 pni avx avx2 fma "
                + "avx512f avx512dq avx512bw avx512vl avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n");
        CpuInfo zen4 = CpuInfo.read(avx512);
        assertEquals("AMD EPYC 9R14", zen4.model());
        assertEquals(List.of("Cooperlake", "SkylakeX", "Zen", "Haswell", "Sandybridge"), candidates(zen4));
        Path avx2 = tmp.resolve("avx2");
        Files.writeString(avx2, "model name\t: AMD EPYC\nflags\t\t: fpu sse sse2 pni avx avx2 fma\n");
        CpuInfo zen3 = CpuInfo.read(avx2);
        assertEquals(List.of("Zen", "Haswell", "Sandybridge"), candidates(zen3));
        assertEquals(Set.of("avx512bw", "avx512dq", "avx512f", "avx512vl"), CoreTypes.missing("skylakex", zen3));
        assertTrue(CoreTypes.cannotRun("SkylakeX", zen3, "").contains("avx512f"));
        CpuInfo unknown = CpuInfo.read(tmp.resolve("missing"));
        assertFalse(unknown.known());
        assertEquals(List.of(), CoreTypes.candidates(unknown), "without flags only OpenBLAS's own detection is tried");
        assertEquals(Set.of(), CoreTypes.missing("SkylakeX", unknown));
    }

    private static List<String> candidates(CpuInfo cpu) {
        return System.getProperty("os.arch").matches("amd64|x86_64") ? CoreTypes.candidates(cpu) : List.of();
    }
}
