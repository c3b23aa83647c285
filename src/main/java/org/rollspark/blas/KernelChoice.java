package org.rollspark.blas;

import static org.rollspark.config.Setting.Type.STRING;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.rollspark.config.Setting;

/**
 * Chooses the core type OpenBLAS runs, before the JVMs that compute start (OpenBLAS reads it once, when it loads):
 * every candidate this CPU can run ({@link CoreTypes#candidates}) and OpenBLAS's own detection (the variable unset)
 * are probed, each in a JVM of its own ({@link KernelProbe}: the self-test, then the hot paths timed; twice, the
 * second round in reverse order, keeping each figure's best), and the results are cached per machine (CPU model and flags, OpenBLAS build, probe version), so later jobs start at once.
 * <ul>
 * <li>{@code blas.coreType = NAME} forces a core type: used if it passes, refused (exit 1) if not;</li>
 * <li>{@code OPENBLAS_CORETYPE} set in the environment is the user's choice: respected if it passes (with a hint
 * when a faster core type passes too), refused if not;</li>
 * <li>otherwise the core type that passed with the highest throughput (geometric mean of the vanilla step, the
 * exact ROLL step and certification) is chosen, where it beats OpenBLAS's own choice by more than
 * {@link #MARGIN} (more than the noise of the probes); else OpenBLAS's own choice, if it passed.</li>
 * </ul>
 */
public final class KernelChoice {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<String> CORE_TYPE = SETTINGS.add(Setting.of("blas.coreType", STRING, "auto",
            "The OpenBLAS core type (kernels) every JVM computes with (README, \"BLAS kernels\"). auto: "
                    + "run-cluster.sh probes the core types this CPU runs, each self-tested and timed once per machine "
                    + "(cached), and sets the fastest that passes as OPENBLAS_CORETYPE for the driver and, through "
                    + "spark.executorEnv, the executors; an OPENBLAS_CORETYPE the user set is kept if it passes and "
                    + "refused if not. A name (SkylakeX, Haswell, Zen, ...) forces that core type, refused if it fails "
                    + "the self-test. Every JVM self-tests its BLAS before computing either way.",
            v -> {
                if (!v.equals("auto") && !v.matches("[A-Za-z][A-Za-z0-9]*")) {
                    throw new IllegalArgumentException("must be auto or an OpenBLAS core type name such as SkylakeX");
                }
            }).main());

    private KernelChoice() {}

    /** Bump when the self-test or the timing changes, so cached results are measured again. */
    static final int PROBE_VERSION = 4;
    /** How much faster than OpenBLAS's own choice another core type must be to be chosen instead: 15 %. */
    static final double MARGIN = 1.15;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One probed core type.
     *
     * @param requested the OPENBLAS_CORETYPE it ran under ("" for OpenBLAS's own detection)
     * @param core the core type OpenBLAS ran
     * @param passed whether the self-test passed
     * @param failures what failed
     * @param vanilla vanilla steps, examples per second (0 when it did not pass)
     * @param roll exact ROLL steps, examples per second
     * @param certify certification, examples per second
     */
    public record Probe(String requested, String core, String config, boolean passed, List<String> failures,
            double stepError, double vanilla, double roll, double certify) {
        /** Geometric mean of the three throughputs (0 when the self-test failed). */
        public double score() {
            return passed ? Math.cbrt(vanilla * roll * certify) : 0;
        }

        String label() {
            return requested.isEmpty() ? "unset (" + core + ")" : requested;
        }

        Probe as(String name) {
            return new Probe(name, core, config, passed, failures, stepError, vanilla, roll, certify);
        }

        /** Each figure's best of this probe and another of the same core type (failures from either). */
        Probe best(Probe o) {
            if (!o.passed()) {
                return o;
            }
            return new Probe(requested, core, config, passed, failures, Math.max(stepError, o.stepError()),
                    Math.max(vanilla, o.vanilla()), Math.max(roll, o.roll()), Math.max(certify, o.certify()));
        }
    }

    /**
     * The choice.
     *
     * @param coreType the core type to set as OPENBLAS_CORETYPE for the driver and the executors
     * @param why one line: how it was chosen
     * @param notes hints (a faster core type than the one the environment asks for)
     * @param probes every probe, in the order they ran
     * @param cache the cache file (null when it could not be written)
     */
    public record Decision(String coreType, String why, List<String> notes, List<Probe> probes, Path cache) {
        /** A table of the probes and the choice, for people. */
        public String describe() {
            StringBuilder s = new StringBuilder();
            CpuInfo cpu = CpuInfo.current();
            s.append(String.format(Locale.ROOT, "CPU: %s (%s); OpenBLAS %s%n", cpu.model(), cpu.vectorFlags(),
                    OpenBlas.ARTIFACT));
            s.append(String.format(Locale.ROOT, "%-22s %-9s %13s %13s %13s%n", "OPENBLAS_CORETYPE", "self-test",
                    "vanilla ex/s", "ROLL ex/s", "certify ex/s"));
            for (Probe p : probes) {
                s.append(p.passed() ? String.format(Locale.ROOT, "%-22s %-9s %13.0f %13.1f %13.1f%n", p.label(), "passed",
                        p.vanilla(), p.roll(), p.certify())
                        : String.format(Locale.ROOT, "%-22s %-9s %s%n", p.label(), "FAILED", p.failures().isEmpty() ? ""
                                : p.failures().get(0)));
            }
            s.append("chosen: ").append(coreType).append(" (").append(why).append(")");
            notes.forEach(n -> s.append(System.lineSeparator()).append(n));
            if (cache != null) {
                s.append(System.lineSeparator()).append("measured once per machine; cached in ").append(cache);
            }
            return s.toString();
        }
    }

    /** No core type can be used as asked: exit 1, with the reason. */
    public static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Refused(String message) {
            super(message);
        }
    }

