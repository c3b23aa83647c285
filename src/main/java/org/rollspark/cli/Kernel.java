package org.rollspark.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.rollspark.blas.KernelCheck;
import org.rollspark.blas.KernelChoice;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/**
 * The kernel command: which OpenBLAS core type the jobs compute with ({@link KernelChoice}). run-cluster.sh runs it
 * with {@code --pick} before it starts a job (a plain JVM: it needs neither Spark nor a cluster), reading
 * {@code blas.coreType} from the job's own command line, and sets the choice as OPENBLAS_CORETYPE for the driver
 * and the executors; {@code run-cluster.sh kernel} prints the probes and the choice. Exit codes: 0, 2 for a bad
 * setting, 1 when no core type can be used as asked.
 */
@Command(name = "kernel", mixinStandardHelpOptions = true,
        description = "Choose the OpenBLAS core type the jobs compute with: every core type this CPU runs is self-tested "
                + "and timed once per machine (cached), and the fastest that passes is chosen; blas.coreType forces one, "
                + "and an OPENBLAS_CORETYPE set in the environment is kept if it passes.")
public final class Kernel implements Callable<Integer> {
    @Option(names = "--pick", description = "Print only the chosen core type on stdout (the table goes to stderr).")
    boolean pick;
    @Option(names = "--passing", description = "Print only the core types that passed, one per line, the chosen first "
            + "(for benchmarks that compare them).")
    boolean passing;
    @Option(names = "--refresh", description = "Probe again, ignoring the cached results.")
    boolean refresh;
    @Option(names = "--cache", paramLabel = "DIR", description = "Where probe results are cached (default: "
            + "$XDG_CACHE_HOME/roll-spark/blas or ~/.cache/roll-spark/blas).")
    Path cache;
    @Option(names = "--properties", paramLabel = "FILE", description = "Also write the choice to FILE as "
            + "blas.coreType=NAME (the build reads it to run the tests under the chosen core type).")
    Path properties;
    @Parameters(paramLabel = "JOB", description = "The job's command line (after --): its -c FILE and KEY=VALUE "
            + "settings are read for blas.coreType; everything else is ignored.")
    List<String> job = new ArrayList<>();
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new Kernel());
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("roll: " + (e instanceof KernelChoice.Refused ? "" : "failed: ") + e.getMessage());
            return e instanceof IllegalArgumentException ? Main.USAGE : 1;
        });
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path file = null;
        List<String> overrides = new ArrayList<>();
        for (int i = 0; i < job.size(); i++) {
            String a = job.get(i);
            if ((a.equals("-c") || a.equals("--config")) && i + 1 < job.size()) {
                file = Path.of(job.get(++i));
            } else if (a.startsWith("--config=")) {
                file = Path.of(a.substring("--config=".length()));
            } else if (!a.startsWith("-") && a.indexOf('=') > 0) {
                overrides.add(a);
            }
        }
        JobConfig cfg = JobConfig.load(file, overrides);
        KernelChoice.Decision d = KernelChoice.choose(cfg.get(KernelChoice.CORE_TYPE), KernelCheck.requested(),
                cache != null ? cache : KernelChoice.defaultCache(), refresh, line -> err.println("roll: " + line));
        if (passing) {
            java.util.Set<String> names = new java.util.LinkedHashSet<>(List.of(d.coreType()));
            d.probes().stream().filter(KernelChoice.Probe::passed).forEach(p -> names.add(p.requested().isEmpty()
                    ? p.core() : p.requested()));
            names.forEach(out::println);
        } else if (pick) {
            out.println(d.coreType());
            err.println("roll: OPENBLAS_CORETYPE=" + d.coreType() + " (" + d.why() + ")");
            d.notes().forEach(n -> err.println("roll: " + n));
        } else {
            out.println(d.describe());
        }
        if (properties != null) {
            Files.createDirectories(properties.toAbsolutePath().getParent());
            Files.writeString(properties, "blas.coreType=" + d.coreType() + System.lineSeparator());
        }
        return 0;
    }
}
