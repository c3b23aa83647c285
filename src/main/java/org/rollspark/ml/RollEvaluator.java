package org.rollspark.ml;

import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.evaluation.Evaluator;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * The metrics models are selected by, on a {@link RollClassificationModel}'s output, all larger-is-better:
 * {@code accuracy} (prediction = label), {@code medianEps} (the exact median of the certified region's margin, column
 * {@code epsCol}, default eps_l2: the paper's selection statistic) and {@code certifiedAccuracy} (correct and
 * certified at {@code radius}: prediction = label and {@code certCol}, default cert_l2, at least the radius, over all
 * rows, as the certification summary counts it). The margins' columns come from the model's {@code certificateCols}.
 */
public final class RollEvaluator extends Evaluator implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;
    static final List<String> METRICS = List.of("accuracy", "medianEps", "certifiedAccuracy");

    private final String uid;
    private final Param<String> metricName;
    private final DoubleParam radius;
    private final Param<String> labelCol;
    private final Param<String> predictionCol;
    private final Param<String> epsCol;
    private final Param<String> certCol;

    public RollEvaluator() {
        this(Identifiable$.MODULE$.randomUID("rollEvaluator"));
    }

    public RollEvaluator(String uid) {
        this.uid = uid;
        metricName = new Param<>(this, "metricName", "the metric: one of " + METRICS, METRICS::contains);
        radius = new DoubleParam(this, "radius", "certifiedAccuracy's radius (>= 0)", v -> (Double) v >= 0);
        labelCol = new Param<>(this, "labelCol", "label column (the class index)");
        predictionCol = new Param<>(this, "predictionCol", "prediction column");
        epsCol = new Param<>(this, "epsCol", "medianEps's margin column");
        certCol = new Param<>(this, "certCol", "certifiedAccuracy's certified-radius column");
        setDefault(metricName, "accuracy");
        setDefault(radius, 0.0);
        setDefault(labelCol, "label");
        setDefault(predictionCol, "prediction");
        setDefault(epsCol, "eps_l2");
        setDefault(certCol, "cert_l2");
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public Param<?>[] params() {
        return new Param<?>[] {certCol, epsCol, labelCol, metricName, predictionCol, radius};
    }

    public Param<String> metricName() {
        return metricName;
    }

    public DoubleParam radius() {
        return radius;
    }

    public RollEvaluator setMetricName(String v) {
        set(metricName, v);
        return this;
    }

    public RollEvaluator setRadius(double v) {
        set(radius, v);
        return this;
    }

    public RollEvaluator setLabelCol(String v) {
        set(labelCol, v);
        return this;
    }

    public RollEvaluator setPredictionCol(String v) {
        set(predictionCol, v);
        return this;
    }

    public RollEvaluator setEpsCol(String v) {
        set(epsCol, v);
        return this;
    }

    public RollEvaluator setCertCol(String v) {
        set(certCol, v);
        return this;
    }

    @Override
    public double evaluate(Dataset<?> dataset) {
        Dataset<Row> df = dataset.toDF();
        String metric = getOrDefault(metricName);
        String needed = metric.equals("medianEps") ? getOrDefault(epsCol) : metric.equals("certifiedAccuracy")
                ? getOrDefault(certCol) : getOrDefault(predictionCol);
        for (String c : metric.equals("medianEps") ? List.of(needed) : List.of(needed, getOrDefault(labelCol),
                getOrDefault(predictionCol))) {
            if (!Arrays.asList(df.schema().fieldNames()).contains(c)) {
                throw new IllegalArgumentException("RollEvaluator " + metric + " needs column " + c + ", which the data "
                        + "lacks" + (c.equals(needed) && !metric.equals("accuracy") ? " (set the model's certificateCols "
                                + "to include it)" : "") + "; it has " + Arrays.toString(df.schema().fieldNames()));
            }
        }
        org.apache.spark.sql.Column correct = functions.col(getOrDefault(predictionCol))
                .equalTo(functions.col(getOrDefault(labelCol)).cast("double"));
        Row r = switch (metric) {
            case "accuracy" -> df.agg(functions.avg(functions.when(correct, 1.0).otherwise(0.0))).first();
            case "medianEps" -> df.selectExpr("percentile(`" + needed + "`, 0.5)").first();
            default -> df.agg(functions.avg(functions.when(correct.and(functions.col(needed).geq(getOrDefault(radius))),
                    1.0).otherwise(0.0))).first();
        };
        if (r.isNullAt(0)) {
            throw new IllegalArgumentException("RollEvaluator " + metric + ": no rows to evaluate");
        }
        return ((Number) r.get(0)).doubleValue();
    }

    @Override
    public boolean isLargerBetter() {
        return true;
    }

    @Override
    public RollEvaluator copy(ParamMap extra) {
        return (RollEvaluator) defaultCopy(extra);
    }

    public static org.apache.spark.ml.util.MLReader<RollEvaluator> read() {
        return new org.apache.spark.ml.util.DefaultParamsReader<>();
    }

    public static RollEvaluator load(String path) {
        return read().load(path);
    }
}
