package org.rollspark.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.rollspark.report.ReportData;
import org.rollspark.report.ReportPage;

/**
 * How long the report takes on large certification tables: writes ROWS synthetic example rows (RUNS runs,
 * the examples table's columns, margins log-normal with a different scale per run, per-pixel bounds and
 * gradient figures on 1 % of the rows) and their summary rows with Spark, then times building the report
 * from them REPS times. One JSON line per repetition.
 *
 * <p>Usage: {@code ReportBench [ROWS] [RUNS] [REPS] [DIR]} (defaults 1000000, 2, 3, a temporary folder).
 */
public final class ReportBench {
    private ReportBench() {}

    public static void main(String[] args) throws Exception {
        long rows = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000L;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Path dir = args.length > 3 ? Path.of(args[3]) : Files.createTempDirectory("roll-report-bench");
        SparkSession spark = SparkSession.builder().master(System.getProperty("spark.master", "local[2]"))
                .appName("roll report bench").config("spark.ui.enabled", "false").getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
        try {
            String cert = dir.resolve("certification").toString();
            long t0 = System.nanoTime();
            Dataset<Row> ex = spark.range(rows).selectExpr("'2026-11-25' AS run_date", "concat('synth-', id % " + runs
                    + ") AS run_id", "concat('synth-', id % " + runs + ") AS model_id", "'synthetic' AS dataset",
                    "'test' AS split", "id AS example_id", "CAST(id % 10 AS INT) AS label",
                    "CAST(id % " + runs + " AS DOUBLE) AS k", "rand(1) AS u", "randn(2) AS z", "randn(3) AS z2");
            ex = ex.selectExpr("*", "CAST(CASE WHEN u < 0.97 THEN label ELSE (label + 1) % 10 END AS INT) AS pred",
                    "u < 0.97 AS correct", "abs(z2) + 0.1 AS logit_gap",
                    "exp(1.2 * z + ln(0.005 * (1 + 9 * k))) AS eps_l2")
                    .selectExpr("*", "eps_l2 * 9.0 AS eps_l1", "eps_l2 / 11.0 AS eps_linf", "eps_l2 * (1 + abs(z2)) AS dec_l2")
                    .selectExpr("*", "dec_l2 * 9.0 AS dec_l1", "dec_l2 / 11.0 AS dec_linf",
                            "CASE WHEN correct THEN least(eps_l1, dec_l2 * 9.0) ELSE 0D END AS cert_l1",
                            "CASE WHEN correct THEN least(eps_l2, dec_l2) ELSE 0D END AS cert_l2",
                            "CASE WHEN correct THEN least(eps_linf, dec_l2 / 11.0) ELSE 0D END AS cert_linf",
                            "1 AS bind_layer_l1", "CAST(example_id % 300 AS INT) AS bind_unit_l1", "1 AS bind_layer_l2",
                            "CAST(example_id % 300 AS INT) AS bind_unit_l2", "1 AS bind_layer_linf",
                            "CAST(example_id % 300 AS INT) AS bind_unit_linf", "sha1(CAST(example_id % 50000 AS STRING)) AS pattern_hash",
                            "sha1(CAST(example_id % 60000 AS STRING)) AS jacobian_hash", "0 AS sound_points", "0 AS sound_violations",
                            "CASE WHEN example_id % 100 = 0 THEN abs(z2) ELSE NULL END AS grad_dist_mean",
                            "CASE WHEN example_id % 100 = 0 THEN 2 * abs(z2) ELSE NULL END AS grad_dist_max",
                            "CASE WHEN example_id % 100 = 0 THEN transform(sequence(1, 784), i -> eps_l2 * (1 + i % 7)) "
                                    + "ELSE NULL END AS dir_pos",
                            "CASE WHEN example_id % 100 = 0 THEN transform(sequence(1, 784), i -> eps_l2 * (1 + i % 5)) "
                                    + "ELSE NULL END AS dir_neg", "'ok' AS status")
                    .drop("k", "u", "z", "z2");
            ex.write().mode("overwrite").partitionBy("run_date", "run_id").parquet(cert + "/examples");
            spark.read().parquet(cert + "/examples").createOrReplaceTempView("bench_examples");
            spark.sql("SELECT run_date, run_id, first(model_id) AS model_id, first(dataset) AS dataset, first(split) AS split, "
                    + "count(*) AS n, avg(CAST(correct AS DOUBLE)) AS accuracy, count(DISTINCT pattern_hash) AS "
                    + "distinct_patterns, CAST(sum(sound_violations) AS BIGINT) AS soundness_violations, "
                    + "percentile_approx(eps_l1, 0.5) AS eps_l1_p50, percentile_approx(eps_l2, 0.5) AS eps_l2_p50, "
                    + "percentile_approx(eps_linf, 0.5) AS eps_linf_p50, array(0.01D, 0.02D, 0.05D) AS cert_radii_l2, "
                    + "array(avg(CASE WHEN cert_l2 >= 0.01 THEN 1D ELSE 0D END), avg(CASE WHEN cert_l2 >= 0.02 THEN 1D ELSE "
                    + "0D END), avg(CASE WHEN cert_l2 >= 0.05 THEN 1D ELSE 0D END)) AS cert_acc_l2 FROM bench_examples "
                    + "GROUP BY run_date, run_id").write().mode("overwrite").partitionBy("run_date", "run_id")
                    .parquet(cert + "/summary");
            double write = (System.nanoTime() - t0) / 1e9;
            for (int rep = 1; rep <= reps; rep++) {
                long t = System.nanoTime();
                var data = ReportData.build(spark, dir.toString(), new ReportData.Selection(List.of(), null), 0.05,
                        (config, ids, limit) -> null);
                double build = (System.nanoTime() - t) / 1e9;
                String html = ReportPage.html(data, "bench");
                double page = (System.nanoTime() - t) / 1e9 - build;
                System.out.printf(Locale.ROOT, "{\"bench\": \"report\", \"rows\": %d, \"runs\": %d, \"rep\": %d, "
                        + "\"write_tables_seconds\": %.1f, \"build_seconds\": %.2f, \"page_seconds\": %.2f, \"page_bytes\": %d, "
                        + "\"cores\": %d}%n", rows, runs, rep, write, build, page, html.length(),
                        spark.sparkContext().defaultParallelism());
            }
        } finally {
            spark.stop();
        }
    }
}
