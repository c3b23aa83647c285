package org.rollspark.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rollspark.cli.Main;
import org.rollspark.data.LabeledData;
import org.rollspark.model.ModelIO;
import org.rollspark.util.Host;

/**
 * The Spark ML API against the command line, on Parquet tables written from the bundled MNIST slice: fit trains the
 * model train trains (bit for bit), transform's certificate columns are certify's, a model saved by the API is
 * certified by the CLI and a CLI model loads into the API; a Pipeline with a VectorAssembler in front, tuned by a
 * CrossValidator over lambda with the RollEvaluator, saved and loaded back.
 */
class SparkMlApiTest {
    @TempDir
    static Path tmp;
    static Path train;
    static Path test;

    @BeforeAll
    static void tables() throws Exception {
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.driver.host", "127.0.0.1");
        LabeledData[] mnist = LabeledData.bundledMnist(Path.of(""));
        train = write(mnist[0], 900, "train");
        test = write(mnist[1], 200, "test");
    }

    static SparkSession session() {
        return SparkSession.builder().master("local[2]").appName("ml-test").config("spark.ui.enabled", "false")
                .getOrCreate();
    }

    static Path write(LabeledData d, int n, String name) {
        double[] x = Host.pull(d.allFeatures());
        int f = d.numFeatures();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Float[] v = new Float[f];
            for (int k = 0; k < f; k++) {
                v[k] = (float) x[i * f + k];
            }
            rows.add(RowFactory.create(v, d.label(i), name + "-" + i));
        }
        StructType schema = new StructType().add("features", DataTypes.createArrayType(DataTypes.FloatType, false))
                .add("label", DataTypes.IntegerType).add("id", DataTypes.StringType);
        Path p = tmp.resolve(name + ".parquet");
        session().createDataFrame(rows, schema).repartition(3).write().parquet(p.toString());
        return p;
    }

    static void cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, code, err + "\n" + out);
    }

    @Test
    void fitIsTrainAndTransformIsCertifyAndModelsGoBothWays() throws Exception {
        String out = tmp.resolve("runs").toString();
        String[] settings = {"data.idColumn=id", "data.validation=100", "net.hidden=[24]", "train.epochs=2",
            "spark.numWorkers=2", "loss.lambda=0.1", "output.dir=" + out};
        List<String> t = new ArrayList<>(List.of("train", "data.format=table", "data.train=" + train, "data.test=" + test,
                "output.runId=cli"));
        t.addAll(List.of(settings));
        cli(t.toArray(String[]::new));
        Path cliModel = Path.of(out, "models", "cli");
        List<String> c = new ArrayList<>(List.of("certify", "--model", cliModel.toString(), "data.format=table",
                "data.test=" + test, "output.runId=cert", org.rollspark.spark.CertificationJob.NORMS.key() + "=[l2]")); // the norms transform's columns name
        c.addAll(List.of(settings));
        cli(c.toArray(String[]::new));

        SparkSession spark = session();
        RollClassifier clf = new RollClassifier().setIdCol("id").setLambda(0.1).setEpochs(2)
                .setSetting("net.hidden", new int[] {24}).setSetting("data.validation", 100)
                .setSetting("spark.numWorkers", 2);
        RollClassificationModel model = clf.fit(spark.read().parquet(train.toString()));
        assertArrayEquals(Host.pull(ModelIO.load(cliModel).params()), Host.pull(model.network().params()), 0.0,
                "fit trains the model train trains, bit for bit");
        assertEquals(ModelIO.provenance(cliModel).path("dataFingerprint").asText(),
                model.provenance().path("dataFingerprint").asText());

        // transform's certificate columns are certify's
        model.setCertificateCols("eps_l2", "dec_l2", "cert_l2", "correct", "pattern_hash");
        Dataset<Row> scored = model.transform(spark.read().parquet(test.toString()));
        Map<String, Row> certified = new HashMap<>();
        for (Row r : spark.read().parquet(out + "/certification/examples").where("run_id = 'cert'")
                .select("id", "eps_l2", "dec_l2", "cert_l2", "correct", "pattern_hash", "pred").collectAsList()) {
            certified.put(r.getString(0), r);
        }
        List<Row> rows = scored.select("id", "eps_l2", "dec_l2", "cert_l2", "correct", "pattern_hash", "prediction",
                "probability").collectAsList();
        assertEquals(200, rows.size());
        for (Row r : rows) {
            Row e = certified.get(r.getString(0));
            for (int k = 1; k <= 3; k++) { // to the rounding of products over batches of other sizes
                assertEquals(e.getDouble(k), r.getDouble(k), 1e-9 * Math.abs(e.getDouble(k)), r.getString(0) + " col " + k);
            }
            assertEquals(e.getBoolean(4), r.getBoolean(4));
            assertEquals(e.getString(5), r.getString(5), "the activation pattern of " + r.getString(0));
            assertEquals(e.getInt(6), (int) r.getDouble(6), "the prediction of " + r.getString(0));
            double[] p = ((org.apache.spark.ml.linalg.Vector) r.get(7)).toArray();
            assertEquals(1.0, java.util.Arrays.stream(p).sum(), 1e-12);
        }

        // a model saved by the API is certified by the CLI, a CLI model loads into the API
        String saved = tmp.resolve("api-model").toString();
        model.write().save(saved);
        cli("certify", "--model", saved, "data.format=table", "data.test=" + test, "data.idColumn=id",
                "output.dir=" + out, "output.runId=api", org.rollspark.spark.CertificationJob.NORMS.key() + "=[l2]");
        spark = session();
        assertEquals(0, spark.read().parquet(out + "/certification/examples").where("run_id = 'api'").join(
                spark.read().parquet(out + "/certification/examples").where("run_id = 'cert'"),
                scala.collection.JavaConverters.asScalaBuffer(List.of("id", "eps_l2", "pattern_hash")).toSeq(),
                "left_anti").count(), "the API's saved model certifies as the CLI's");
        RollClassificationModel back = RollClassificationModel.load(saved);
        assertEquals(List.of("eps_l2", "dec_l2", "cert_l2", "correct", "pattern_hash"),
                List.of(back.getOrDefault(back.getParam("certificateCols")) instanceof String[] a ? a : new String[0]),
                "Spark ML's metadata keeps the Params");
        RollClassificationModel fromCli = RollClassificationModel.load(cliModel.toString());
        assertArrayEquals(Host.pull(model.network().params()), Host.pull(fromCli.network().params()), 0.0);
    }

    /** load reads an ONNX file; transform gives the logits PyTorch computed for the same inputs. */
    @Test
    void anOnnxFileLoadsAsAModel() throws Exception {
        com.fasterxml.jackson.databind.JsonNode fixture = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                Path.of("src/test/resources/onnx/mlp_relu.json").toFile());
        List<Row> rows = new ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode x : fixture.path("inputs")) {
            List<Double> v = new ArrayList<>();
            x.forEach(e -> v.add(e.asDouble()));
            rows.add(RowFactory.create((Object) v.toArray(Double[]::new)));
        }
        Dataset<Row> df = session().createDataFrame(rows, new StructType().add("features",
                DataTypes.createArrayType(DataTypes.DoubleType, false)));
        RollClassificationModel model = RollClassificationModel.load("src/test/resources/onnx/mlp_relu.onnx");
        List<Row> out = model.setCertificateCols("eps_l2").transform(df).select("rawPrediction", "eps_l2").collectAsList();
        assertEquals(rows.size(), out.size());
        for (int i = 0; i < out.size(); i++) {
            double[] logits = ((org.apache.spark.ml.linalg.Vector) out.get(i).get(0)).toArray();
            for (int k = 0; k < logits.length; k++) {
                assertEquals(fixture.path("logits").get(i).get(k).asDouble(), logits[k], 1e-5, "row " + i + " logit " + k);
            }
            assertTrue(out.get(i).getDouble(1) > 0);
        }
    }

    @Test
    void aValidationIndicatorColumnChoosesTheValidationRows() {
        SparkSession spark = session();
        Dataset<Row> rows = spark.read().parquet(train.toString()).withColumn("is_val",
                org.apache.spark.sql.functions.expr("cast(substring(id, 7) as int) % 9 = 0"));
        long marked = rows.where("is_val").count();
        RollClassifier clf = new RollClassifier().setIdCol("id").setEpochs(1).setSetting("net.hidden", new int[] {8})
                .setValidationIndicatorCol("is_val");
        RollClassificationModel model = clf.fit(rows);
        assertEquals(marked, model.provenance().path("config").path("data.validation").asLong(),
                "the marked rows are the validation rows");
        RollClassificationModel seeded = clf.copy(new ParamMap()).setValidationIndicatorCol("")
                .setSetting("data.validation", (int) marked).fit(rows.drop("is_val"));
        assertTrue(!java.util.Arrays.equals(Host.pull(model.network().params()), Host.pull(seeded.network().params())),
                "another split, another model");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new RollClassifier().setValidationIndicatorCol("is_val").fit(rows));
        assertTrue(e.getMessage().contains("set idCol too"), e.getMessage());
    }

    /** README's "From a Spark program" Java example, compiled from the README with javac and run on a table of scans. */
    @Test
    void theReadmeJavaExampleCompilesAndRuns() throws Exception {
        Path classes = java.nio.file.Files.createDirectories(tmp.resolve("java-example-classes"));
        Path src = java.nio.file.Files.writeString(java.nio.file.Files.createDirectories(tmp.resolve("java-example"))
                .resolve("CertifiedScans.java"), readmeBlock("java"));
        StringWriter diagnostics = new StringWriter();
        boolean compiled = javax.tools.ToolProvider.getSystemJavaCompiler().getTask(diagnostics, null, null,
                List.of("-d", classes.toString(), "-classpath", System.getProperty("java.class.path")), null,
                javax.tools.ToolProvider.getSystemJavaCompiler().getStandardFileManager(null, null, null)
                        .getJavaFileObjects(src.toFile())).call();
        assertTrue(compiled, diagnostics.toString());
        runExample(classes, "java");
    }

    /** The same example in Scala, compiled from the README by the Scala compiler of Spark's Scala version and run. */
    @Test
    void theReadmeScalaExampleCompilesAndRuns() throws Exception {
        Path classes = java.nio.file.Files.createDirectories(tmp.resolve("scala-example-classes"));
        Path src = java.nio.file.Files.writeString(java.nio.file.Files.createDirectories(tmp.resolve("scala-example"))
                .resolve("CertifiedScans.scala"), readmeBlock("scala"));
        scala.tools.nsc.Settings settings = new scala.tools.nsc.Settings();
        settings.processArgumentString("-deprecation -feature -d " + classes + " -classpath " + String.join(
                java.io.File.pathSeparator, classPath()));
        StringWriter diagnostics = new StringWriter();
        scala.tools.nsc.reporters.ConsoleReporter reporter = new scala.tools.nsc.reporters.ConsoleReporter(settings,
                new java.io.BufferedReader(new java.io.StringReader("")), new PrintWriter(diagnostics, true));
        scala.tools.nsc.Global global = new scala.tools.nsc.Global(settings, reporter);
        global.new Run().compile(scala.collection.JavaConverters.asScalaBuffer(List.of(src.toString())).toList());
        assertTrue(!reporter.hasErrors() && !reporter.hasWarnings(), diagnostics.toString());
        runExample(classes, "scala");
    }

    /** The README's example block in a language ({@code java}, {@code scala}) of its "From a Spark program" section. */
    private static String readmeBlock(String language) throws IOException {
        String readme = java.nio.file.Files.readString(Path.of("README.md"));
        int section = readme.indexOf("## From a Spark program");
        int from = readme.indexOf("```" + language + "\n", section);
        assertTrue(section >= 0 && from >= 0, "README's \"From a Spark program\" has a " + language + " example");
        from += language.length() + 4;
        return readme.substring(from, readme.indexOf("```", from));
    }

    /**
     * The test JVM's class path as files: surefire starts it with a jar whose manifest lists the class path (javac
     * follows such a manifest; the Scala compiler needs the entries).
     */
    private static List<String> classPath() throws IOException {
        List<String> out = new java.util.ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            out.add(entry);
            if (entry.endsWith(".jar")) {
                try (java.util.jar.JarFile jar = new java.util.jar.JarFile(entry)) {
                    java.util.jar.Manifest m = jar.getManifest();
                    String listed = m == null ? null : m.getMainAttributes().getValue("Class-Path");
                    if (listed != null) {
                        for (String url : listed.trim().split("\\s+")) {
                            out.add(Path.of(java.net.URI.create(new java.net.URL(new java.io.File(entry).toURI().toURL(),
                                    url).toString())).toString());
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Runs a compiled example on a table of scans (the bundled images with a scan_id) and checks what it wrote. */
    private void runExample(Path classes, String name) throws Exception {
        SparkSession spark = session();
        Path scans = tmp.resolve(name + "-scans.parquet");
        Path newScans = tmp.resolve(name + "-new-scans.parquet");
        spark.read().parquet(train.toString()).withColumnRenamed("id", "scan_id").write().parquet(scans.toString());
        spark.read().parquet(test.toString()).withColumnRenamed("id", "scan_id").write().parquet(newScans.toString());
        Path out = tmp.resolve(name + "-scan-certificates.parquet");
        Path model = tmp.resolve(name + "-scan-model");
        try (java.net.URLClassLoader loader = new java.net.URLClassLoader(new java.net.URL[] {classes.toUri().toURL()},
                getClass().getClassLoader())) {
            loader.loadClass("CertifiedScans").getMethod("main", String[].class).invoke(null, (Object) new String[] {
                scans.toString(), newScans.toString(), out.toString(), model.toString()});
        }
        List<Row> certified = session().read().parquet(out.toString()).collectAsList();
        assertEquals(200, certified.size());
        assertTrue(certified.stream().allMatch(r -> r.getString(0).startsWith("test-") && r.getDouble(2) > 0));
        assertEquals(784, ModelIO.load(model).inputSize(), "the saved model folder reads back");
    }

    @Test
    void aPipelineWithAVectorAssemblerIsTunedByCrossValidatorOverLambda() throws Exception {
        SparkSession spark = session();
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            double x = r.nextDouble(-1, 1);
            double y = r.nextDouble(-1, 1);
            rows.add(RowFactory.create(x, y, x * y > 0 ? 1 : 0));
        }
        Dataset<Row> df = spark.createDataFrame(rows, new StructType().add("x", DataTypes.DoubleType)
                .add("y", DataTypes.DoubleType).add("label", DataTypes.IntegerType));
        VectorAssembler assembler = new VectorAssembler().setInputCols(new String[] {"x", "y"}).setOutputCol("xy");
        RollClassifier clf = new RollClassifier().setFeaturesCol("xy").setEpochs(3).setCertificateCols("cert_l2", "eps_l2")
                .setSetting("net.hidden", new int[] {16, 16}).setSetting("data.validation", 40);
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {assembler, clf});
        ParamMap[] grid = new ParamGridBuilder().addGrid(clf.lambda(), new double[] {0.0, 1.0}).build();
        RollEvaluator evaluator = new RollEvaluator().setMetricName("certifiedAccuracy").setRadius(0.01);
        CrossValidator cv = new CrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid)
                .setEvaluator(evaluator).setNumFolds(2).setSeed(7);
        CrossValidatorModel best = cv.fit(df);
        assertEquals(2, best.avgMetrics().length);
        for (double m : best.avgMetrics()) {
            assertTrue(m > 0 && m <= 1, "certified accuracy " + m);
        }
        PipelineModel pm = (PipelineModel) best.bestModel();
        RollClassificationModel fitted = (RollClassificationModel) pm.stages()[1];
        double lambda = (Double) fitted.parent().getOrDefault(((RollClassifier) fitted.parent()).lambda());
        int bestIndex = best.avgMetrics()[0] >= best.avgMetrics()[1] ? 0 : 1;
        assertEquals(new double[] {0.0, 1.0}[bestIndex], lambda, 0.0, "the best grid point's model");
        double accuracy = new RollEvaluator().evaluate(pm.transform(df));
        assertTrue(accuracy > 0.6, "accuracy " + accuracy);
        double median = new RollEvaluator().setMetricName("medianEps").evaluate(pm.transform(df));
        assertTrue(median > 0, "median eps_2 " + median);
        // the pipeline saved and loaded back transforms the same
        String path = tmp.resolve("pipeline").toString();
        pm.write().save(path);
        PipelineModel loaded = PipelineModel.load(path);
        assertEquals(pm.transform(df).select("prediction", "eps_l2").collectAsList(),
                loaded.transform(df).select("prediction", "eps_l2").collectAsList());
    }
}
