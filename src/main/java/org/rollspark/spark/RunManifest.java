package org.rollspark.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.rollspark.Provenance;

/**
 * A certification run's manifest, {@code runs/run_date=.../run_id=.../_run.json}: status
 * (succeeded or failed), exit code, counts from the summary, where the tables are, and the
 * provenance (resolved config, hash, data fingerprint, versions). Schedulers read it to tell a
 * complete run from a failed one.
 */
final class RunManifest {
    static final String FILE = "_run.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private RunManifest() {}

    /** What every manifest starts with: the run, its date, its status and exit code. */
    static Map<String, Object> header(String runDate, String runId, String status, int exitCode) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("runId", runId);
        m.put("runDate", runDate);
        m.put("status", status);
        m.put("exitCode", exitCode);
        return m;
    }

    /** The manifest of a completed run, from its summary row (read by column name). */
    static Map<String, Object> succeeded(String runDate, CertificationTables.RunKey key, Row summary, Path examples,
            Path summaryPath, Map<String, Object> config, String dataFingerprint) {
        Map<String, Object> m = header(runDate, key.runId(), "succeeded", 0);
        m.put("modelId", key.modelId());
        m.put("dataset", key.dataset());
        m.put("split", key.split());
        m.put("examples", summary.<Long>getAs("n"));
        m.put("accuracy", summary.<Double>getAs("accuracy"));
        m.put("distinctPatterns", summary.<Long>getAs("distinct_patterns"));
        m.put("distinctJacobians", summary.<Long>getAs("distinct_jacobians"));
        m.put("soundness", Map.of("examples", summary.<Long>getAs("soundness_examples"),
                "points", summary.<Long>getAs("soundness_points"), "violations", summary.<Long>getAs("soundness_violations")));
        m.put("marginUnits", "raw input units");
        m.put("tables", Map.of("examples", examples.toString(), "summary", summaryPath.toString()));
        m.put("provenance", Provenance.record(config, 0, dataFingerprint));
        return m;
    }

    /** The manifest of a run that failed before or while writing. */
    static Map<String, Object> failed(String runDate, String runId, String modelId, int exitCode, String error) {
        Map<String, Object> m = header(runDate, runId, "failed", exitCode);
        m.put("error", error);
        m.put("modelId", modelId);
        m.put("finished", java.time.Instant.now().toString());
        return m;
    }

    /** Writes a manifest into a run partition folder. */
    static void write(FileSystem fs, Path runPartition, Map<String, Object> manifest, boolean overwrite) throws IOException {
        fs.mkdirs(runPartition);
        try (OutputStream o = fs.create(new Path(runPartition, FILE), overwrite)) {
            o.write(JSON.writeValueAsString(manifest).getBytes(StandardCharsets.UTF_8));
        }
    }

    /** True when a run partition's manifest says it failed (its partitions may be replaced by a rerun). */
    static boolean isFailed(FileSystem fs, Path runPartition) throws IOException {
        Path manifest = new Path(runPartition, FILE);
        if (!fs.exists(manifest)) {
            return false;
        }
        try (InputStream in = fs.open(manifest)) {
            return "failed".equals(JSON.readTree(in).path("status").asText());
        } catch (IOException e) {
            return false;
        }
    }
}
