package org.rollspark.cli;

import static org.rollspark.cli.Setting.Type.BOOL;
import static org.rollspark.cli.Setting.Type.DOUBLE;
import static org.rollspark.cli.Setting.Type.DOUBLES;
import static org.rollspark.cli.Setting.Type.INT;
import static org.rollspark.cli.Setting.Type.INTS;
import static org.rollspark.cli.Setting.Type.LONG;
import static org.rollspark.cli.Setting.Type.OBJECT;
import static org.rollspark.cli.Setting.Type.OBJECTS;
import static org.rollspark.cli.Setting.Type.STRING;
import static org.rollspark.cli.Setting.Type.STRINGS;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.rollspark.data.Format;
import org.rollspark.loss.Aggregation;
import org.rollspark.net.Activation;
import org.rollspark.net.Init;

/**
 * Every setting of the roll jobs, declared once with its type, default, doc and check. reference.conf
 * ({@link #referenceConf()}) and the README's settings table ({@link #readmeTable()}) are generated
 * from here, and a test checks that the files in the repository are what these declarations give.
 * Cross-setting checks live in {@link JobConfig}.
 */
public final class Settings {
    /** Every declaration below, in the order of the source (static initialisers run top to bottom). */
    private static final List<Setting<?>> DECLARED = new ArrayList<>();

    private static <T> Setting<T> def(Setting<T> s) {
        DECLARED.add(s);
        return s;
    }

