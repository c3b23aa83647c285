package org.rollspark.train;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The paper's model selection over a hyper-parameter grid (Lee et al. 2019, section 5): among the
 * ROLL models, the one with the largest VALIDATION median l2 margin whose validation accuracy is (a)
 * at least the vanilla model's ({@link Pick#SAME_ACCURACY}) and (b) at least the vanilla model's minus
 * one point ({@link Pick#MINUS_1PT}). Test-set figures are reported for the picks only.
 */
public final class ModelSelection {
    private ModelSelection() {}

    /** One trained grid point's validation figures; accuracy in [0, 1], the margin in raw input units. */
    public record Candidate(String id, double accuracy, double medianEps2) {}

    /** What a pick stands for, with the accuracy it may give up against the vanilla model. */
    public enum Pick {
        SAME_ACCURACY("same_accuracy", 0.0),
        MINUS_1PT("minus_1pt", 0.01);

        private final String label;
        private final double slack;

        Pick(String label, double slack) {
            this.label = label;
            this.slack = slack;
        }

        /** The name used in the sweep table's {@code selected} column. */
        public String label() {
            return label;
        }

        public double slack() {
            return slack;
        }
    }

    /**
     * The picks: for each rule, the candidate with the largest median eps_2 among those within its
     * accuracy slack of {@code vanillaAccuracy} (ties: higher accuracy, then the earlier candidate).
     * Candidates with a non-finite accuracy or margin (failed points) never qualify; a rule no candidate
     * meets has no entry.
     */
    public static Map<Pick, Candidate> select(double vanillaAccuracy, List<Candidate> candidates) {
        if (!Double.isFinite(vanillaAccuracy)) {
            throw new IllegalArgumentException("the vanilla model's validation accuracy is " + vanillaAccuracy);
        }
        Map<Pick, Candidate> out = new EnumMap<>(Pick.class);
        for (Pick p : Pick.values()) {
            // a tolerance far below one example of any validation set, so equal accuracies compare equal
            double floor = vanillaAccuracy - p.slack() - 1e-9;
            Candidate best = null;
            for (Candidate c : candidates) {
                if (!Double.isFinite(c.accuracy()) || !Double.isFinite(c.medianEps2()) || c.accuracy() < floor) {
                    continue;
                }
                if (best == null || c.medianEps2() > best.medianEps2()
                        || (c.medianEps2() == best.medianEps2() && c.accuracy() > best.accuracy())) {
                    best = c;
                }
            }
            if (best != null) {
                out.put(p, best);
            }
        }
        return out;
    }
}
