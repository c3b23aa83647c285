package org.rollspark.ml;

import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

/**
 * The columns the estimator and its model share (MLlib's HasFeaturesCol, HasLabelCol, ... in one place): their
 * setters and getters, over the owner's {@link RollParams}.
 *
 * @param <T> the owner's type, which the setters return
 */
public interface RollColumns<T extends Params & RollColumns<T>> {
    /** The owner's Params. */
    RollParams rollParams();

    @SuppressWarnings("unchecked")
    private T put(Param<?> param, Object value) {
        T self = (T) this;
        self.set((Param<Object>) param, value);
        return self;
    }

    /** Sets every Param's default (Spark ML's column names, the settings' declared defaults): the constructor's end. */
    @SuppressWarnings("unchecked")
    default void setDefaults() {
        T self = (T) this;
        rollParams().defaults().forEach((param, value) -> self.setDefault((Param<Object>) param, value));
    }

    default T setFeaturesCol(String v) {
        return put(rollParams().featuresCol, v);
    }

    default T setLabelCol(String v) {
        return put(rollParams().labelCol, v);
    }

    default T setPredictionCol(String v) {
        return put(rollParams().predictionCol, v);
    }

    default T setRawPredictionCol(String v) {
        return put(rollParams().rawPredictionCol, v);
    }

    default T setProbabilityCol(String v) {
        return put(rollParams().probabilityCol, v);
    }

    /** Certification columns transform adds (eps_l2, cert_l2, dec_l2, pattern_hash, ...). */
    default T setCertificateCols(String... v) {
        return put(rollParams().certificateCols, v);
    }

    default Param<String> featuresCol() {
        return rollParams().featuresCol;
    }

    default Param<String> labelCol() {
        return rollParams().labelCol;
    }

    /** What transform adds, as the owner's Params say. */
    @SuppressWarnings("unchecked")
    default org.rollspark.spark.Scoring.Outputs outputs() {
        RollParams p = rollParams();
        T self = (T) this;
        return new org.rollspark.spark.Scoring.Outputs(self.getOrDefault(p.predictionCol),
                self.getOrDefault(p.rawPredictionCol), self.getOrDefault(p.probabilityCol),
                java.util.List.of(self.getOrDefault(p.certificateCols)));
    }
}