    // ------------------------------------------------------------------------------------ data
    public static final Setting<String> DATA_FORMAT = def(Setting.of("data.format", STRING, "idx",
            "Input format (README, \"Data formats\"): " + String.join(", ", Format.NAMES) + ". Files are read on the "
                    + "executors through Hadoop FileSystem paths (local, hdfs://, s3a://, ...); a location is a file, a "
                    + "folder (its files in name order) or a glob.", oneOf(Format.NAMES)).main());
    public static final Setting<String> DATA_TRAIN = def(Setting.of("data.train", STRING, "",
            "Training location. Empty with format idx: the MNIST file names in data.dir.").main());
    public static final Setting<String> DATA_TEST = def(Setting.of("data.test", STRING, "",
            "Test location. Empty with format idx: the MNIST file names in data.dir.").main());
    public static final Setting<String> DATA_TRAIN_LABELS = def(Setting.of("data.trainLabels", STRING, "",
            "idx only: the label file of the training data (empty: the MNIST name in data.dir)."));
    public static final Setting<String> DATA_TEST_LABELS = def(Setting.of("data.testLabels", STRING, "",
            "idx only: the label file of the test data (empty: the MNIST name in data.dir)."));
    public static final Setting<String> DATA_DIR = def(Setting.of("data.dir", STRING, "data/mnist",
            "Folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                    + "t10k-labels-idx1-ubyte (each raw or .gz), used when format = idx and train / test are empty. "
                    + "Default: the bundled MNIST slice.").main());
    public static final Setting<Integer> DATA_TRAIN_LIMIT = def(Setting.of("data.trainLimit", INT, 0,
            "Use at most this many training examples, the first ones in file order (0 = all).", atLeast(0)).main());
    public static final Setting<Integer> DATA_TEST_LIMIT = def(Setting.of("data.testLimit", INT, 0,
            "Use at most this many test examples, the first ones in file order (0 = all).", atLeast(0)).main());
    public static final Setting<Integer> DATA_VALIDATION = def(Setting.of("data.validation", INT, 1000,
            "Examples held out of the training location for model selection (seeded); the paper: 5000 of 60000.",
            atLeast(1)).main());
    public static final Setting<Long> DATA_SEED = def(Setting.of("data.seed", LONG, 7L,
            "Seeds the validation split, the training shards and generated data (synthetic formats). Separate from "
                    + "train.seed, so runs that differ only in train.seed (a seed study) see the same split and shards.").main());
    public static final Setting<Boolean> DATA_STRATIFIED = def(Setting.of("data.stratified", BOOL, false,
            "Hold out every class in proportion (stratified split) instead of a plain seeded draw.").main());
    public static final Setting<Boolean> DATA_SEQUENTIAL = def(Setting.of("data.sequential", BOOL, false,
            "Read (C, H, W) images row by row as H time steps of C * W features, for recurrent nets.").main());
    public static final Setting<String> DATA_NORMALIZE = def(Setting.of("data.normalize", STRING, "config",
            "Input normalisation x_norm = (x_raw - mean) / std. \"config\": data.mean and data.std; \"scalar\", "
                    + "\"channel\" or \"feature\": statistics of the training split, computed on the executors and "
                    + "stored with the model. Margins are always reported in raw units.",
            oneOf(List.of("config", "scalar", "channel", "feature"))).main());
    public static final Setting<List<Double>> DATA_MEAN = def(Setting.of("data.mean", DOUBLES, List.of(0.1307),
            "Normalisation mean: one value, or one per input feature. Raw units: pixels / 255 for image formats.").main());
    public static final Setting<List<Double>> DATA_STD = def(Setting.of("data.std", DOUBLES, List.of(0.3081),
            "Normalisation standard deviation: one value, or one per input feature.").main());
    public static final Setting<List<Integer>> DATA_IMAGE_SIZE = def(Setting.of("data.imageSize", INTS, List.of(),
            "images: [height, width] every image is brought to."));
    public static final Setting<String> DATA_IMAGE_MODE = def(Setting.of("data.imageMode", STRING, "resize",
            "images: resize (scale) or crop (scale the shorter side, cut the centre)."));
    public static final Setting<Integer> DATA_CHANNELS = def(Setting.of("data.channels", INT, 3,
            "images: channels, 1 (grey) or 3 (RGB)."));
    public static final Setting<String> DATA_LABEL_COLUMN = def(Setting.of("data.labelColumn", STRING, "",
            "csv / csv_sequence: the label column, by header name or 0-based index (default: csv the last "
                    + "column, csv_sequence 1). table: the label column's name (default label): integer labels, or "
                    + "strings (classes in sorted order, stored with the model)."));
    public static final Setting<String> DATA_SOURCE = def(Setting.of("data.source", STRING, "parquet",
            "table: the Spark DataFrameReader source data.train and data.test are read with (parquet, orc, json, or any "
                    + "source on the classpath), or catalog: they name catalog tables (spark.table, e.g. "
                    + "warehouse.scans)."));
    public static final Setting<String> DATA_FEATURES_COLUMN = def(Setting.of("data.featuresColumn", STRING, "features",
            "table: the features column: array<float> or array<double>, a Spark ML vector (dense or sparse), a sequence "
                    + "array<array<float>> (steps of features, any number of steps), an image of Spark's image source, "
                    + "or an encoded image (binary: PNG, JPEG, BMP, GIF, as Spark's binaryFile source gives)."));
    public static final Setting<String> DATA_ID_COLUMN = def(Setting.of("data.idColumn", STRING, "",
            "table: a column of primitive type whose values identify the rows (unique); carried into every "
                    + "certification row as id, and the split and shards are drawn on it. Empty: rows are identified by "
                    + "their content (label and features), and two identical rows are an input error."));
    public static final Setting<List<Integer>> DATA_SHAPE = def(Setting.of("data.shape", INTS, List.of(),
            "table: the shape of every row's features: [channels, height, width] for images, [steps, features] for "
                    + "sequences (steps: the most a sequence may have); empty: a flat vector of the array's length, an "
                    + "image's own size, sequences padded to the longest."));
    public static final Setting<String> DATA_SEQUENCE_COLUMN = def(Setting.of("data.sequenceColumn", STRING, "",
            "csv_sequence: the sequence-id column, by header name or 0-based index (default 0)."));
    public static final Setting<Integer> DATA_NUM_CLASSES = def(Setting.of("data.numClasses", INT, 0,
            "Number of classes (0: one more than the largest label, or what the format knows). When set, a label at "
                    + "or beyond it is an input error naming the file and record, the network has this many outputs, and "
                    + "certify checks it against the model's.", atLeast(0)));
    public static final Setting<List<String>> DATA_CLASSES = def(Setting.of("data.classes", STRINGS, List.of(),
            "Class names when labels are names (label i = the i-th name)."));
    public static final Setting<List<Integer>> DATA_SPEAKER_BLOCKS = def(Setting.of("data.speakerBlocks", INTS, List.of(),
            "vowels: utterance blocks per speaker, for files other than ae.train (270) and ae.test (370)."));
    public static final Setting<Integer> DATA_COUNT = def(Setting.of("data.count", INT, 2000,
            "synthetic2d: points per split.", atLeast(1)));
    public static final Setting<Double> DATA_NOISE = def(Setting.of("data.noise", DOUBLE, 0.04,
            "synthetic2d: the points' noise.", finiteAtLeast(0)));

