package org.rollspark.spark;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.rollspark.region.Certification;
import org.rollspark.region.GradientStability;
import org.rollspark.region.Norm;
import org.rollspark.region.SoundnessCheck;

/**
 * The certification tables: the per-example schema and its rows, and the run summary, computed by
 * Spark SQL over the examples and read back by column name. Margins are in raw input units; the
 * quantiles are exact nearest-rank (a distributed sort: {@link #quantiles}).
 */
public final class CertificationTables {
    private CertificationTables() {}

    /** Schema of the per-example table. */
    public static final StructType EXAMPLES = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("model_id", DataTypes.StringType, false)
            .add("dataset", DataTypes.StringType, false)
            .add("split", DataTypes.StringType, false)
            .add("example_id", DataTypes.LongType, false)
            .add("label", DataTypes.IntegerType, false)
            .add("pred", DataTypes.IntegerType, false)
            .add("correct", DataTypes.BooleanType, false)
            .add("logit_gap", DataTypes.DoubleType, false)
            .add("eps_l1", DataTypes.DoubleType, true)
            .add("eps_l2", DataTypes.DoubleType, true)
            .add("eps_linf", DataTypes.DoubleType, true)
            .add("dec_l1", DataTypes.DoubleType, true)
            .add("dec_l2", DataTypes.DoubleType, true)
            .add("dec_linf", DataTypes.DoubleType, true)
            .add("cert_l1", DataTypes.DoubleType, true)
            .add("cert_l2", DataTypes.DoubleType, true)
            .add("cert_linf", DataTypes.DoubleType, true)
            .add("bind_layer_l1", DataTypes.IntegerType, true)
            .add("bind_unit_l1", DataTypes.IntegerType, true)
            .add("bind_layer_l2", DataTypes.IntegerType, true)
            .add("bind_unit_l2", DataTypes.IntegerType, true)
            .add("bind_layer_linf", DataTypes.IntegerType, true)
            .add("bind_unit_linf", DataTypes.IntegerType, true)
            .add("pattern_hash", DataTypes.StringType, false)
            .add("jacobian_hash", DataTypes.StringType, false)
            .add("sound_points", DataTypes.IntegerType, false)
            .add("sound_violations", DataTypes.IntegerType, false)
            .add("grad_dist_mean", DataTypes.DoubleType, true)
            .add("grad_dist_max", DataTypes.DoubleType, true)
            .add("dir_pos", DataTypes.createArrayType(DataTypes.DoubleType, false), true)
            .add("dir_neg", DataTypes.createArrayType(DataTypes.DoubleType, false), true)
            .add("status", DataTypes.StringType, false)
            // the user's key of the example (a table's id column: README, "Tables"); null for files
            .add("id", DataTypes.StringType, true);

    /** The four columns that name a run and its data, leading both tables. */
    public record RunKey(String runId, String modelId, String dataset, String split) implements java.io.Serializable {}

    private static final String[] STATS = {"min", "mean", "p25", "p50", "p75", "p100"};

    /** Schema of the run-summary table, one row per run. */
    public static final StructType SUMMARY;

    static {
        StructType s = new StructType()
                .add("run_id", DataTypes.StringType, false)
                .add("model_id", DataTypes.StringType, false)
                .add("dataset", DataTypes.StringType, false)
                .add("split", DataTypes.StringType, false)
                .add("n", DataTypes.LongType, false)
                .add("accuracy", DataTypes.DoubleType, false)
                .add("distinct_patterns", DataTypes.LongType, false)
                .add("distinct_jacobians", DataTypes.LongType, false)
                .add("soundness_examples", DataTypes.LongType, false)
                .add("soundness_points", DataTypes.LongType, false)
                .add("soundness_violations", DataTypes.LongType, false)
                .add("grad_dist_examples", DataTypes.LongType, false)
                .add("grad_dist_mean_p50", DataTypes.DoubleType, true)
                .add("grad_dist_max_p50", DataTypes.DoubleType, true);
        for (Norm p : Norm.values()) {
            for (String stat : STATS) {
                s = s.add("eps_" + p.label() + "_" + stat, DataTypes.DoubleType, true);
            }
        }
        for (Norm p : Norm.values()) {
            s = s.add("cert_radii_" + p.label(), DataTypes.createArrayType(DataTypes.DoubleType, false), false);
            s = s.add("cert_acc_" + p.label(), DataTypes.createArrayType(DataTypes.DoubleType, false), true);
        }
        SUMMARY = s;
    }

    /**
     * One example's row: its certificates (null in the norms not certified), soundness report, gradient stability
     * (or null) and status.
     */
    static Row exampleRow(RunKey key, long id, String userKey, int label, Certification c, int i,
            SoundnessCheck.Report sound, GradientStability.Result grad) {
        List<Object> v = new ArrayList<>(List.of(key.runId(), key.modelId(), key.dataset(), key.split(), id, label,
                c.pred(i), c.pred(i) == label, c.logitGap(i)));
        for (Norm p : Norm.values()) {
            v.add(c.has(p) ? c.margin(p, i) : null);
        }
        for (Norm p : Norm.values()) {
            v.add(c.has(p) ? c.decisionMargin(p, i) : null);
        }
        for (Norm p : Norm.values()) {
            v.add(c.has(p) ? c.certifiedRadius(p, i, label) : null);
        }
        for (Norm p : Norm.values()) {
            v.add(c.has(p) ? c.bindingLayer(p, i) : null);
            v.add(c.has(p) ? c.bindingUnit(p, i) : null);
        }
        // unbounded: no neuron can bind, in any norm certified (one has a finite margin iff all have)
        boolean bounded = Double.isFinite(c.margin(c.norms().iterator().next(), i));
        v.addAll(java.util.Arrays.asList(c.pattern(i).hash(), c.jacobianHash(i), (int) sound.points(),
                (int) sound.violations(), grad == null ? null : grad.expected(), grad == null ? null : grad.maximum(),
                half(c.coordinateBounds(i), 0), half(c.coordinateBounds(i), 1), bounded ? "ok" : "unbounded", userKey));
        return RowFactory.create(v.toArray());
    }

