package org.rollspark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scheduled batch evaluation through the CLI: runs of a long-lived certification table, partitioned by
 * run_date and run_id; reruns replace only their own partitions, failures are recorded in _run.json
 * with the exit code the command returned.
 */
class ScheduledCertifyTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void quietSpark() {
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.driver.host", "127.0.0.1");
    }

    static JsonNode manifest(Path table, String date, String id) throws Exception {
        return new ObjectMapper().readTree(table.resolve("runs/run_date=" + date + "/run_id=" + id + "/_run.json").toFile());
    }

    static long rows(Path table, String id) {
        SparkSession s = SparkSession.builder().master("local[1]").getOrCreate();
        try {
            return s.read().parquet(table.resolve("examples").toString()).where("run_id = '" + id + "'").count();
        } finally {
            s.stop();
        }
    }

    @Test
    void rerunsReplaceTheirOwnPartitionAndFailuresAreRecorded() throws Exception {
        Path out = tmp.resolve("runs");
        MainTest.Result t = MainTest.run("train", "data.trainLimit=300", "data.validation=60", "net.hidden=[8]",
                "train.epochs=1", "output.runId=m", "output.dir=" + out);
        assertEquals(0, t.code(), t.err() + t.out());
        String model = out.resolve("models/m").toString();
        Path table = out.resolve("certification");
        String date = "2026-11-25";

        MainTest.Result a = MainTest.run("certify", "--model", model, "data.testLimit=40", "output.runDate=" + date,
                "output.runId=nightly", "output.dir=" + out);
        assertEquals(0, a.code(), a.err() + a.out());
        MainTest.Result b = MainTest.run("certify", "--model", model, "data.testLimit=25", "output.runDate=" + date,
                "output.runId=other", "output.dir=" + out);
        assertEquals(0, b.code(), b.err() + b.out());
        assertTrue(Files.isRegularFile(table.resolve("examples/run_date=" + date + "/run_id=nightly/_SUCCESS")));
        assertTrue(Files.isRegularFile(table.resolve("runs/run_date=" + date + "/run_id=nightly/_SUCCESS")));
        assertEquals("succeeded", manifest(table, date, "nightly").path("status").asText());
        assertEquals(0, manifest(table, date, "nightly").path("exitCode").asInt());

        // without replace, a rerun of a completed run is refused and changes nothing
        MainTest.Result refused = MainTest.run("certify", "--model", model, "data.testLimit=30", "output.runDate=" + date,
                "output.runId=nightly", "output.dir=" + out);
        assertEquals(Main.USAGE, refused.code(), refused.err());
        assertTrue(refused.err().contains("already exists") && refused.err().contains("certify.replace"), refused.err());
        assertEquals(40, rows(table, "nightly"));

        // with replace (what jobs/certify-scheduled.sh sets), the rerun replaces its partition only
        MainTest.Result replaced = MainTest.run("certify", "--model", model, "data.testLimit=30", "output.runDate=" + date,
                "output.runId=nightly", "certify.replace=true", "output.dir=" + out);
        assertEquals(0, replaced.code(), replaced.err());
        assertEquals(30, rows(table, "nightly"));
        assertEquals(25, rows(table, "other"));

        // a failed rerun: exit code 3, recorded as failed with that code, its stale rows gone, others kept
        MainTest.Result bad = MainTest.run("certify", "--model", model, "data.dir=" + tmp.resolve("nodata"),
                "output.runDate=" + date, "output.runId=nightly", "certify.replace=true", "output.dir=" + out);
        assertEquals(Main.INPUT, bad.code(), bad.err());
        JsonNode failed = manifest(table, date, "nightly");
        assertEquals("failed", failed.path("status").asText());
        assertEquals(Main.INPUT, failed.path("exitCode").asInt());
        assertTrue(failed.path("error").asText().contains("nodata"), failed.toString());
        assertFalse(Files.exists(table.resolve("examples/run_date=" + date + "/run_id=nightly")));
        assertEquals(25, rows(table, "other"));

        // a failed run may be rerun without replace
        MainTest.Result again = MainTest.run("certify", "--model", model, "data.testLimit=20", "output.runDate=" + date,
                "output.runId=nightly", "output.dir=" + out);
        assertEquals(0, again.code(), again.err());
        assertEquals("succeeded", manifest(table, date, "nightly").path("status").asText());
        assertEquals(20, rows(table, "nightly"));
    }
}
