package org.rollspark.data;

import static org.rollspark.config.Setting.Type.INTS;
import static org.rollspark.config.Setting.Type.STRING;

import java.util.List;
import org.rollspark.config.Setting;

/**
 * A table: rows read with Spark's DataFrameReader (Parquet, ORC, JSON or any source on the classpath) or from the
 * catalog, one example per row: a features column (array of float or double, or a Spark ML vector), a label column
 * (integer, or string: the class names in sorted order) and optionally an id column whose values identify the rows
 * (carried into the certification rows). Spark SQL reads it, so the pipeline reads it itself
 * ({@code org.rollspark.spark.DataPipeline}); this class holds and checks the options.
 */
public final class TableFormat extends Format {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    /** The label column when data.labelColumn is empty (Spark ML's name). */
    public static final String LABEL = "label";

    public static final Setting<String> SOURCE = SETTINGS.add(Setting.of("data.source", STRING, "parquet",
            "table: the Spark DataFrameReader source data.train and data.test are read with (parquet, orc, json, or any "
                    + "source on the classpath), or catalog: they name catalog tables (spark.table, e.g. "
                    + "warehouse.scans)."));
    public static final Setting<String> FEATURES_COLUMN = SETTINGS.add(Setting.of("data.featuresColumn", STRING, "features",
            "table: the features column: array<float> or array<double>, a Spark ML vector (dense or sparse), a sequence "
                    + "array<array<float>> (steps of features, any number of steps), an image of Spark's image source, "
                    + "or an encoded image (binary: PNG, JPEG, BMP, GIF, as Spark's binaryFile source gives)."));
    public static final Setting<String> ID_COLUMN = SETTINGS.add(Setting.of("data.idColumn", STRING, "",
            "table: a column of primitive type whose values identify the rows (unique); carried into every "
                    + "certification row as id, and the split and shards are drawn on it. Empty: rows are identified by "
                    + "their content (label and features), and two identical rows are an input error."));
    public static final Setting<List<Integer>> SHAPE = SETTINGS.add(Setting.of("data.shape", INTS, List.of(),
            "table: the shape of every row's features: [channels, height, width] for images, [steps, features] for "
                    + "sequences (steps: the most a sequence may have); empty: a flat vector of the array's length, an "
                    + "image's own size, sequences padded to the longest.", v -> {
                if (v.size() > 3 || v.stream().anyMatch(d -> d < 1)) {
                    throw new IllegalArgumentException("must be (D), (T, F) or (C, H, W), every dimension >= 1");
                }
            }));

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
        this.source = spec.get(SOURCE);
        this.featuresColumn = spec.get(FEATURES_COLUMN);
        String label = spec.get(DataSpec.LABEL_COLUMN);
        this.labelColumn = label.isEmpty() ? LABEL : label;
        this.idColumn = spec.get(ID_COLUMN);
        this.shape = spec.ints(SHAPE);
        this.classes = spec.get(DataSpec.CLASSES);
        this.numClasses = spec.get(DataSpec.NUM_CLASSES);
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