    /** The default cache folder: {@code $XDG_CACHE_HOME/roll-spark/blas}, else {@code ~/.cache/roll-spark/blas}. */
    public static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("roll-spark").resolve("blas");
    }

    /**
     * Chooses.
     *
     * @param forced {@code auto}, or the core type {@code blas.coreType} forces
     * @param environment the OPENBLAS_CORETYPE the user set ("" when none)
     * @param cacheDir where probe results are kept (null: none)
     * @param refresh probe again even where the cache holds results
     * @param progress receives a line per probe started
     * @throws Refused if the forced or requested core type cannot run here or fails, or none passes
     */
    public static Decision choose(String forced, String environment, Path cacheDir, boolean refresh,
            Consumer<String> progress) {
        return choose(forced, environment, cacheDir, refresh, progress, CoreTypes.candidates(CpuInfo.current()), Map.of(),
                PROBE_SECONDS);
    }

    /** Seconds each hot path is timed for in a probe. */
    static final double PROBE_SECONDS = 0.6;

    /**
     * {@link #choose} among the given candidates, with variables added to the probes' environment and the hot paths
     * timed for {@code probeSeconds} each (for tests).
     */
    static Decision choose(String forced, String environment, Path cacheDir, boolean refresh, Consumer<String> progress,
            List<String> candidates, Map<String, String> probeEnv, double probeSeconds) {
        CpuInfo cpu = CpuInfo.current();
        String force = forced.equals("auto") ? "" : CoreTypes.canonical(forced);
        String env = environment == null ? "" : CoreTypes.canonical(environment);
        if (!force.isEmpty() && !CoreTypes.missing(force, cpu).isEmpty()) {
            throw new Refused("blas.coreType=" + force + ": " + CoreTypes.cannotRun(force, cpu, ""));
        }
        if (force.isEmpty() && !env.isEmpty() && !CoreTypes.missing(env, cpu).isEmpty()) {
            throw new Refused(CoreTypes.cannotRun(env, cpu, "") + " (" + KernelCheck.VARIABLE + " is set in the "
                    + "environment)");
        }
        List<String> wanted = new ArrayList<>();
        if (!force.isEmpty()) {
            wanted.add(force);
        } else {
            wanted.add("");
            wanted.addAll(candidates);
            if (!env.isEmpty() && !wanted.contains(env)) {
                wanted.add(env);
            }
        }
        // results under the test hook never go into the machine's cache: they are not its kernels
        boolean faults = System.getenv(Faults.VARIABLE) != null || probeEnv.containsKey(Faults.VARIABLE);
        Path cache = cacheDir == null || faults && cacheDir.equals(defaultCache()) ? null
                : cacheDir.resolve(key(cpu) + ".json");
        Map<String, Probe> known = refresh || cache == null ? new LinkedHashMap<>() : read(cache);
        List<String> probed = new ArrayList<>();
        for (String name : wanted) {
            if (known.containsKey(name)) {
                continue;
            }
            Probe detected = known.get("");
            if (!name.isEmpty() && detected != null && detected.core().equalsIgnoreCase(name)) {
                continue; // the same kernels as OpenBLAS's own choice (copied below)
            }
            progress.accept("probing OPENBLAS_CORETYPE=" + (name.isEmpty() ? "(unset)" : name)
                    + ": BLAS self-test and the hot paths timed, in a JVM of its own");
            known.put(name, probe(name, probeEnv, probeSeconds));
            probed.add(name);
        }
        // a second round in reverse order, keeping each figure's best: the machine's noise drifts over a round
        List<String> again = probed.stream().filter(n -> known.get(n).passed()).toList();
        if (again.size() > 1 && probeSeconds > 0) {
            for (int i = again.size() - 1; i >= 0; i--) {
                String name = again.get(i);
                progress.accept("timing OPENBLAS_CORETYPE=" + (name.isEmpty() ? "(unset)" : name) + " again (second "
                        + "round, in reverse order)");
                known.put(name, known.get(name).best(probe(name, probeEnv, probeSeconds)));
            }
        }
        for (String name : wanted) {
            Probe detected = known.get("");
            if (!known.containsKey(name) && detected != null) {
                known.put(name, detected.as(name));
            }
        }
        if (!probed.isEmpty() && cache != null) {
            cache = write(cache, cpu, known) ? cache : null;
        }
        List<Probe> probes = wanted.stream().map(known::get).toList();
        List<String> notes = new ArrayList<>();
        if (!force.isEmpty()) {
            Probe p = known.get(force);
            if (!p.passed()) {
                throw new Refused("blas.coreType=" + force + " fails the BLAS self-test on this machine (" + cpu.model()
                        + "): " + summary(p.failures()));
            }
            return new Decision(force, "forced by blas.coreType", notes, probes, cache);
        }
        Decision auto = automatic(probes, known.get(""), cache);
        if (!env.isEmpty()) {
            Probe p = known.get(env);
            if (!p.passed()) {
                throw new Refused(KernelCheck.VARIABLE + "=" + env + " (set in the environment) fails the BLAS self-test "
                        + "on this machine (" + cpu.model() + "): " + summary(p.failures())
                        + (auto == null ? "" : ". The fastest core type that passes here is " + auto.coreType()
                                + ": unset " + KernelCheck.VARIABLE + " to let run-cluster.sh use it, or set "
                                + "blas.coreType=" + auto.coreType()));
            }
            Probe a = auto == null ? null : known.get(auto.coreType()) != null ? known.get(auto.coreType()) : known.get("");
            if (a != null && a.score() > MARGIN * p.score() && !auto.coreType().equalsIgnoreCase(env)) {
                notes.add(String.format(Locale.ROOT, "note: %s also passes and runs the hot paths %.2fx as fast here; "
                        + "unset %s or set blas.coreType=%s to use it", auto.coreType(), a.score() / p.score(),
                        KernelCheck.VARIABLE, auto.coreType()));
            }
            return new Decision(env, KernelCheck.VARIABLE + " from the environment, self-tested", notes, probes, cache);
        }
        if (auto == null) {
            StringBuilder s = new StringBuilder("no core type passes the BLAS self-test on this machine (" + cpu.model()
                    + "):");
            probes.forEach(p -> s.append("\n  ").append(p.label()).append(": ").append(summary(p.failures())));
            throw new Refused(s.toString());
        }
        return auto;
    }

    /**
     * The choice without a forced or requested core type: the fastest that passes, unless OpenBLAS's own choice
     * passes and is within {@link #MARGIN} of it; null when none passes.
     */
    private static Decision automatic(List<Probe> probes, Probe detected, Path cache) {
        Probe best = probes.stream().filter(Probe::passed).max(java.util.Comparator.comparingDouble(Probe::score))
                .orElse(null);
        if (best == null) {
            return null;
        }
        if (detected == null || !detected.passed()) {
            return new Decision(name(best), "the fastest that passes" + (detected == null ? "" : "; OpenBLAS's own "
                    + "choice here, " + detected.core() + ", fails the self-test"), new ArrayList<>(), probes, cache);
        }
        double gain = best.score() / detected.score();
        if (gain <= MARGIN || best.core().equalsIgnoreCase(detected.core())) {
            // within the probes' noise of OpenBLAS's own choice (or the same kernels): keep it
            return new Decision(detected.core(), gain <= 1.0 || best.core().equalsIgnoreCase(detected.core())
                    ? "OpenBLAS's own choice here, and the fastest that passes"
                    : String.format(Locale.ROOT, "OpenBLAS's own choice here; %s measured %.2fx, within the %.0f %% "
                            + "the probes' noise allows", name(best), gain, 100 * (MARGIN - 1)), new ArrayList<>(),
                    probes, cache);
        }
        return new Decision(name(best), String.format(Locale.ROOT, "the fastest that passes: %.2fx OpenBLAS's own choice "
                + "here (%s)", gain, detected.core()), new ArrayList<>(), probes, cache);
    }

    /** The first three failures, and how many more. */
    static String summary(List<String> failures) {
        String first = String.join("; ", failures.subList(0, Math.min(3, failures.size())));
        return failures.size() > 3 ? first + "; and " + (failures.size() - 3) + " more" : first;
    }

    /** The name to set: what was asked, or for OpenBLAS's own detection, the core type it detected. */
    private static String name(Probe p) {
        return p.requested().isEmpty() ? p.core() : p.requested();
    }

    /** The cache key: what decides which kernels exist and how they behave here. */
    static String key(CpuInfo cpu) {
        String id = cpu.model() + "|" + String.join(" ", cpu.flags()) + "|" + OpenBlas.ARTIFACT + "|" + PROBE_VERSION
                + "|" + System.getProperty("os.arch");
        return org.rollspark.Provenance.sha256(id.getBytes(StandardCharsets.UTF_8)).substring(0, 16);
    }

    /** Runs {@link KernelProbe} in a JVM of its own under {@code requested} ("" = unset), one thread. */
    static Probe probe(String requested, Map<String, String> extraEnv, double seconds) {
        Path err = null;
        try {
            err = Files.createTempFile("roll-blas-probe", ".log");
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx1g", "-cp", System.getProperty("java.class.path"), KernelProbe.class.getName(),
                    Double.toString(seconds));
            Map<String, String> env = pb.environment();
            env.remove(KernelCheck.VARIABLE);
            if (!requested.isEmpty()) {
                env.put(KernelCheck.VARIABLE, requested);
            }
            env.put("OMP_NUM_THREADS", "1");
            env.put("OPENBLAS_NUM_THREADS", "1");
            env.put("OMP_WAIT_POLICY", "PASSIVE");
            env.putAll(extraEnv);
            pb.redirectError(err.toFile());
            Process proc = pb.start();
            String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!proc.waitFor(300, TimeUnit.SECONDS)) {
                proc.destroyForcibly();
                return failed(requested, "the probe JVM did not finish in 300 s");
            }
            String line = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse(null);
            if (line == null) {
                List<String> tail = Files.readAllLines(err);
                return failed(requested, "the probe JVM exited with code " + proc.exitValue() + " and no result"
                        + (proc.exitValue() == 134 || proc.exitValue() == 132 ? " (an illegal instruction?)" : "")
                        + (tail.isEmpty() ? "" : ": " + tail.get(tail.size() - 1)));
            }
            return parse(JSON.readTree(line));
        } catch (IOException e) {
            return failed(requested, "the probe JVM could not run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return failed(requested, "interrupted");
        } finally {
            if (err != null) {
                try {
                    Files.deleteIfExists(err);
                } catch (IOException e) {
                    // a temporary file
                }
            }
        }
    }

    private static Probe failed(String requested, String why) {
        return new Probe(requested, requested.isEmpty() ? "unknown" : requested, "", false, List.of(why), Double.NaN, 0, 0, 0);
    }

    private static Probe parse(JsonNode j) {
        List<String> failures = new ArrayList<>();
        j.path("failures").forEach(f -> failures.add(f.asText()));
        return new Probe(j.path("requested").asText(""), j.path("core").asText("unknown"), j.path("config").asText(""),
                j.path("passed").asBoolean(false), failures, j.path("stepError").asDouble(Double.NaN),
                j.path("vanilla").asDouble(0), j.path("roll").asDouble(0), j.path("certify").asDouble(0));
    }

    /** The cached probes (none when the file is missing, unreadable or of another machine). */
    static Map<String, Probe> read(Path cache) {
        Map<String, Probe> m = new LinkedHashMap<>();
        try {
            JsonNode root = JSON.readTree(cache.toFile());
            if (root.path("probeVersion").asInt() == PROBE_VERSION) {
                root.path("probes").forEach(p -> m.put(p.path("requested").asText(""), parse(p)));
            }
        } catch (IOException | RuntimeException e) {
            m.clear(); // missing or damaged: probe again
        }
        return m;
    }

    private static boolean write(Path cache, CpuInfo cpu, Map<String, Probe> probes) {
        ObjectNode root = JSON.createObjectNode();
        root.put("probeVersion", PROBE_VERSION);
        root.put("cpu", cpu.model());
        root.put("flags", String.join(" ", cpu.flags()));
        root.put("openblasArtifact", OpenBlas.ARTIFACT);
        root.put("written", java.time.Instant.now().toString());
        ArrayNode arr = root.putArray("probes");
        probes.values().forEach(p -> arr.add(JSON.valueToTree(p)));
        try {
            Files.createDirectories(cache.getParent());
            Path tmp = Files.createTempFile(cache.getParent(), "." + cache.getFileName(), ".tmp");
            Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
            Files.move(tmp, cache, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (IOException e) {
            return false; // a read-only home: choose anyway, probe again next time
        }
    }
}