    // ------------------------------------------------------------------------------------ net
    public static final Setting<String> NET_TYPE = def(Setting.of("net.type", STRING, "dense",
            "dense: fully connected (net.hidden, net.activation); graph: any layer list (net.inputShape, "
                    + "net.layers; README, \"Architectures\").", oneOf(List.of("dense", "graph"))).main());
    public static final Setting<List<Integer>> NET_HIDDEN = def(Setting.of("net.hidden", INTS, List.of(300, 300),
            "dense: hidden widths.", v -> {
                if (v.isEmpty() || v.stream().anyMatch(h -> h < 1)) {
                    throw new IllegalArgumentException("must list at least one width >= 1");
                }
            }).main());
    public static final Setting<String> NET_ACTIVATION = def(Setting.of("net.activation", STRING, "relu",
            "relu, or leaky_relu:ALPHA.", Activation::parse).main());
    public static final Setting<String> NET_INIT = def(Setting.of("net.init", STRING, "uniform_fan_in",
            "uniform_fan_in (PyTorch's nn.Linear default, the paper's) or he_normal.", Init::parse).main());
    public static final Setting<String> NET_DTYPE = def(Setting.of("net.dtype", STRING, "float32",
            "float32, or float64 for verification.", oneOf(List.of("float32", "float64"))).main());
    public static final Setting<List<Integer>> NET_INPUT_SHAPE = def(Setting.of("net.inputShape", INTS, List.of(1, 28, 28),
            "graph nets: the input of one example as [features], [steps, features] (an image's rows as time steps "
                    + "for a recurrent net) or [channels, height, width]; it must hold the data's feature count.",
            v -> {
                if (v.isEmpty() || v.size() > 3 || v.stream().anyMatch(s -> s < 1)) {
                    throw new IllegalArgumentException("must be [features], [steps, features] or [channels, height, width]");
                }
            }).main());
    public static final Setting<String> NET_LAYERS = def(Setting.of("net.layers", OBJECTS, "[]",
            "graph nets: the layers, e.g. [{type = conv2d, filters = 8, kernel = 3, padding = 1}, {type = relu}, "
                    + "{type = global_avgpool}, {type = dense, units = 10}]; the last must give one output per class.")
            .main());

    // ------------------------------------------------------------------------------------ loss
    public static final Setting<String> LOSS_TYPE = def(Setting.of("loss.type", STRING, "roll", "roll or vanilla.",
            oneOf(List.of("roll", "vanilla"))).main());
    public static final Setting<Double> LOSS_LAMBDA = def(Setting.of("loss.lambda", DOUBLE, 2.0,
            "Weight of the ROLL term.", finiteAtLeast(0)).main());
    public static final Setting<Double> LOSS_C = def(Setting.of("loss.c", DOUBLE, 0.25,
            "Weight of the hinge C max(0, 1 - |z|) in the ROLL term.", finiteAtLeast(0)).main());
    public static final Setting<String> LOSS_GAMMA = def(Setting.of("loss.gamma", STRING, "100",
            "100 = mean over all neurons; < 100 = mean of the top gamma percent; \"max\".", Aggregation::parse).main());
    public static final Setting<Integer> LOSS_SAMPLES = def(Setting.of("loss.samples", INT, 0,
            "The gradient term over input coordinates: 0 = exact (all D); D' > 0 = the sampled loss, D' coordinates "
                    + "drawn per example and step, scaled by D / D' (unbiased; gamma = 100 only; the paper: 3 on MNIST).",
            atLeast(0)).main());
    public static final Setting<Boolean> LOSS_SAMPLES_PER_CHANNEL = def(Setting.of("loss.samplesPerChannel", BOOL, false,
            "Draw loss.samples coordinates from each channel of a (C, H, W) input (the paper: 120 per colour "
                    + "channel).").main());

