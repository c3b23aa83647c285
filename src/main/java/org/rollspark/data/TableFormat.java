package org.rollspark.data;

import java.util.List;

/**
 * A table: rows read with Spark's DataFrameReader (Parquet, ORC, JSON or any source on the classpath) or from the
 * catalog, one example per row: a features column (array of float or double, or a Spark ML vector), a label column
 * (integer, or string: the class names in sorted order) and optionally an id column whose values identify the rows
 * (carried into the certification rows). Spark SQL reads it, so the pipeline reads it itself
 * ({@code org.rollspark.spark.DataPipeline}); this class holds and checks the options.
 */
public final class TableFormat extends Format {
    private static final long serialVersionUID = 1L;
    /** {@code data.source} naming a catalog table rather than a reader format. */
    public static final String CATALOG = "catalog";

    private final String source;
    private final String featuresColumn;
    private final String labelColumn;
    private final String idColumn;
    private final int[] shape;
    private final List<String> classes;
    private final int numClasses;

    public TableFormat(DataSpec spec) {
        this.source = spec.string("source", "parquet");
        this.featuresColumn = spec.string("featuresColumn", "features");
        this.labelColumn = spec.string("labelColumn", "label");
        this.idColumn = spec.string("idColumn", "");
        this.shape = spec.ints("shape");
        for (int s : shape) {
            if (s < 1) {
                throw new IllegalArgumentException("roll.data.shape: every dimension must be >= 1, got "
                        + java.util.Arrays.toString(shape));
            }
        }
        if (shape.length > 3) {
            throw new IllegalArgumentException("roll.data.shape: (D), (T, F) or (C, H, W), got "
                    + java.util.Arrays.toString(shape));
        }
        this.classes = List.of(spec.list("classes"));
        this.numClasses = spec.integer("numClasses", 0);
    }

    public String source() {
        return source;
    }

    public String featuresColumn() {
        return featuresColumn;
    }

    public String labelColumn() {
        return labelColumn;
    }

    /** The id column, or "" when the rows have none (ids then come from their content). */
    public String idColumn() {
        return idColumn;
    }

    /** The shape every row's features take ((D) when empty: the array's length). */
    public int[] shape() {
        return shape.clone();
    }

    /** Class names fixed up front ({@code data.classes}, or a saved model's); empty when the data decides. */
    public List<String> classes() {
        return classes;
    }

    public int numClasses() {
        return numClasses;
    }

    @Override
    public List<Part> parts(Location location, DataFiles.Settings settings) {
        throw new IllegalStateException("a table is read through Spark SQL (DataPipeline), not by parts");
    }

    @Override
    public LabeledData read(Part part, DataFiles.Settings settings) {
        throw new IllegalStateException("a table is read through Spark SQL (DataPipeline), not by parts");
    }
}
