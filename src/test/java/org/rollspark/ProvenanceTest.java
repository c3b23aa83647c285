package org.rollspark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** What every model and table records of the build that made it. */
class ProvenanceTest {
    @Test
    void versionsNameTheCommitTheBuildWasMadeFrom() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(Path.of(".git")), "built outside a git checkout");
        Process git = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
        String head = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        Assumptions.assumeTrue(git.waitFor() == 0, "git is not available: " + head);
        String commit = (String) Provenance.versions().get("commit");
        assertTrue(commit.equals(head) || commit.equals(head + "-dirty"), commit + " against HEAD " + head);
        assertEquals(Provenance.COMMIT, commit);
    }
}
