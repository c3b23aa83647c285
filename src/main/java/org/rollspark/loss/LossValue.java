package org.rollspark.loss;

/**
 * The loss of one batch.
 *
 * @param total mean over the batch of cross-entropy + lambda * aggregated ROLL term
 * @param crossEntropy mean cross-entropy
 * @param rollTerm mean over the batch of the aggregated ROLL term (before lambda; 0 for vanilla)
 * @param correct number of examples whose arg-max logit equals the label
 * @param count number of examples
 */
public record LossValue(double total, double crossEntropy, double rollTerm, int correct, int count)
        implements java.io.Serializable {

    /** Combines batch values into the value over their union (weighted by example counts). */
    public LossValue plus(LossValue o) {
        int n = count + o.count;
        if (n == 0) {
            return this;
        }
        double a = (double) count / n;
        double b = (double) o.count / n;
        return new LossValue(a * total + b * o.total, a * crossEntropy + b * o.crossEntropy,
                a * rollTerm + b * o.rollTerm, correct + o.correct, n);
    }

    public static LossValue empty() {
        return new LossValue(0, 0, 0, 0, 0);
    }

    public double accuracy() {
        return count == 0 ? Double.NaN : (double) correct / count;
    }
}
