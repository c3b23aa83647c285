package org.rollspark.spark;

import org.rollspark.loss.LossValue;

/**
 * What the parameter-averaging trainer also calls, when its epoch listener is one of these: after every
 * averaging round, with the running value of the epoch's loss (means over its examples so far) and the
 * seconds since the epoch began.
 */
public interface RoundListener {
    void round(int epoch, int round, int rounds, LossValue sum, double seconds);

    /** Rounds it records after (every this many; 0: none), so that barrier spans end there. */
    default int everyRounds() {
        return 0;
    }
}
