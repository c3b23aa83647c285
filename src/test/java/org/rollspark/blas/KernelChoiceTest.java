package org.rollspark.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The choice of the core type, with real probes in child JVMs. Every kernel of this machine may be correct, so a
 * wrong one is made with the test hook ROLL_TEST_BLAS_FAULT ({@link Faults}), which the probes inherit. Two
 * candidates this CPU runs are used (the last two of its list: Haswell and Sandybridge on x86-64 with AVX2), each
 * test with a cache of its own.
 */
class KernelChoiceTest {
    @TempDir
    Path tmp;
    static List<String> two;

    @BeforeAll
    static void candidates() {
        List<String> all = CoreTypes.candidates(CpuInfo.current());
        Assumptions.assumeTrue(all.size() >= 2, "needs two core types this CPU runs: " + all);
        two = List.copyOf(all.subList(all.size() - 2, all.size()));
    }

    private static Map<String, String> fault(String core) {
        return Map.of(Faults.VARIABLE, core);
    }

    @Test
    void aForcedCoreTypeIsUsedIfItPassesAndRefusedIfNot() {
        String bad = two.get(0);
        KernelChoice.Refused e = assertThrows(KernelChoice.Refused.class, () -> KernelChoice.choose(bad, "",
                tmp.resolve("a"), false, line -> { }, two, fault(bad), 0));
        assertTrue(e.getMessage().startsWith("blas.coreType=" + bad + " fails the BLAS self-test on this machine"),
                e.getMessage());
        assertTrue(e.getMessage().contains("float32 product (64 x 784) * (784 x 300)"), e.getMessage());
        KernelChoice.Decision d = KernelChoice.choose(two.get(1), "", tmp.resolve("b"), false, line -> { }, two, fault(bad), 0);
        assertEquals(two.get(1), d.coreType());
        assertEquals(1, d.probes().size(), "a forced core type is the only one probed");
        assertEquals("forced by blas.coreType", d.why());
    }

    @Test
    void theFastestCorrectIsChosenAndTheEnvironmentsChoiceKeptIfItPassesOrRefused() throws Exception {
        String bad = two.get(0);
        String good = two.get(1);
        Path cache = tmp.resolve("cache");
        List<String> probed = new ArrayList<>();
        KernelChoice.Decision auto = KernelChoice.choose("auto", "", cache, false, probed::add, two, fault(bad), 0);
        // OpenBLAS's own detection first, then each candidate unless the detection ran it already
        List<String> started = probed.stream().filter(l -> l.startsWith("probing")).toList();
        assertTrue(started.get(0).contains("(unset)") && started.size() >= 2 && started.size() <= 3, probed.toString());
        assertNotEquals(bad, auto.coreType(), auto.describe());
        assertTrue(auto.describe().contains(bad + " ") && auto.describe().contains("FAILED"), auto.describe());
        KernelChoice.Probe passed = auto.probes().stream().filter(p -> p.requested().equals(good)).findFirst().orElseThrow();
        assertTrue(passed.passed() && passed.vanilla() > 0 && passed.roll() > 0 && passed.certify() > 0, passed.toString());
        assertTrue(Files.exists(cache), "a cache of the test's own holds results under the test hook");

        // from the cache, without probing again: the environment's core type, refused when it fails...
        probed.clear();
        KernelChoice.Refused e = assertThrows(KernelChoice.Refused.class, () -> KernelChoice.choose("auto", bad, cache,
                false, probed::add, two, fault(bad), 0));
        assertTrue(e.getMessage().startsWith("OPENBLAS_CORETYPE=" + bad + " (set in the environment) fails the BLAS "
                + "self-test"), e.getMessage());
        assertTrue(e.getMessage().contains("The fastest core type that passes here is " + auto.coreType()), e.getMessage());
        // ...and kept when it passes
        KernelChoice.Decision env = KernelChoice.choose("auto", good, cache, false, probed::add, two, fault(bad), 0);
        assertEquals(good, env.coreType());
        assertTrue(env.why().contains("from the environment"), env.why());
        assertEquals(List.of(), probed, "the second and third choices come from the cache");
    }

    @Test
    void probesAreCachedPerMachine() throws Exception {
        Path cache = tmp.resolve("real");
        List<String> one = two.subList(1, 2);
        List<String> probed = new ArrayList<>();
        KernelChoice.Decision first = KernelChoice.choose("auto", "", cache, false, probed::add, one, Map.of(), 0);
        assertTrue(probed.size() >= 1, probed.toString());
        try (var files = Files.list(cache)) {
            assertEquals(List.of(KernelChoice.key(CpuInfo.current()) + ".json"), files.map(f -> f.getFileName().toString())
                    .toList());
        }
        probed.clear();
        KernelChoice.Decision again = KernelChoice.choose("auto", one.get(0), cache, false, probed::add, one, Map.of(), 0);
        assertEquals(List.of(), probed, "the second choice comes from the cache");
        assertEquals(first.probes(), again.probes().subList(0, first.probes().size()));
        // a damaged cache is measured again
        try (var files = Files.list(cache)) {
            Files.writeString(files.findFirst().orElseThrow(), "{ not json");
        }
        KernelChoice.choose("auto", "", cache, false, probed::add, one, Map.of(), 0);
        assertTrue(probed.size() >= 1, probed.toString());
    }

    @Test
    void whenNothingPassesNothingIsChosen() {
        KernelChoice.Refused e = assertThrows(KernelChoice.Refused.class, () -> KernelChoice.choose("auto", "",
                tmp.resolve("none"), false, line -> { }, two.subList(1, 2), fault("*"), 0));
        assertTrue(e.getMessage().startsWith("no core type passes the BLAS self-test on this machine"), e.getMessage());
    }

    @Test
    void aCoreTypeThisCpuCannotRunIsRefusedWithoutStartingIt() {
        String lacking = CoreTypes.NEEDS.keySet().stream().filter(c -> !CoreTypes.missing(c, CpuInfo.current()).isEmpty())
                .findFirst().orElse(null);
        Assumptions.assumeTrue(lacking != null, "this CPU runs every known core type");
        KernelChoice.Refused forced = assertThrows(KernelChoice.Refused.class, () -> KernelChoice.choose(lacking, "",
                tmp, false, line -> { throw new AssertionError("probed " + line); }));
        assertTrue(forced.getMessage().contains("illegal instruction"), forced.getMessage());
        KernelChoice.Refused env = assertThrows(KernelChoice.Refused.class, () -> KernelChoice.choose("auto",
                lacking.toLowerCase(), tmp, false, line -> { throw new AssertionError("probed " + line); }));
        assertTrue(env.getMessage().startsWith("OPENBLAS_CORETYPE=" + lacking + " needs "), env.getMessage());
    }
}
