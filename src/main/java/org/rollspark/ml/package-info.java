/**
 * The Spark ML API: {@link org.rollspark.ml.RollClassifier} (an Estimator), {@link
 * org.rollspark.ml.RollClassificationModel} (its Model: predictions and certificates as DataFrame columns, saved as
 * the project's model folder) and {@link org.rollspark.ml.RollEvaluator} (accuracy, median l2 margin, certified
 * accuracy), for Pipelines, CrossValidator and TrainValidationSplit. Their settings are the job file's ({@link
 * org.rollspark.ml.RollParams}: one Param per declared setting, named by its key).
 */
package org.rollspark.ml;
