package org.rollspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rollspark.train.ModelSelection.Candidate;
import org.rollspark.train.ModelSelection.Pick;

/** The paper's rule: largest validation median eps_2 at the vanilla accuracy, and at one point below it. */
class ModelSelectionTest {

    @Test
    void picksTheLargestMarginWithinEachAccuracySlack() {
        List<Candidate> grid = List.of(
                new Candidate("a", 0.981, 0.0080),   // as accurate as vanilla
                new Candidate("b", 0.980, 0.0095),   // exactly vanilla's accuracy, larger margin
                new Candidate("c", 0.9705, 0.0300),  // 0.95 points below: the -1 pt pick
                new Candidate("d", 0.969, 0.0600),   // 1.1 points below: out of both
                new Candidate("e", Double.NaN, 0.1), // failed
                new Candidate("f", 0.99, Double.NaN));
        Map<Pick, Candidate> picks = ModelSelection.select(0.980, grid);
        assertEquals("b", picks.get(Pick.SAME_ACCURACY).id());
        assertEquals("c", picks.get(Pick.MINUS_1PT).id());
    }

    @Test
    void tiesGoToTheMoreAccurateThenTheEarlierCandidate() {
        Map<Pick, Candidate> picks = ModelSelection.select(0.9, List.of(new Candidate("x", 0.91, 0.5),
                new Candidate("y", 0.95, 0.5), new Candidate("z", 0.95, 0.5)));
        assertEquals("y", picks.get(Pick.SAME_ACCURACY).id());
        assertEquals("y", picks.get(Pick.MINUS_1PT).id());
    }

    @Test
    void aRuleNoCandidateMeetsHasNoPick() {
        Map<Pick, Candidate> picks = ModelSelection.select(0.98, List.of(new Candidate("low", 0.975, 1.0)));
        assertFalse(picks.containsKey(Pick.SAME_ACCURACY));
        assertEquals("low", picks.get(Pick.MINUS_1PT).id());
        assertEquals(Map.of(), ModelSelection.select(0.98, List.of()));
        assertThrows(IllegalArgumentException.class, () -> ModelSelection.select(Double.NaN, List.of()));
        assertEquals("same_accuracy", Pick.SAME_ACCURACY.label());
    }
}
