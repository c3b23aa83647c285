package org.rollspark.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.rollspark.blas.KernelChoice;
import org.rollspark.config.Setting;
import org.rollspark.data.DataSpec;
import org.rollspark.data.Format;
import org.rollspark.loss.RollLoss;
import org.rollspark.model.Architectures;
import org.rollspark.net.Normalization;
import org.rollspark.region.GradientStability;
import org.rollspark.region.SoundnessCheck;
import org.rollspark.spark.CertificationJob;
import org.rollspark.spark.DataPipeline;
import org.rollspark.spark.ParameterAveragingTrainer;
import org.rollspark.spark.SparkTrainConfig;
import org.rollspark.spark.TrainingLog;
import org.rollspark.train.TrainConfig;

/**
 * The registry of the roll jobs' settings. Each setting is declared once, as a constant of the component that reads
 * it ({@code RollLoss.LAMBDA}, {@code TableFormat.SOURCE}, ...), with its type, default, doc and check; this class
 * only lists those components. reference.conf ({@link #referenceConf()}), the README's settings table ({@link
 * #readmeTable()}), the job-file schema ({@link JobConfig}: unknown keys, wrong types, failed checks) and the Spark
 * ML Params ({@code org.rollspark.ml.RollParams}) are derived from here; SettingsTest checks that the files in the
 * repository are what the declarations give, that every declared setting is registered, and that no key is spelt
 * out anywhere but in its declaration. Cross-setting checks live in {@link JobConfig}.
 */
public final class Settings {
    /** The components that declare settings, in the order reference.conf lists them within a section. */
    private static final List<Setting.Group> COMPONENTS = java.util.stream.Stream.of(
            List.of(DataSpec.SETTINGS, DataPipeline.SETTINGS, Normalization.SETTINGS), Format.readerSettings(),
            List.of(Architectures.SETTINGS, RollLoss.SETTINGS, TrainConfig.SETTINGS, Main.SETTINGS,
                    SparkTrainConfig.SETTINGS, ParameterAveragingTrainer.SETTINGS, CertificationJob.SETTINGS,
                    SoundnessCheck.SETTINGS, GradientStability.SETTINGS, TrainingLog.SETTINGS, Report.SETTINGS,
                    Sweep.SETTINGS, KernelChoice.SETTINGS)).flatMap(List::stream).toList();

    /** The sections of reference.conf, in order, with their heading comments. */
    private static final Map<String, String> SECTIONS = sections();

    /** The project's registry: every component's settings, by section, in the order each component declares them. */
    public static final Settings ROLL = new Settings(bySection(COMPONENTS));

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
                .append("# Generated from the settings' declarations, each once, on the component that reads it (listed in\n")
                .append("# org.rollspark.cli.Settings): edit them there. SettingsTest checks that this file is what the\n")
                .append("# declarations give, and writes the text they give to target/generated-reference.conf when not.\n")
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

    /**
     * Every component's settings, ordered by section and, within one, by component and declaration (a stable sort);
     * a setting of no section goes last, where the constructor refuses it.
     */
    private static List<Setting<?>> bySection(List<Setting.Group> components) {
        List<String> order = List.copyOf(SECTIONS.keySet());
        List<Setting<?>> all = new ArrayList<>();
        components.forEach(g -> all.addAll(g.settings()));
        all.sort(java.util.Comparator.comparingInt(s -> {
            int at = order.indexOf(s.key().substring(0, Math.max(0, s.key().indexOf('.'))));
            return at < 0 ? order.size() : at;
        }));
        return all;
    }

    private static Map<String, String> sections() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("data", "Where the examples come from, how they are split and normalised.");
        m.put("net", "The network: a dense net or any layer list.");
        m.put("loss", "The ROLL loss (docs/METHOD.md section 4).");
        m.put("train", "The optimiser and the training loop.");
        m.put("spark", "Parameter averaging on Spark.");
        m.put("certify", "The certification job and its tables.");
        m.put("sweep", "Hyper-parameter sweeps (the sweep command) and the paper's model selection.");
        m.put("report", "The HTML report (the report command, and compare's report).");
        m.put("output", "Where models, checkpoints and tables go.");
        m.put("blas", "Which OpenBLAS kernels compute, chosen and self-tested (README, \"BLAS kernels\").");
        return m;
    }
}
