package org.rollspark.train;

/**
 * A training step whose loss is not finite: the run diverged (lower the learning rate). Its message
 * carries {@link #MARK}, so the cause can be told apart after Spark has wrapped it on its way from an
 * executor.
 */
public final class DivergedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    /** Part of every such message. */
    public static final String MARK = "(diverged; lower train.lr)";

    public DivergedException(String where, double loss) {
        super(where + ": loss is " + loss + " " + MARK);
    }
}
