package org.rollspark.ml;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.rollspark.model.ModelIO;
import org.rollspark.net.Network;
import org.rollspark.spark.NetState;
import org.rollspark.spark.Scoring;

/**
 * A trained network as a Spark ML Model: {@code transform} adds the prediction (the class index, a double), the
 * logits and their softmax, and the certification columns {@code certificateCols} names ({@code eps_l2},
 * {@code cert_l2}, {@code dec_l2}, {@code pattern_hash}, ...), computed on the executors with the network broadcast by
 * the code {@code certify} runs, so they equal what it writes for the same rows. {@code write().save(path)} writes the
 * project's model folder (so {@code certify --model path} reads it) plus Spark ML's metadata; {@code load} reads any
 * model folder, saved by the API or by {@code train}, or an {@code .onnx} file.
 */
public final class RollClassificationModel extends Model<RollClassificationModel>
        implements MLWritable, RollColumns<RollClassificationModel> {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String uid;
    private final RollParams p;
    private final NetState net; // serialisable: a model travels in closures and is copied by CrossValidator
    private final String provenance; // the model folder's provenance record, as JSON text
    private final List<String> classNames;
    private transient Network network;

    RollClassificationModel(String uid, Network net, JsonNode provenance, List<String> classNames) {
        this.uid = uid;
        this.p = new RollParams(this);
        this.net = NetState.of(net);
        this.network = net;
        this.provenance = provenance == null ? "{}" : provenance.toString();
        this.classNames = classNames == null ? null : List.copyOf(classNames);
        setDefaults();
    }

    @Override
    public RollParams rollParams() {
        return p;
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public Param<?>[] params() {
        return p.all();
    }

    /** The network (the best epoch's parameters). */
    public Network network() {
        if (network == null) {
            network = net.toNet();
        }
        return network;
    }

    /** The class names of string labels, in class order (null: integer labels). */
    public List<String> classNames() {
        return classNames;
    }

    /** The model folder's provenance record: resolved settings, seed, data fingerprint, versions. */
    public JsonNode provenance() {
        try {
            return JSON.readTree(provenance);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        return Scoring.transform(dataset, network(), getOrDefault(p.featuresCol), getOrDefault(p.labelCol), classNames,
                outputs());
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return Scoring.schema(schema, getOrDefault(p.featuresCol), getOrDefault(p.labelCol),
                outputs());
    }

    @Override
    public RollClassificationModel copy(ParamMap extra) {
        RollClassificationModel m = new RollClassificationModel(uid, network(), provenance(), classNames);
        copyValues(m, extra);
        return m.setParent(parent());
    }

    @Override
    public MLWriter write() {
        RollClassificationModel model = this;
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                try {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> prov = JSON.readValue(provenance, Map.class);
                    ModelIO.save(network(), path, sc().hadoopConfiguration(), prov);
                } catch (IOException e) {
                    throw new UncheckedIOException(path + ": " + e.getMessage(), e);
                }
                DefaultParamsWriter$.MODULE$.saveMetadata(model, path, sc(), scala.Option.empty(), scala.Option.empty());
            }
        };
    }

    public static MLReader<RollClassificationModel> read() {
        return new MLReader<>() {
            @Override
            public RollClassificationModel load(String path) {
                try {
                    ModelIO.Loaded m = ModelIO.loadAny(path, sc().hadoopConfiguration(), n -> { });
                    List<String> names = org.rollspark.Provenance.classNames(m.provenance().path("config"));
                    Path metadata = new Path(path, "metadata");
                    boolean spark = !path.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx")
                            && metadata.getFileSystem(sc().hadoopConfiguration()).exists(metadata);
                    String uid = spark ? DefaultParamsReader$.MODULE$.loadMetadata(path, sc(), "").uid()
                            : org.apache.spark.ml.util.Identifiable$.MODULE$.randomUID("rollClassifier");
                    RollClassificationModel model = new RollClassificationModel(uid, m.network(), m.provenance(), names);
                    if (spark) {
                        DefaultParamsReader$.MODULE$.loadMetadata(path, sc(), "").getAndSetParams(model,
                                scala.Option.empty());
                    }
                    return model;
                } catch (IOException e) {
                    throw new UncheckedIOException(path + ": " + e.getMessage(), e);
                }
            }
        };
    }

    public static RollClassificationModel load(String path) {
        return read().load(path);
    }
}
