package org.rollspark.spark;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.rollspark.Provenance;
import org.rollspark.model.RemoteFolders;
import org.rollspark.model.Staging;

/**
 * How a run's partition of a small table (sweeps, training metrics) is published: the rows as one
 * Parquet file under {@code ROOT/run_date=D/run_id=ID/}, its manifest with the provenance under
 * {@code ROOT/_runs/run_date=D/run_id=ID/_run.json} with {@code _SUCCESS} (names starting with '_' are
 * not partitions to Spark, DuckDB or pandas), both written under a staging folder and committed whole
 * ({@link Staging#commit}), replacing the run's earlier partition.
 */
final class RunTables {
    private RunTables() {}

    /** Publishes {@code rows} as the run's partition of the table at {@code root}; returns the partition. */
    static String publish(SparkSession spark, String root, String runDate, String runId, String table, List<Row> rows,
            StructType schema, Map<String, Object> manifest, Map<String, Object> config, String dataFingerprint)
            throws IOException {
        Path base = new Path(root);
        FileSystem fs = RemoteFolders.fs(root, spark.sparkContext().hadoopConfiguration());
        String part = "run_date=" + runDate + "/run_id=" + runId;
        Path staging = new Path(base, "_staging/" + runId);
        Map<String, String> finals = new LinkedHashMap<>();
        finals.put(table, new Path(base, part).toString());
        finals.put("runs", new Path(base, "_runs/" + part).toString());
        fs.delete(staging, true);
        try {
            spark.createDataFrame(rows, schema).coalesce(1).write().mode(SaveMode.ErrorIfExists)
                    .parquet(new Path(staging, table).toString());
            manifest.put("table", finals.get(table));
            manifest.put("provenance", Provenance.record(config, 0, dataFingerprint));
            RunManifest.write(fs, new Path(staging, "runs"), manifest, false);
            fs.create(new Path(staging, "runs/_SUCCESS"), false).close();
            Staging.commit(RemoteFolders.store(fs), staging.toString(), finals);
            return finals.get(table);
        } finally {
            fs.delete(staging, true);
        }
    }
}