    /**
     * The run's summary row from the examples registered as the temporary view {@code view}: counts,
     * accuracy, distinct regions and Jacobians, soundness and gradient-stability totals, margin
     * statistics per norm, and certified accuracy (correct and certified at radius r, over ALL examples)
     * at the given radii per norm (l1, l2, l_inf); null in the norms not certified.
     */
    static Row summarize(SparkSession spark, String view, RunKey key, double[][] radii, java.util.Set<Norm> norms) {
        List<String> cols = new ArrayList<>(List.of("count(*) AS n", "avg(CAST(correct AS DOUBLE)) AS accuracy",
                "count(DISTINCT pattern_hash) AS distinct_patterns", "count(DISTINCT jacobian_hash) AS distinct_jacobians",
                "count_if(sound_points > 0) AS soundness_examples",
                "CAST(sum(sound_points) AS BIGINT) AS soundness_points",
                "CAST(sum(sound_violations) AS BIGINT) AS soundness_violations",
                "count(grad_dist_mean) AS grad_dist_examples"));
        for (Norm p : Norm.values()) {
            String c = "eps_" + p.label();
            cols.add("min(" + c + ") AS " + c + "_min");
            cols.add("avg(" + c + ") AS " + c + "_mean");
        }
        for (Norm p : norms) {
            List<String> acc = new ArrayList<>();
            for (double r : radii[p.ordinal()]) {
                acc.add("avg(CASE WHEN cert_" + p.label() + " >= " + r + " AND correct THEN 1.0D ELSE 0.0D END)");
            }
            cols.add("array(" + String.join(", ", acc) + ") AS cert_acc_" + p.label());
        }
        Row r = spark.sql("SELECT " + String.join(", ", cols) + " FROM " + view).first();
        java.util.Map<String, Double> ranked = new java.util.HashMap<>();
        double[] quantiles = {0.25, 0.5, 0.75, 1.0};
        for (Norm p : Norm.values()) {
            Double[] v = quantiles(spark, view, "eps_" + p.label(), quantiles);
            for (int q = 0; q < quantiles.length; q++) {
                ranked.put("eps_" + p.label() + "_" + STATS[2 + q], v[q]);
            }
        }
        for (String c : new String[] {"grad_dist_mean", "grad_dist_max"}) {
            ranked.put(c + "_p50", quantiles(spark, view, c, new double[] {0.5})[0]);
        }
        Object[] v = new Object[SUMMARY.size()];
        for (String f : SUMMARY.fieldNames()) {
            int at = SUMMARY.fieldIndex(f);
            v[at] = switch (f) {
                case "run_id" -> key.runId();
                case "model_id" -> key.modelId();
                case "dataset" -> key.dataset();
                case "split" -> key.split();
                default -> f.startsWith("cert_radii_") ? radiiOf(f, radii)
                        : ranked.containsKey(f) ? ranked.get(f)
                        : f.startsWith("cert_acc_") && !norms.contains(Norm.of(f.substring(9))) ? null
                        : r.get(r.fieldIndex(f));
            };
        }
        return new GenericRowWithSchema(v, SUMMARY);
    }

    /**
     * Exact nearest-rank quantiles of a column (nulls left out; NaN sorts last): for each q the value of rank
     * max(1, ceil(q n)) after a distributed sort, which spills to disk, so no task or the driver holds the
     * column (an aggregate such as percentile_disc keeps every distinct value in one buffer). Null when the
     * column has no values.
     */
    static Double[] quantiles(SparkSession spark, String view, String column, double[] qs) {
        org.apache.spark.sql.Dataset<Row> col = spark.sql("SELECT " + column + " AS v FROM " + view + " WHERE " + column
                + " IS NOT NULL");
        long n = col.count();
        Double[] out = new Double[qs.length];
        if (n == 0) {
            return out;
        }
        long[] ranks = new long[qs.length];
        for (int q = 0; q < qs.length; q++) {
            ranks[q] = Math.max(1, (long) Math.ceil(qs[q] * n)) - 1;
        }
        java.util.Map<Long, Double> at = new java.util.HashMap<>();
        col.orderBy("v").javaRDD().zipWithIndex().filter(t -> {
            for (long k : ranks) {
                if (k == t._2()) {
                    return true;
                }
            }
            return false;
        }).collect().forEach(t -> at.put(t._2(), t._1().getDouble(0)));
        for (int q = 0; q < qs.length; q++) {
            out[q] = at.get(ranks[q]);
        }
        return out;
    }

    private static scala.collection.Seq<Double> radiiOf(String field, double[][] radii) {
        for (Norm p : Norm.values()) {
            if (field.equals("cert_radii_" + p.label())) {
                return seq(radii[p.ordinal()]);
            }
        }
        throw new AssertionError(field);
    }

    private static scala.collection.Seq<Double> seq(double[] v) {
        List<Double> l = new ArrayList<>();
        for (double d : v) {
            l.add(d);
        }
        return scala.collection.JavaConverters.asScalaBuffer(l).toSeq();
    }

    /** The first (part 0) or second (part 1) half of a bounds array as a Spark array value; null stays null. */
    private static scala.collection.Seq<Double> half(double[] bounds, int part) {
        if (bounds == null) {
            return null;
        }
        int d = bounds.length / 2;
        return seq(java.util.Arrays.copyOfRange(bounds, part * d, (part + 1) * d));
    }
}
