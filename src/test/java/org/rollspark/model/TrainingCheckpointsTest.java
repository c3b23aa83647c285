package org.rollspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which settings a checkpoint must share with the run that resumes it, and how differences are named. */
class TrainingCheckpointsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    @Test
    void outputsRoundsEpochsAndTheCheckpointIntervalMayChange() {
        Map<String, Object> config = new java.util.TreeMap<>(Map.of("output.dir", "runs", "sweep.mode", "auto",
                "spark.master", "local[2]", "spark.checkpointDir", "/c", "spark.rounds", "barrier", "train.epochs", 20,
                "spark.checkpointRounds", 5, "train.lr", 0.01, "loss.lambda", 2.0));
        assertEquals(Map.of("train.lr", 0.01, "loss.lambda", 2.0, "data.fingerprint", "fp"),
                TrainingCheckpoints.relevant(config, "fp",
                        org.rollspark.spark.ParameterAveragingTrainer.OUTSIDE_IDENTITY));
    }

    @Test
    void settingsCompareByValueAndNameWhatDiffers() throws Exception {
        JsonNode there = json("{\"loss.lambda\": 4, \"net.hidden\": [300, 300], \"loss.gamma\": \"100\", \"old.key\": 1}");
        JsonNode here = json("{\"loss.lambda\": 4.0, \"net.hidden\": [300, 300.0], \"loss.gamma\": \"100\", \"old.key\": 1,"
                + " \"new.key\": 7}");
        assertEquals(List.of(), TrainingCheckpoints.differences(there, here, Set.of()),
                "4 is 4.0, and a setting added since the checkpoint agrees when the run leaves it at its default");
        assertEquals(List.of("new.key: not a setting there, 7 here"), TrainingCheckpoints.differences(there, here,
                Set.of("new.key")), "unless the run sets it");
        assertEquals(List.of(), TrainingCheckpoints.differences(JSON.valueToTree(Map.of("x", Double.POSITIVE_INFINITY)),
                JSON.valueToTree(Map.of("x", Double.POSITIVE_INFINITY)), Set.of()), "infinities compare too");
        JsonNode changed = json("{\"loss.lambda\": 2, \"net.hidden\": [300], \"loss.gamma\": 100}");
        assertEquals(List.of("loss.gamma: \"100\" there, 100 here", "loss.lambda: 4 there, 2 here",
                "net.hidden: [300,300] there, [300] here", "old.key: 1 there, not a setting here"),
                TrainingCheckpoints.differences(there, changed, Set.of()));
    }
}
