package org.rollspark.net;

/**
 * Which directions of the normalised input the tangent passes of the ROLL term cover: all of them
 * (the exact term; the network picks any orthonormal basis and any blocking) or a sample of
 * coordinates per example, whose squared derivatives are scaled by {@code scale} (D / D' for an
 * unbiased estimate).
 *
 * @param coords per example {@code rows} input coordinates, example-major; null for all
 * @param rows   coordinates per example (0 for all)
 * @param scale  factor on every squared derivative
 */
public record Coordinates(int[] coords, int rows, double scale) {

    private static final Coordinates ALL = new Coordinates(null, 0, 1.0);

    public Coordinates {
        if (coords != null && (rows < 1 || coords.length % rows != 0)) {
            throw new IllegalArgumentException(coords.length + " coordinates in rows of " + rows);
        }
    }

    public static Coordinates all() {
        return ALL;
    }

    public static Coordinates sampled(int[] coords, int rows, double scale) {
        return new Coordinates(coords, rows, scale);
    }

    public boolean isAll() {
        return coords == null;
    }
}
