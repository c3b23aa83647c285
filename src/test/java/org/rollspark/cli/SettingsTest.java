package org.rollspark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rollspark.Provenance;
import org.rollspark.config.Setting;
import org.rollspark.loss.Aggregation;
import org.rollspark.loss.RollLoss;
import org.rollspark.region.GradientStability;
import org.rollspark.spark.SparkTrainConfig;
import org.rollspark.train.TrainConfig;

/** Everything about a setting derives from its one declaration, on the component that reads it ({@link Settings}). */
class SettingsTest {

    @Test
    void referenceConfIsGeneratedFromTheDeclarations() throws IOException {
        assertGenerated(Path.of("src/main/resources/reference.conf"), Settings.ROLL.referenceConf(), "reference.conf");
    }

    @Test
    void readmeSettingsTableIsGeneratedFromTheDeclarations() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        String begin = "<!-- settings table: generated from the settings declarations (org.rollspark.cli.Settings) -->\n";
        String end = "<!-- end of settings table -->";
        int a = readme.indexOf(begin);
        int b = readme.indexOf(end);
        assertTrue(a >= 0 && b > a, "README.md must hold the settings table between its two markers");
        String expected = readme.substring(0, a + begin.length()) + Settings.ROLL.readmeTable() + readme.substring(b);
        assertGenerated(Path.of("README.md"), expected, "README.md");
    }

    /** Fails with the generated text written to target/ for copying over the checked-in file. */
    private static void assertGenerated(Path file, String expected, String name) throws IOException {
        String actual = Files.readString(file);
        if (!actual.equals(expected)) {
            Path out = Path.of("target", "generated-" + name);
            Files.createDirectories(out.getParent());
            Files.writeString(out, expected);
            String[] want = expected.split("\n", -1);
            String[] have = actual.split("\n", -1);
            int line = 0;
            while (line < Math.min(want.length, have.length) && want[line].equals(have[line])) {
                line++;
            }
            fail(file + " is not what the declarations in Settings give, from line " + (line + 1) + ": expected '"
                    + (line < want.length ? want[line] : "(end)") + "' but found '" + (line < have.length ? have[line] : "(end)")
                    + "'; the generated text is in " + out + " (copy it over " + file + ")");
        }
    }

    @Test
    void everyDeclaredSettingIsReadTypedAndChecked() {
        JobConfig cfg = JobConfig.load(null, List.of());
        Map<String, Object> map = cfg.toMap();
        assertEquals(Settings.ROLL.all().size(), map.size());
        for (Setting<?> s : Settings.ROLL.all()) {
            assertTrue(map.containsKey(s.key()), s.key());
            assertEquals(s.defaultValue(), cfg.get(s), s.key());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JobConfig.load(null, List.of("train.lr=-1")));
        assertTrue(e.getMessage().contains("roll.train.lr") && e.getMessage().contains("-1")
                && e.getMessage().contains("command line"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobConfig.load(null, List.of("spark.numWorkers=0")));
        assertTrue(e.getMessage().contains("roll.spark.numWorkers") && e.getMessage().contains(">= 1"), e.getMessage());
        for (String bad : new String[] {"certify.norms=[l3]", "certify.norms=[l2, l2]", "certify.norms=[]"}) {
            e = assertThrows(IllegalArgumentException.class, () -> JobConfig.load(null, List.of(bad)));
            assertTrue(e.getMessage().contains("roll.certify.norms"), e.getMessage());
        }
        assertEquals(List.of("linf", "l2"), JobConfig.load(null, List.of("certify.norms=[linf, l2]")).get(
                org.rollspark.spark.CertificationJob.NORMS));
    }

    @Test
    void provenanceRecordsWhichSettingsWereSet() {
        JobConfig cfg = JobConfig.load(null, List.of("train.epochs=3", "loss.c=0.25"));
        assertEquals(List.of("loss.c", "train.epochs"), List.copyOf(cfg.explicitKeys()));
        Map<String, Object> record = Provenance.record(cfg.provenance(), 7, "fp");
        assertEquals(List.of("loss.c", "train.epochs"), record.get("explicitSettings"));
        // setting a value to its default is recorded as set, but the configuration and its hash are the same
        assertEquals(Provenance.configHash(JobConfig.load(null, List.of("train.epochs=3")).toMap()),
                Provenance.configHash(cfg.toMap()));
    }

    @Test
    void aNewDeclarationChangesTheConfigHashWithoutOtherCode() {
        Settings more = Settings.ROLL.with(Setting.of("train.warmup", Setting.Type.INT, 0, "Warm-up epochs.",
                Setting.atLeast(0)));
        JobConfig before = JobConfig.load(null, List.of());
        JobConfig after = JobConfig.load(more, null, List.of());
        assertEquals(0, after.toMap().get("train.warmup"));
        assertNotEquals(Provenance.configHash(before.toMap()), Provenance.configHash(after.toMap()));
        assertTrue(more.referenceConf().contains("warmup = 0"));
        assertEquals(5, JobConfig.load(more, null, List.of("train.warmup=5")).toMap().get("train.warmup"));
        assertThrows(IllegalArgumentException.class, () -> JobConfig.load(more, null, List.of("train.warmup=-1")));
        assertThrows(IllegalArgumentException.class, () -> JobConfig.load(null, List.of("train.warmup=5")));
    }

    /** Every Setting constant of every class is in the registry (a component's new setting cannot be left out of it). */
    @Test
    void everySettingAComponentDeclaresIsRegistered() throws Exception {
        int found = 0;
        Path classes = Path.of("target", "classes");
        List<Path> files;
        try (var walk = Files.walk(classes)) {
            files = walk.filter(f -> f.toString().endsWith(".class")).toList();
        }
        for (Path f : files) {
            String name = classes.relativize(f).toString().replace('/', '.').replaceAll("\\.class$", "");
            Class<?> c = Class.forName(name, false, getClass().getClassLoader());
            for (java.lang.reflect.Field field : c.getDeclaredFields()) {
                int m = field.getModifiers();
                if (java.lang.reflect.Modifier.isStatic(m) && field.getType() == Setting.class) {
                    field.setAccessible(true);
                    Setting<?> s = (Setting<?>) field.get(null);
                    assertTrue(Settings.ROLL.all().contains(s), c.getName() + "." + field.getName() + " (" + s
                            + ") is declared but not registered: add its component's SETTINGS to Settings.COMPONENTS");
                    found++;
                }
            }
        }
        assertEquals(Settings.ROLL.all().size(), found, "settings declared as constants vs registered");
    }

    /**
     * A key is spelt once, in its declaration: the code names a setting through its constant ({@code RollLoss.LAMBDA};
     * {@code .key()} or {@code .path()} where a string is needed, the constant itself in a message), so a renamed or
     * removed setting cannot leave a reader or an error message behind. Checked on every string literal of the code:
     * the key alone, or {@code roll.<key>} anywhere in it. Spark's own configuration key of the same name (spark.master,
     * which our setting is named after and sets) is Spark's, not ours.
     */
    @Test
    void noSettingKeyIsSpeltOutsideItsDeclaration() throws IOException {
        List<String> found = new java.util.ArrayList<>();
        List<Path> sources;
        try (var walk = Files.walk(Path.of("src", "main", "java"))) {
            sources = walk.filter(f -> f.toString().endsWith(".java")).toList();
        }
        java.util.regex.Pattern literal = java.util.regex.Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"");
        for (Path f : sources) {
            String[] lines = Files.readString(f).split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                String line = lines[i].trim();
                if (line.startsWith("*") || line.startsWith("//") || line.startsWith("/*")
                        || line.startsWith("@") || line.startsWith("description")) {
                    continue; // documentation and annotations (compile-time text) name settings as users spell them
                }
                java.util.regex.Matcher m = literal.matcher(line);
                while (m.find()) {
                    String text = m.group(1);
                    for (Setting<?> s : Settings.ROLL.all()) {
                        boolean spelt = text.equals(s.key()) && !text.equals("spark.master")
                                || java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(s.path())
                                        + "(?![A-Za-z0-9])").matcher(text).find();
                        if (spelt && !line.substring(0, m.start()).endsWith("Setting.of(")) {
                            found.add(f + ":" + (i + 1) + ": \"" + text + "\"");
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), found, "setting keys spelt outside their declarations (use the constant)");
    }

    /** A component built in code (not from a job file) is checked by the same declarations, with the same words. */
    @Test
    void componentsCheckTheirValuesWithTheirDeclarations() {
        IllegalArgumentException cli = assertThrows(IllegalArgumentException.class,
                () -> JobConfig.load(null, List.of("train.epochs=0")));
        IllegalArgumentException code = assertThrows(IllegalArgumentException.class,
                () -> new TrainConfig(0, 32, 7, "sgd", 0.1, 0.9, RollLoss.vanilla(), 256));
        assertTrue(cli.getMessage().startsWith(code.getMessage()), cli.getMessage() + " / " + code.getMessage());
        assertTrue(code.getMessage().contains(TrainConfig.EPOCHS.path()), code.getMessage());
        code = assertThrows(IllegalArgumentException.class, () -> new RollLoss(-1, 1, Aggregation.mean()));
        assertTrue(code.getMessage().contains(RollLoss.LAMBDA.path()), code.getMessage());
        code = assertThrows(IllegalArgumentException.class,
                () -> new SparkTrainConfig(TrainConfig.of(JobConfig.load(null, List.of())), 0, 32, 5, null));
        assertTrue(code.getMessage().contains(SparkTrainConfig.NUM_WORKERS.path()), code.getMessage());
        code = assertThrows(IllegalArgumentException.class, () -> new TrainConfig(3, 32, 7, "rmsprop", 0.1, 0.9,
                RollLoss.vanilla(), 256));
        assertTrue(code.getMessage().contains(TrainConfig.OPTIMIZER.path()) && code.getMessage().contains("amsgrad"),
                code.getMessage());
        // a check of two settings together, run by the job file's validation and by the component alike
        cli = assertThrows(IllegalArgumentException.class, () -> JobConfig.load(null, List.of(
                GradientStability.BOX_LOW.key() + "=1", GradientStability.BOX_HIGH.key() + "=0.5")));
        code = assertThrows(IllegalArgumentException.class, () -> GradientStability.checkBox(1, 0.5));
        assertEquals(code.getMessage(), cli.getMessage());
        assertTrue(code.getMessage().contains(GradientStability.BOX_LOW.path())
                && code.getMessage().contains(GradientStability.BOX_HIGH.path()), code.getMessage());
    }
}
