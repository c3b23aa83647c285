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

/** Everything about settings derives from their one declaration in {@link Settings}. */
class SettingsTest {

    @Test
    void referenceConfIsGeneratedFromTheDeclarations() throws IOException {
        assertGenerated(Path.of("src/main/resources/reference.conf"), Settings.ROLL.referenceConf(), "reference.conf");
    }

    @Test
    void readmeSettingsTableIsGeneratedFromTheDeclarations() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        String begin = "<!-- settings table: generated from org.rollspark.cli.Settings -->\n";
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
                Settings.atLeast(0)));
        JobConfig before = JobConfig.load(null, List.of());
        JobConfig after = JobConfig.load(more, null, List.of());
        assertEquals(0, after.toMap().get("train.warmup"));
        assertNotEquals(Provenance.configHash(before.toMap()), Provenance.configHash(after.toMap()));
        assertTrue(more.referenceConf().contains("warmup = 0"));
        assertEquals(5, JobConfig.load(more, null, List.of("train.warmup=5")).toMap().get("train.warmup"));
        assertThrows(IllegalArgumentException.class, () -> JobConfig.load(more, null, List.of("train.warmup=-1")));
        assertThrows(IllegalArgumentException.class, () -> JobConfig.load(null, List.of("train.warmup=5")));
    }
}
