package org.rollspark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Grids expand to every combination, checked like any other settings before anything runs. */
class SweepGridTest {
    private static final JobConfig BASE = JobConfig.load(null, List.of());

    /** A grid on the command line replaces the job file's grid (objects would otherwise merge key by key). */
    @Test
    void aCommandLineGridReplacesTheFilesGrid(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws java.io.IOException {
        java.nio.file.Path file = tmp.resolve("job.conf");
        java.nio.file.Files.writeString(file, "roll.sweep.grid { \"loss.c\" = [0.25, 1], \"loss.gamma\" = [\"max\", \"100\"] }\n");
        assertEquals(4, Sweep.grid(JobConfig.load(file, List.of())).points().size());
        JobConfig cfg = JobConfig.load(file, List.of("sweep.grid={\"loss.lambda\" = [0.5, 1, 2]}"));
        assertEquals(Map.of("loss.lambda", List.of(0.5, 1, 2)), cfg.get(Sweep.GRID));
        assertEquals(3, Sweep.grid(cfg).points().size());
        // the last of two command-line grids wins whole
        cfg = JobConfig.load(file, List.of("sweep.grid={\"loss.c\" = [2]}", "sweep.grid={\"loss.lambda\" = [1]}"));
        assertEquals(Map.of("loss.lambda", List.of(1)), cfg.get(Sweep.GRID));
    }

    @Test
    void everyCombinationOnceWithStableIds() {
        Map<String, List<?>> values = new LinkedHashMap<>();
        values.put("loss.lambda", List.of(0.5, 1, 2));
        values.put("loss.c", List.of(0.25, 1));
        values.put("loss.gamma", List.of("100", "max"));
        SweepGrid g = SweepGrid.of(values, BASE, 256);
        assertEquals(12, g.points().size());
        assertEquals(Map.of("loss.c", 0.25, "loss.gamma", "100", "loss.lambda", 0.5), g.points().get(0).settings());
        // values as their settings read them: the integer 1 is the number 1.0
        assertEquals(Map.of("loss.c", 0.25, "loss.gamma", "100", "loss.lambda", 1.0), g.points().get(1).settings());
        assertEquals(Map.of("loss.c", 1.0, "loss.gamma", "max", "loss.lambda", 2.0), g.points().get(11).settings());
        assertEquals(12, g.points().stream().map(SweepGrid.Point::id).distinct().count());
        // the same grid written in another order gives the same points and ids
        Map<String, List<?>> reordered = new LinkedHashMap<>();
        reordered.put("roll.loss.gamma", List.of("100", "max"));
        reordered.put("loss.c", List.of(0.25, 1));
        reordered.put("loss.lambda", List.of(0.5, 1, 2));
        assertEquals(g.points(), SweepGrid.of(reordered, BASE, 256).points());
        assertEquals(Map.of("loss.type", "vanilla"), g.baseline().settings());
        assertNotEquals(g.baseline().id(), g.points().get(0).id());
    }

    /** A seed study: train.seed is swept (the model's seed); the split and shards keep data.seed. */
    @Test
    void aSeedStudySweepsTheModelsSeedOnly() {
        SweepGrid g = SweepGrid.of(Map.of("train.seed", List.of(1, 2, 3), "loss.lambda", List.of(2)), BASE, 256);
        assertEquals(3, g.points().size());
        assertEquals(Map.of("loss.lambda", 2.0, "train.seed", 3L), g.points().get(2).settings());
        JobConfig point = BASE.with(g.points().get(2).settings());
        assertEquals(3L, point.seed());
        assertEquals(BASE.dataSeed(), point.dataSeed());
        assertEquals("7", String.valueOf(point.dataSpec().get(org.rollspark.data.DataSpec.SEED))); // generated data: data.seed, default 7
        assertEquals("5", point.with(Map.of("data.seed", 5)).dataSpec().get(org.rollspark.data.DataSpec.SEED).toString());
    }

    @Test
    void badGridsAreSettingErrorsNamingTheCulprit() {
        assertMessage(Map.of(), "empty");
        assertMessage(Map.of("loss.lambdaa", List.of(1)), "roll.loss.lambdaa");
        assertMessage(Map.of("loss.c", List.of()), "roll.loss.c");
        assertMessage(Map.of("output.dir", List.of("a", "b")), "roll.output.dir");
        assertMessage(Map.of("loss.type", List.of("roll", "vanilla")), "roll.loss.type");
        assertMessage(Map.of("data.validation", List.of(10, 20)), "roll.data.validation");
        assertMessage(Map.of("data.seed", List.of(1, 2)), "roll.data.seed");
        assertMessage(Map.of("loss.lambda", List.of(1, 1.0)), "twice");
        assertMessage(Map.of("loss.c", List.of(1), "roll.loss.c", List.of(2)), "twice");
        assertMessage(Map.of("loss.c", java.util.Arrays.asList(1, null)), "null");
        assertMessage(Map.of("train.lr", List.of(0.1, -1)), "roll.train.lr");
        assertMessage(Map.of("train.epochs", List.of("many")), "epochs");
        assertMessage(Map.of("loss.lambda", List.of(1, 2, 3), "loss.c", List.of(1, 2, 3)), "more than 8");
    }

    private static void assertMessage(Map<String, List<?>> grid, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SweepGrid.of(grid, BASE, 8));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
