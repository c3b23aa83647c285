package org.rollspark.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.Provenance;
import org.rollspark.data.LabeledData;
import org.rollspark.loss.Aggregation;
import org.rollspark.loss.RollLoss;
import org.rollspark.net.Activation;
import org.rollspark.net.DenseNet;
import org.rollspark.net.Init;
import org.rollspark.net.ModelIO;
import org.rollspark.net.Normalization;
import org.rollspark.region.Certification;
import org.rollspark.region.Certifier;
import org.rollspark.region.Norm;
import org.rollspark.train.LocalTrainer;
import org.rollspark.train.TrainConfig;
import org.rollspark.train.TrainingHistory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Command-line entry points (single JVM). Exit codes: 0 success, 2 usage or setting error,
 * 3 input error (a file that cannot be read or is malformed), 1 any other failure.
 */
@Command(name = "roll", mixinStandardHelpOptions = true, version = Provenance.VERSION,
        description = "Train piecewise-linear networks with the ROLL loss and certify their linear regions.",
        subcommands = {Main.Demo.class, Main.Certify.class})
public final class Main implements Callable<Integer> {
    public static final int USAGE = 2;
    public static final int INPUT = 3;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line and returns its exit code (for tests and embedding). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof IOException) {
                err.println("roll: input error: " + e.getMessage());
                return INPUT;
            }
            if (e instanceof IllegalArgumentException) {
                err.println("roll: " + e.getMessage());
                return USAGE;
            }
            err.println("roll: failed: " + e);
            e.printStackTrace(err);
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() {
        CommandLine.usage(this, System.out);
        return USAGE;
    }

    /** Settings shared by commands that read IDX data. */
    static final class DataOptions {
        @Option(names = "--data-dir", description = "Folder with train-/t10k- images and labels in IDX format, raw or "
                + ".gz (default: the bundled MNIST slice, data/mnist).")
        Path dataDir = Path.of("data", "mnist");

        LabeledData[] load(int trainLimit, int testLimit) throws IOException {
            return new LabeledData[] {
                LabeledData.fromIdx("train", find(dataDir, "train-images-idx3-ubyte"), find(dataDir, "train-labels-idx1-ubyte"), trainLimit),
                LabeledData.fromIdx("test", find(dataDir, "t10k-images-idx3-ubyte"), find(dataDir, "t10k-labels-idx1-ubyte"), testLimit)};
        }

        static Path find(Path dir, String base) throws IOException {
            for (String name : new String[] {base, base + ".gz"}) {
                if (Files.isRegularFile(dir.resolve(name))) {
                    return dir.resolve(name);
                }
            }
            throw new IOException(dir + ": neither " + base + " nor " + base + ".gz is there");
        }
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Train a vanilla and a ROLL network on the same data and seed, certify both on the test "
                    + "set and print them side by side. Models are saved with their provenance under --out.")
    static final class Demo implements Callable<Integer> {
        @CommandLine.Mixin
        DataOptions data = new DataOptions();
        @Option(names = "--train", description = "Training examples to use, validation included (default ${DEFAULT-VALUE}).")
        int train = 10_000;
        @Option(names = "--validation", description = "Examples held out for model selection (default ${DEFAULT-VALUE}).")
        int validation = 1_000;
        @Option(names = "--test", description = "Test examples to certify (default ${DEFAULT-VALUE}).")
        int test = 2_000;
        @Option(names = "--hidden", split = ",", description = "Hidden layer widths (default ${DEFAULT-VALUE}).")
        int[] hidden = {300, 300};
        @Option(names = "--activation", description = "relu or leaky_relu:ALPHA (default ${DEFAULT-VALUE}).")
        String activation = "relu";
        @Option(names = "--epochs", description = "Default ${DEFAULT-VALUE}.")
        int epochs = 5;
        @Option(names = "--batch", description = "Default ${DEFAULT-VALUE}.")
        int batch = 32;
        @Option(names = "--optimizer", description = "sgd (Nesterov), momentum, adam or amsgrad (default ${DEFAULT-VALUE}).")
        String optimizer = "sgd";
        @Option(names = "--lr", description = "Default ${DEFAULT-VALUE}.")
        double lr = 0.02;
        @Option(names = "--momentum", description = "Default ${DEFAULT-VALUE}.")
        double momentum = 0.9;
        @Option(names = "--lambda", description = "ROLL weight lambda (default ${DEFAULT-VALUE}).")
        double lambda = 2;
        @Option(names = "--c", description = "ROLL hinge weight C (default ${DEFAULT-VALUE}).")
        double c = 1;
        @Option(names = "--gamma", description = "Aggregation: 100 = mean, < 100 = top gamma %, max (default ${DEFAULT-VALUE}).")
        String gamma = "100";
        @Option(names = "--seed", description = "Default ${DEFAULT-VALUE}.")
        long seed = 7;
        @Option(names = "--out", description = "Output folder (default runs/demo-<time>).")
        Path out;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            PrintWriter o = spec.commandLine().getOut();
            RollLoss roll = new RollLoss(lambda, c, Aggregation.parse(gamma));
            TrainConfig base = new TrainConfig(epochs, batch, seed, optimizer, lr, momentum, roll, 256);
            Activation act = Activation.parse(activation);
            LabeledData[] d = data.load(train, test);
            LabeledData[] tv = d[0].splitValidation(validation, seed);
            Path dir = out != null ? out : Path.of("runs", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            int[] sizes = new int[hidden.length + 2];
            sizes[0] = d[0].numFeatures();
            System.arraycopy(hidden, 0, sizes, 1, hidden.length);
            sizes[sizes.length - 1] = d[0].numClasses();
            o.printf(Locale.ROOT, "data: %d train, %d validation, %d test from %s; net %s %s%n", tv[0].size(), tv[1].size(),
                    d[1].size(), data.dataDir, Arrays.toString(sizes), act.spec());
            Certification[] cert = new Certification[2];
            String[] names = {"vanilla", "roll"};
            for (int m = 0; m < 2; m++) {
                TrainConfig cfg = m == 0 ? base.withLoss(RollLoss.vanilla()) : base;
                DenseNet net = DenseNet.init(sizes, act, Normalization.mnist(), Init.UNIFORM_FAN_IN, seed, DataType.FLOAT);
                String name = names[m];
                TrainingHistory h = new LocalTrainer(cfg, s -> o.printf(Locale.ROOT,
                        "[%s] epoch %d/%d  loss %.4f (CE %.4f, ROLL term %.4f)  train acc %.3f  val loss %.4f  val acc %.3f  %.0f ex/s%n",
                        name, s.epoch(), cfg.epochs(), s.train().total(), s.train().crossEntropy(), s.train().rollTerm(),
                        s.train().accuracy(), s.validation().total(), s.validation().accuracy(), s.examplesPerSecond()))
                        .fit(net, tv[0], tv[1]);
                o.printf("[%s] kept epoch %d (lowest validation loss)%n", name, h.bestEpoch());
                cert[m] = new Certifier(net).certify(d[1].allFeatures());
                Map<String, Object> config = new LinkedHashMap<>(cfg.toMap());
                config.put("net.sizes", Arrays.toString(sizes));
                config.put("net.activation", act.spec());
                config.put("data.train", tv[0].name() + " (" + tv[0].size() + ")");
                ModelIO.save(net, dir.resolve(name), Provenance.record(config, seed, tv[0].fingerprint()));
            }
            o.println();
            o.printf(Locale.ROOT, "test set: %d examples; margins in raw pixel units (x 1e-4), P25 / P50 / P75 / P100%n", d[1].size());
            o.printf(Locale.ROOT, "%-8s %7s %8s  %-32s %-32s%n", "model", "acc", "#regions", "eps_1", "eps_2");
            for (int m = 0; m < 2; m++) {
                o.printf(Locale.ROOT, "%-8s %6.2f%% %8d  %-32s %-32s%n", names[m], 100 * cert[m].accuracy(d[1].labels()),
                        cert[m].distinctPatterns(), quartiles(cert[m], Norm.L1), quartiles(cert[m], Norm.L2));
            }
            o.printf(Locale.ROOT, "median l2 margin, ROLL / vanilla: %.1fx%n",
                    cert[1].quantile(Norm.L2, 0.5) / cert[0].quantile(Norm.L2, 0.5));
            o.println("models saved under " + dir);
            return 0;
        }
    }

    static String quartiles(Certification c, Norm p) {
        return String.format(Locale.ROOT, "%.0f / %.0f / %.0f / %.0f", 1e4 * c.quantile(p, 0.25), 1e4 * c.quantile(p, 0.5),
                1e4 * c.quantile(p, 0.75), 1e4 * c.quantile(p, 1));
    }

    @Command(name = "certify", mixinStandardHelpOptions = true,
            description = "Certify a saved model on the test images of an IDX data folder and print the summary.")
    static final class Certify implements Callable<Integer> {
        @CommandLine.Mixin
        DataOptions data = new DataOptions();
        @Option(names = "--model", required = true, description = "Model folder (model.json plus .npy weights).")
        Path model;
        @Option(names = "--test", description = "Test examples to certify (default: all).")
        int test = Integer.MAX_VALUE;
        @Option(names = "--float64", description = "Compute in double precision (verification).")
        boolean float64;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            PrintWriter o = spec.commandLine().getOut();
            DenseNet net = ModelIO.load(model, float64 ? DataType.DOUBLE : DataType.FLOAT);
            LabeledData t = LabeledData.fromIdx("test", DataOptions.find(data.dataDir, "t10k-images-idx3-ubyte"),
                    DataOptions.find(data.dataDir, "t10k-labels-idx1-ubyte"), test);
            if (t.numFeatures() != net.inputSize()) {
                throw new IOException(data.dataDir + ": images have " + t.numFeatures() + " values, the model takes "
                        + net.inputSize());
            }
            long t0 = System.nanoTime();
            Certification c = new Certifier(net).certify(t.allFeatures());
            double secs = (System.nanoTime() - t0) / 1e9;
            o.printf(Locale.ROOT, "%d examples, accuracy %.2f%%, %d distinct activation patterns, %.0f ex/s%n", c.size(),
                    100 * c.accuracy(t.labels()), c.distinctPatterns(), c.size() / secs);
            for (Norm p : Norm.values()) {
                o.printf(Locale.ROOT, "eps_%-4s (raw units, x 1e-4) P25 / P50 / P75 / P100: %s%n", p.label().substring(1),
                        quartiles(c, p));
            }
            return 0;
        }
    }
}
