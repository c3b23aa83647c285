package org.rollspark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rollspark.net.ModelIO;

class MainTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void demoTrainsBothModelsAndCertifyReadsThemBack() throws Exception {
        Path out = tmp.resolve("demo");
        Result r = run("demo", "--train", "600", "--validation", "100", "--test", "200", "--hidden", "16,12",
                "--epochs", "2", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("[vanilla] epoch 2/2") && r.out().contains("[roll] epoch 2/2"), r.out());
        assertTrue(r.out().contains("median l2 margin, ROLL / vanilla"), r.out());
        for (String m : new String[] {"vanilla", "roll"}) {
            assertTrue(Files.isRegularFile(out.resolve(m).resolve("model.json")));
            assertEquals("2", ModelIO.provenance(out.resolve(m)).path("config").path("train.epochs").asText());
            assertTrue(ModelIO.provenance(out.resolve(m)).path("dataFingerprint").asText().startsWith("sha256:"));
        }
        Result c = run("certify", "--model", out.resolve("roll").toString(), "--test", "50", "--float64");
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().startsWith("50 examples, accuracy"), c.out());
        assertTrue(c.out().contains("eps_2"), c.out());
    }

    @Test
    void errorsHaveDistinctExitCodesAndNameTheCulprit() {
        Result missing = run("certify", "--model", tmp.resolve("nope").toString());
        assertEquals(Main.INPUT, missing.code());
        assertTrue(missing.err().contains("nope") && missing.err().contains("no model.json"), missing.err());

        Result badData = run("demo", "--data-dir", tmp.toString());
        assertEquals(Main.INPUT, badData.code());
        assertTrue(badData.err().contains("train-images-idx3-ubyte"), badData.err());

        Result badSetting = run("demo", "--gamma", "250", "--train", "100", "--validation", "10");
        assertEquals(Main.USAGE, badSetting.code());
        assertTrue(badSetting.err().contains("gamma"), badSetting.err());

        Result unknown = run("demo", "--no-such-option");
        assertEquals(Main.USAGE, unknown.code());
        assertTrue(unknown.err().contains("--no-such-option"), unknown.err());
    }
}
