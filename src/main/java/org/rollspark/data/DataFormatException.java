package org.rollspark.data;

import java.io.IOException;

/**
 * Input that cannot be read as the configured format: names the file, where in it (byte offset,
 * record, line) and why. The command line turns it into exit code 3 (input error), before any output
 * is written.
 */
public final class DataFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public DataFormatException(String file, String where, String reason) {
        super(file + (where == null || where.isEmpty() ? "" : ": " + where) + ": " + reason);
    }

    public DataFormatException(String file, String where, String reason, Throwable cause) {
        super(file + (where == null || where.isEmpty() ? "" : ": " + where) + ": " + reason, cause);
    }
}
