package org.rollspark.train;

import org.rollspark.loss.LossValue;

/**
 * One epoch of training: the mean training loss over its minibatches (as trained, before the
 * epoch's updates were all applied), the validation loss at the epoch's end (lambda * ROLL term
 * included), wall time and throughput.
 */
public record EpochStats(int epoch, LossValue train, LossValue validation, double seconds, double examplesPerSecond)
        implements java.io.Serializable {}