    // ------------------------------------------------------------------------------------ train
    public static final Setting<Long> TRAIN_SEED = def(Setting.of("train.seed", LONG, 7L,
            "Seeds the model: initialisation, shuffles and sampled coordinates (data.seed seeds the split and "
                    + "shards).").main());
    public static final Setting<String> TRAIN_INIT_MODEL = def(Setting.of("train.initModel", STRING, "",
            "Fine-tune a pretrained network: an ONNX file (.onnx, see the README's ONNX section) or a model folder. Its "
                    + "architecture, weights and input normalisation are used as they are (net.* and data.normalize do "
                    + "not apply); empty: a new network from net.*.").main());
    public static final Setting<Integer> TRAIN_EPOCHS = def(Setting.of("train.epochs", INT, 5, "Training epochs.",
            atLeast(1)).main());
    public static final Setting<String> TRAIN_OPTIMIZER = def(Setting.of("train.optimizer", STRING, "sgd",
            "sgd (Nesterov momentum), momentum (plain), adam or amsgrad.",
            oneOf(List.of("sgd", "momentum", "adam", "amsgrad"))).main());
    public static final Setting<Double> TRAIN_LR = def(Setting.of("train.lr", DOUBLE, 0.02, "Learning rate.", v -> {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException("must be finite and > 0");
        }
    }).main());
    public static final Setting<Double> TRAIN_MOMENTUM = def(Setting.of("train.momentum", DOUBLE, 0.9,
            "Momentum of sgd and momentum.", finiteAtLeast(0)).main());
    public static final Setting<Integer> TRAIN_EVAL_BATCH_SIZE = def(Setting.of("train.evalBatchSize", INT, 256,
            "Batch size of validation passes (no effect on results).", atLeast(1)));

    // ------------------------------------------------------------------------------------ spark
    public static final Setting<String> SPARK_MASTER = def(Setting.of("spark.master", STRING, "local[2]",
            "Used only when no master is given by spark-submit (--master) or spark.master.").main());
    public static final Setting<Integer> SPARK_NUM_WORKERS = def(Setting.of("spark.numWorkers", INT, 2,
            "Parameter averaging (named as DL4J's ParameterAveragingTrainingMaster names it): data shards = Spark "
                    + "partitions.", atLeast(1)).main());
    public static final Setting<Integer> SPARK_BATCH_SIZE_PER_WORKER = def(Setting.of("spark.batchSizePerWorker", INT, 32,
            "Minibatch size on each worker.", atLeast(1)).main());
    public static final Setting<Integer> SPARK_AVERAGING_FREQUENCY = def(Setting.of("spark.averagingFrequency", INT, 5,
            "Minibatches per worker between parameter averagings.", atLeast(1)).main());
    public static final Setting<String> SPARK_ROUNDS = def(Setting.of("spark.rounds", STRING, "auto",
            "How averaging rounds run (the same bits either way). barrier: one Spark barrier stage per span of rounds "
                    + "(to the next checkpoint, metrics row or progress line, or the epoch's end), one long-lived task per worker; the "
                    + "tasks add their results in the driver's tree over direct TCP connections and keep their network "
                    + "between rounds; a failed stage runs again whole. tasks: one Spark job per round (broadcast, tasks, "
                    + "results to the driver). auto: barrier when the cluster has a task slot per worker, no dynamic "
                    + "allocation and no encrypted Spark traffic, tasks otherwise (the choice is logged).",
            oneOf(List.of("auto", "barrier", "tasks"))).main());
    public static final Setting<Integer> SPARK_CHECKPOINT_ROUNDS = def(Setting.of("spark.checkpointRounds", INT, 0,
            "Also checkpoint every this many averaging rounds inside an epoch (0: after every epoch only).",
            atLeast(0)).main());

    // ------------------------------------------------------------------------------------ certify
    public static final Setting<Integer> CERTIFY_PARTITIONS = def(Setting.of("certify.partitions", INT, 4,
            "Spark partitions to certify in (raised so that none holds more than 32 MB of examples).", atLeast(1)).main());
    public static final Setting<Boolean> CERTIFY_REPLACE = def(Setting.of("certify.replace", BOOL, false,
            "A rerun of an existing run id (run_date, run_id) replaces that run's partitions and nothing else; "
                    + "false: such a rerun is refused (a failed run may always be rerun)."));
    public static final Setting<String> CERTIFY_SPLIT = def(Setting.of("certify.split", STRING, "test",
            "Split name in the certification tables.").main());
    public static final Setting<List<Double>> CERTIFY_RADII_L1 = def(Setting.of("certify.radiiL1", DOUBLES,
            List.of(0.05, 0.1, 0.2, 0.5, 1.0), "Radii (raw input units) at which the run summary reports l1 certified "
                    + "accuracy: the share of ALL examples correctly classified with a certified radius of at least r.",
            radii()).main());
    public static final Setting<List<Double>> CERTIFY_RADII_L2 = def(Setting.of("certify.radiiL2", DOUBLES,
            List.of(0.01, 0.02, 0.05, 0.1, 0.2), "Radii of the l2 certified accuracy.", radii()).main());
    public static final Setting<List<Double>> CERTIFY_RADII_LINF = def(Setting.of("certify.radiiLinf", DOUBLES,
            List.of(0.001, 0.002, 0.005, 0.01, 0.02), "Radii of the l_inf certified accuracy.", radii()).main());
    public static final Setting<Integer> CERTIFY_SOUNDNESS_EXAMPLES = def(Setting.of("certify.soundnessExamples", INT, 64,
            "Soundness mode: re-verify this many examples' certificates in float64 by sampling points inside the "
                    + "certified balls (0 = off).", atLeast(0)).main());
    public static final Setting<Integer> CERTIFY_SOUNDNESS_POINTS = def(Setting.of("certify.soundnessPoints", INT, 100,
            "Soundness mode: points per norm and example.", atLeast(2)).main());
    public static final Setting<Boolean> CERTIFY_COORDINATE_BOUNDS = def(Setting.of("certify.coordinateBounds", BOOL, false,
            "Store the directional certificates along +e_k and -e_k of every input coordinate (raw units) as the "
                    + "array columns dir_pos and dir_neg (D values each per row).").main());
    public static final Setting<Integer> CERTIFY_GRADIENT_EXAMPLES = def(Setting.of("certify.gradientExamples", INT, 0,
            "Gradient stability (the paper's section 3): for this many examples (0 = off), the expected and the "
                    + "maximum (genetic search) l1 distortion of the true-class logit gradient in the l_inf ball of "
                    + "radius gradientEps intersected with [gradientBoxLow, gradientBoxHigh] (raw units).",
            atLeast(0)).main());
    public static final Setting<Double> CERTIFY_GRADIENT_EPS = def(Setting.of("certify.gradientEps", DOUBLE, 0.03125,
            "Gradient stability: the l_inf radius (the paper: 8/256).", finiteAtLeast(0)));
    public static final Setting<Double> CERTIFY_GRADIENT_BOX_LOW = def(Setting.of("certify.gradientBoxLow", DOUBLE, 0.0,
            "Gradient stability: the valid input box's lower end (raw units)."));
    public static final Setting<Double> CERTIFY_GRADIENT_BOX_HIGH = def(Setting.of("certify.gradientBoxHigh", DOUBLE, 1.0,
            "Gradient stability: the valid input box's upper end (raw units)."));
    public static final Setting<Integer> CERTIFY_GRADIENT_SAMPLES = def(Setting.of("certify.gradientSamples", INT, 8000,
            "Gradient stability: uniform samples for the expected distortion.", atLeast(1)));
    public static final Setting<Integer> CERTIFY_GRADIENT_POPULATION = def(Setting.of("certify.gradientPopulation", INT, 4800,
            "Gradient stability: population of the genetic search.", atLeast(0)));
    public static final Setting<Integer> CERTIFY_GRADIENT_GENERATIONS = def(Setting.of("certify.gradientGenerations", INT, 30,
            "Gradient stability: generations of the genetic search.", atLeast(0)));
    public static final Setting<Long> CERTIFY_GRADIENT_SEED = def(Setting.of("certify.gradientSeed", LONG, 0L,
            "Seeds the sampling and the genetic search (combined with each example's id)."));

    // ------------------------------------------------------------------------------------ output
    public static final Setting<String> OUTPUT_DIR = def(Setting.of("output.dir", STRING, "runs",
            "Root folder (any Hadoop file system path for the certification tables): models/<run_id>, "
                    + "checkpoints/<run_id>, certification/{examples,summary,runs}/run_date=.../run_id=...").main());
    public static final Setting<String> OUTPUT_RUN_ID = def(Setting.of("output.runId", STRING, "",
            "Empty: a new id from the time and a random suffix. A rerun with the same runId and settings resumes "
                    + "training from its newest complete checkpoint; with train.epochs raised it continues a finished run.",
            v -> {
                if (!v.isEmpty() && !v.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")) {
                    throw new IllegalArgumentException("must be letters, digits, '_', '.' or '-' (at most 128)");
                }
            }).main());
    public static final Setting<String> OUTPUT_RUN_DATE = def(Setting.of("output.runDate", STRING, "",
            "The run's date in the certification tables (empty: today, UTC).", v -> {
                if (!v.isEmpty()) {
                    try {
                        java.time.LocalDate.parse(v);
                    } catch (java.time.format.DateTimeParseException e) {
                        throw new IllegalArgumentException("is not a date like 2026-11-24");
                    }
                }
            }).main());
    public static final Setting<String> OUTPUT_CHECKPOINT_DIR = def(Setting.of("output.checkpointDir", STRING, "",
            "Where resumable checkpoints go (any Hadoop path; <dir>/<run_id>[-name]); empty: output.dir/checkpoints.")
            .main());
    public static final Setting<Integer> OUTPUT_METRICS_EVERY_ROUNDS = def(Setting.of("output.metricsEveryRounds", INT, 0,
            "The training-metrics table (output.dir/training) has a row per epoch; N > 0 adds one every N averaging "
                    + "rounds within an epoch (the epoch's running means).", atLeast(0)));

    // ------------------------------------------------------------------------------------ report
    public static final Setting<Double> REPORT_DRIFT_THRESHOLD = def(Setting.of("report.driftThreshold", DOUBLE, 0.05,
            "The report's scheduled-evaluation charts mark a run date whose accuracy, median eps_2 or certified accuracy "
                    + "moved by more than this fraction of the date before's value.", finiteAtLeast(0)).main());

    // ------------------------------------------------------------------------------------ sweep
    public static final Setting<Map<String, Object>> SWEEP_GRID = def(Setting.of("sweep.grid", OBJECT, Map.of(),
            "The sweep command's grid: setting keys (quoted) to the values they take, e.g. {\"loss.lambda\" = [0.5, 1, 2], "
                    + "\"loss.c\" = [0.25, 1]}; every combination is trained, and the vanilla baseline with it.", v -> {
                for (Map.Entry<String, Object> e : v.entrySet()) {
                    if (!(e.getValue() instanceof List<?>)) {
                        throw new IllegalArgumentException("\"" + e.getKey() + "\" must map to a list of values"
                                + (e.getValue() instanceof Map<?, ?> ? " (quote dotted keys: \"loss.lambda\" = [...])" : ""));
                    }
                }
            }).main());
    public static final Setting<Integer> SWEEP_MAX_POINTS = def(Setting.of("sweep.maxPoints", INT, 256,
            "The most grid points a sweep may have (a guard against a grid that would run for weeks).", atLeast(1)));
    public static final Setting<String> SWEEP_MODE = def(Setting.of("sweep.mode", STRING, "auto",
            "How sweep points train. parallel: each point is one Spark task that trains the whole model on one executor "
                    + "core, on a broadcast copy of the training and validation shards (as many points in flight as there "
                    + "are cores); sequential: one point after another, each with parameter averaging across the cluster, "
                    + "for data no executor can hold; auto: parallel when a copy of both splits fits (a quarter of an executor's "
                    + "memory, half the heap in local mode; a quarter of the driver's heap; 80 % of "
                    + "spark.driver.maxResultSize). Both give the same models.", oneOf(List.of("auto", "parallel", "sequential"))).main());
    public static final Setting<Integer> SWEEP_PARALLELISM = def(Setting.of("sweep.parallelism", INT, 0,
            "Parallel sweeps: the most points training at a time; 0: one per task slot (the Spark context's default "
                    + "parallelism divided by spark.task.cpus, read again as executors come and go).", atLeast(0)));
    public static final Setting<String> SWEEP_CERTIFY_TEST = def(Setting.of("sweep.certifyTest", STRING, "picks",
            "Which sweep models are certified on the test split (the sweep table's test_ columns): picks (the vanilla "
                    + "baseline and the picks) or all (every trained point, e.g. for the paper's Figure 2).",
            oneOf(List.of("picks", "all"))));
    public static final Setting<Boolean> SWEEP_FAIL_FAST = def(Setting.of("sweep.failFast", BOOL, false,
            "Stop the sweep at the first grid point that fails for a reason other than divergence, cancelling the points "
                    + "in flight (Ray Tune's fail_fast). By default a failed point is recorded with its error and the others "
                    + "go on; a rerun tries it again. A failed baseline always stops the sweep: the selection compares with it."));

    // ------------------------------------------------------------------------------------ blas
    public static final Setting<String> BLAS_CORE_TYPE = def(Setting.of("blas.coreType", STRING, "auto",
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

    /** The sections of reference.conf, in order, with their heading comments. */
    private static final Map<String, String> SECTIONS = sections();

    /** The project's registry: every setting above, in declaration order. */
    public static final Settings ROLL = new Settings(DECLARED);

    private final List<Setting<?>> all;
    private final Map<String, Setting<?>> byKey = new LinkedHashMap<>();

    private Settings(List<Setting<?>> all) {
        this.all = List.copyOf(all);
        for (Setting<?> s : all) {
            if (byKey.put(s.key(), s) != null) {
                throw new IllegalStateException("setting " + s + " is declared twice");
            }
            if (!SECTIONS.containsKey(s.key().substring(0, s.key().indexOf('.')))) {
                throw new IllegalStateException("setting " + s + " is in no section of " + SECTIONS.keySet());
            }
        }
    }

    /** This registry with one more setting (for tests of what derives from the registry). */
    public Settings with(Setting<?> extra) {
        List<Setting<?>> more = new ArrayList<>(all);
        more.add(extra);
        return new Settings(more);
    }

    public List<Setting<?>> all() {
        return all;
    }

    /** Whether a config path lies inside an object setting whose keys are free (e.g. inside sweep.grid). */
    public boolean covers(String path) {
        String key = path.startsWith("roll.") ? path.substring(5) : path;
        for (Setting<?> s : all) {
            if (s.type().isOpenObject() && key.startsWith(s.key() + ".")) {
                return true;
            }
        }
        return false;
    }

    /** The setting with this key (without {@code roll.}), or null. */
    public Setting<?> get(String key) {
        return byKey.get(key.startsWith("roll.") ? key.substring(5) : key);
    }

    /** The defaults as a HOCON config, every value's origin "reference.conf". */
    public Config defaults() {
        return ConfigFactory.parseString(referenceConf(), ConfigParseOptions.defaults().setOriginDescription("reference.conf"));
    }

    /** reference.conf: every setting with its doc and default, by section (src/main/resources/reference.conf). */
    public String referenceConf() {
        StringBuilder b = new StringBuilder();
        b.append("# Every setting of the roll jobs, with its default. A job file (conf/*.conf) overrides these, and\n")
                .append("# key=value arguments override the file. Unknown keys are errors.\n")
                .append("# Generated from org.rollspark.cli.Settings, where each setting is declared once: edit it there\n")
                .append("# (SettingsTest checks that this file is what the declarations give, and writes the text they\n")
                .append("# give to target/generated-reference.conf when it is not).\n")
                .append("roll {\n");
        for (Map.Entry<String, String> section : SECTIONS.entrySet()) {
            b.append("  ").append(section.getKey()).append(" {\n");
            for (String line : wrap(section.getValue(), 96)) {
                b.append("    # ").append(line).append('\n');
            }
            for (Setting<?> s : all) {
                if (s.key().startsWith(section.getKey() + ".")) {
                    b.append('\n');
                    for (String line : wrap(s.doc(), 96)) {
                        b.append("    # ").append(line).append('\n');
                    }
                    b.append("    ").append(s.key().substring(section.getKey().length() + 1)).append(" = ")
                            .append(render(s)).append('\n');
                }
            }
            b.append("  }\n");
        }
        return b.append("}\n").toString();
    }

    /** The README's table of the main settings (between its settings markers). */
    public String readmeTable() {
        StringBuilder b = new StringBuilder("| key | default | meaning |\n|---|---|---|\n");
        for (Setting<?> s : all) {
            if (s.isMain()) {
                b.append("| `").append(s.key()).append("` | `").append(render(s)).append("` | ")
                        .append(s.doc().replace("|", "\\|")).append(" |\n");
            }
        }
        return b.toString();
    }

    private static <T> String render(Setting<T> s) {
        return s.type().render(s.defaultValue());
    }

    private static List<String> wrap(String text, int width) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ")) {
            if (line.length() > 0 && line.length() + 1 + word.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            line.append(line.length() > 0 ? " " : "").append(word);
        }
        if (line.length() > 0) {
            lines.add(line.toString());
        }
        return lines;
    }

    private static Map<String, String> sections() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("data", "Where the examples come from, how they are split and normalised.");
        m.put("net", "The network: a dense net or any layer list.");
        m.put("loss", "The ROLL loss (METHOD.md section 4).");
        m.put("train", "The optimiser and the training loop.");
        m.put("spark", "Parameter averaging on Spark.");
        m.put("certify", "The certification job and its tables.");
        m.put("sweep", "Hyper-parameter sweeps (the sweep command) and the paper's model selection.");
        m.put("report", "The HTML report (the report command, and compare's report).");
        m.put("output", "Where models, checkpoints and tables go.");
        m.put("blas", "Which OpenBLAS kernels compute, chosen and self-tested (README, \"BLAS kernels\").");
        return m;
    }

    // ------------------------------------------------------------------------------------ checks

    static Consumer<Integer> atLeast(int min) {
        return v -> {
            if (v < min) {
                throw new IllegalArgumentException("must be >= " + min);
            }
        };
    }

    static Consumer<Double> finiteAtLeast(double min) {
        return v -> {
            if (!(v >= min) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("must be finite and >= " + min);
            }
        };
    }

    static Consumer<String> oneOf(List<String> allowed) {
        return v -> {
            if (!allowed.contains(v)) {
                throw new IllegalArgumentException("must be one of " + String.join(", ", allowed));
            }
        };
    }

    static Consumer<List<Double>> radii() {
        return v -> {
            for (double r : v) {
                if (!(r >= 0) || Double.isInfinite(r)) {
                    throw new IllegalArgumentException("radius " + r + " must be finite and >= 0");
                }
            }
        };
    }
}
