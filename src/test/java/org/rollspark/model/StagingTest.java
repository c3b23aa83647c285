package org.rollspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one staged-publish routine on the local disk: replace all or nothing. */
class StagingTest {
    @TempDir
    Path tmp;

    @Test
    void commitReplacesEveryFolderOrRestoresTheEarlierOnes() throws IOException {
        Path a = folder(tmp.resolve("out/a"), "old a");
        Path b = folder(tmp.resolve("out/b"), "old b");
        Path staging = tmp.resolve("staging");
        folder(staging.resolve("a"), "new a");
        folder(staging.resolve("b"), "new b");
        Map<String, String> finals = new LinkedHashMap<>();
        finals.put("a", a.toString());
        finals.put("b", b.toString());
        Staging.commit(Staging.local(), staging.toString(), finals);
        assertEquals("new a", Files.readString(a.resolve("f")));
        assertEquals("new b", Files.readString(b.resolve("f")));

        // a staged folder is missing: the first move succeeded, the second fails, both are rolled back
        Path again = tmp.resolve("again");
        folder(again.resolve("a"), "newer a");
        IOException e = assertThrows(IOException.class, () -> Staging.commit(Staging.local(), again.toString(), finals));
        assertEquals("new a", Files.readString(a.resolve("f")), "earlier a restored: " + e);
        assertEquals("new b", Files.readString(b.resolve("f")), "earlier b restored");
        assertFalse(Files.exists(again.resolve("earlier-a")), "nothing left parked");
    }

    private static Path folder(Path dir, String content) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("f"), content);
        return dir;
    }
}
