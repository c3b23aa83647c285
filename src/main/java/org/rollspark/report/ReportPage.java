package org.rollspark.report;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.rollspark.Provenance;

/**
 * The report as ONE self-contained HTML file: Apache ECharts, the page's script and styles, and the
 * data are all inline, so it opens offline and can be mailed or attached to a scheduler's task. The
 * charts are drawn in the browser from the JSON of {@link ReportData} by {@code report.js}, which ends
 * with a self-check in {@code #report-status} (charts drawn, empty charts, script errors).
 */
public final class ReportPage {
    private ReportPage() {}

    /** The ECharts release inlined (org.webjars.npm:echarts in the pom). */
    static final String ECHARTS = "META-INF/resources/webjars/echarts/5.3.1/dist/echarts.min.js";

    /** The page for {@code data}. */
    public static String html(ObjectNode data, String generated) throws IOException {
        String json = ReportData.JSON.writeValueAsString(data)
                .replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029");
        StringBuilder b = new StringBuilder(1 << 21);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                // nothing may be fetched: everything the page needs is in it
                .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; ")
                .append("style-src 'unsafe-inline'; img-src data:\">\n")
                .append("<title>ROLL report: ").append(escape(data.path("selection").asText())).append("</title>\n")
                .append("<style>\n").append(resource("report.css")).append("</style>\n")
                .append("<script>\nwindow.__report = {errors: [], done: false};\n")
                .append("window.addEventListener('error', e => { window.__report.errors.push(String(e.message)); ")
                .append("const s = document.getElementById('report-status'); if (s) s.textContent = JSON.stringify(window.__report); });\n")
                .append("(function () { const ce = console.error; console.error = function () { ")
                .append("window.__report.errors.push(Array.from(arguments).join(' ')); ce.apply(console, arguments); }; })();\n")
                .append("</script>\n</head>\n<body>\n<header><h1>ROLL certification report</h1><p>")
                .append(escape(data.path("selection").asText())).append(" under ").append(escape(data.path("outputDir").asText()))
                .append(" &middot; generated ").append(escape(generated)).append(" by roll-spark ").append(Provenance.VERSION)
                .append("</p></header>\n<main></main>\n<pre id=\"report-status\" hidden></pre>\n")
                .append("<script type=\"application/json\" id=\"report-data\">").append(json).append("</script>\n")
                .append("<script>\n").append(webjar(ECHARTS)).append("\n</script>\n")
                .append("<script>\n").append(resource("report.js")).append("</script>\n</body>\n</html>\n");
        return b.toString();
    }

    /**
     * Writes the page to {@code out} whole or not at all (a temporary file in the same folder, then moved
     * into place); an existing file is replaced only with {@code force}.
     */
    public static void write(String html, Path out, boolean force) throws IOException {
        Path dir = out.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + out.getFileName(), ".tmp");
        try {
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: its default permissions stand
        }
        try {
            Files.writeString(tmp, html, StandardCharsets.UTF_8);
            if (!force && Files.exists(out)) {
                throw new IllegalArgumentException(out + " exists; pass --force to replace it");
            }
            try {
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = ReportPage.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("the jar lacks org/rollspark/report/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String webjar(String path) throws IOException {
        try (InputStream in = ReportPage.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("the jar lacks " + path + " (org.webjars.npm:echarts)");
            }
            // a closing script tag inside the library would end the inline script early
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("</script", "<\\/script");
        }
    }
}
